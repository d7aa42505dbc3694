"""Logging: one JSON object per line with the service and correlation ids."""

from __future__ import annotations

import io
import json
import logging

from jules_runtime.logging import configure_logging, log_context, logger


def test_records_are_json_lines_with_service_and_correlation_ids():
    stream = io.StringIO()
    configure_logging("risk", "INFO", stream=stream)
    with log_context(correlation_id="c-1", event_id="e-1"):
        logger.info("order denied", reason="PRICE_COLLAR")
    logger.info("outside")

    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["service"] == "risk"
    assert first["message"] == "order denied"
    assert first["level"] == "INFO"
    assert (first["correlation_id"], first["event_id"], first["reason"]) == (
        "c-1",
        "e-1",
        "PRICE_COLLAR",
    )
    assert first["ts"].endswith("+00:00")
    assert "correlation_id" not in second


def test_standard_library_logging_is_routed_into_the_json_stream():
    stream = io.StringIO()
    configure_logging("audit", "INFO", stream=stream)
    logging.getLogger("somelib").warning("disk %s", "slow")
    [line] = stream.getvalue().splitlines()
    record = json.loads(line)
    assert (record["message"], record["level"], record["service"]) == (
        "disk slow",
        "WARNING",
        "audit",
    )


def test_exceptions_are_logged_with_type_and_message():
    stream = io.StringIO()
    configure_logging("router", "INFO", stream=stream)
    try:
        raise TimeoutError("venue did not answer")
    except TimeoutError:
        logger.exception("submit failed")
    record = json.loads(stream.getvalue().splitlines()[0])
    assert record["exception"] == {"type": "TimeoutError", "message": "venue did not answer"}


def test_levels_below_the_threshold_are_dropped():
    stream = io.StringIO()
    configure_logging("risk", "WARNING", stream=stream)
    logger.info("quiet")
    logger.warning("loud")
    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == ["loud"]
