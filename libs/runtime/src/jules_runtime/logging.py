"""Logging: loguru, one JSON object per line, with the service name and correlation ids.

``configure_logging`` sets loguru up once per process and routes the standard library's
logging (aiokafka, FastStream) into it. Inside ``log_context(correlation_id=…, event_id=…)``
every record carries those ids, so one order can be followed across services. The ids live in
a context variable that a loguru patcher adds to each record: entering a context costs a
variable set, not loguru's lock (``logger.contextualize``), since every message enters one.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC
from typing import TYPE_CHECKING, Any, TextIO

from loguru import logger

if TYPE_CHECKING:
    from loguru import Message, Record

__all__ = ["configure_logging", "format_json", "log_context", "logger"]

_RESERVED = ("service",)

_IDS: ContextVar[dict[str, str]] = ContextVar("jules_log_ids", default={})  # noqa: B039 (read-only)
"""The ids of the current ``log_context`` (never mutated: each context sets a new dict)."""


def _with_ids(record: Record) -> None:
    ids = _IDS.get()
    if ids:
        record["extra"].update(ids)


def format_json(record: Record) -> str:
    """Render a loguru record as one JSON line (the fields log pipelines expect)."""
    payload: dict[str, Any] = {
        "ts": record["time"].astimezone(UTC).isoformat(timespec="microseconds"),
        "level": record["level"].name,
        "message": record["message"],
        "logger": record["name"],
        "function": record["function"],
        "line": record["line"],
    }
    payload.update({key: _plain(value) for key, value in record["extra"].items()})
    if record["exception"] is not None:
        exc_type, exc_value, _ = record["exception"]
        payload["exception"] = {
            "type": getattr(exc_type, "__name__", str(exc_type)),
            "message": str(exc_value),
        }
    return json.dumps(payload, default=str, separators=(",", ":"))


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class _JsonSink:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __call__(self, message: Message) -> None:
        self._stream.write(format_json(message.record) + "\n")
        self._stream.flush()


class _InterceptHandler(logging.Handler):
    """Send records of the standard library's logging to loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).bind(logger_name=record.name).log(
            level, record.getMessage()
        )


def configure_logging(
    service: str, level: str = "INFO", *, json_logs: bool = True, stream: TextIO | None = None
) -> None:
    """Configure loguru for a service process (replaces any earlier configuration).

    Args:
        service: Name stamped on every record.
        level: Minimum level.
        json_logs: One JSON object per line; ``False`` for readable lines.
        stream: Where to write (default ``sys.stderr``).
    """
    out = stream or sys.stderr
    logger.remove()
    logger.configure(extra={"service": service}, patcher=_with_ids)
    if json_logs:
        logger.add(_JsonSink(out), level=level, backtrace=False, diagnose=False)
    else:
        logger.add(
            out,
            level=level,
            format="<green>{time:HH:mm:ss.SSS}</green> {level: <7} "
            "<cyan>{extra[service]}</cyan> {message}",
            backtrace=False,
            diagnose=False,
        )
    logging.basicConfig(handlers=[_InterceptHandler()], level=logging.INFO, force=True)
    for noisy in ("aiokafka", "kafka"):  # their INFO lines narrate every rebalance step
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Attach ids (``correlation_id``, ``event_id`` …) to every record logged inside."""
    clean = {key: value for key, value in ids.items() if value is not None and key not in _RESERVED}
    token = _IDS.set({**_IDS.get(), **clean})
    try:
        yield
    finally:
        _IDS.reset(token)
