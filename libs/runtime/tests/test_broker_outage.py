"""Broker outages: the link's state, the clients' log noise, patient sends, health and metrics."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError, NodeNotReadyError
from jules_runtime.broker_link import BrokerLink, OutageLogFilter
from jules_runtime.bus.reconnect import (
    all_acknowledged,
    extend_batch_lifetime,
    pace_metadata_updates,
    send_patiently,
    watch_broker,
)
from jules_runtime.logging import configure_logging
from jules_runtime.service import BrokerLinkMetrics, health_response
from prometheus_client import CollectorRegistry, generate_latest

REFUSED = "Unable connect to node with id 1: [Errno 111] Connect call failed ('127.0.0.1', 9)"


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_an_outage_is_logged_once_when_it_begins_and_once_when_it_ends() -> None:
    stream = io.StringIO()
    configure_logging("risk", "INFO", stream=stream)
    link = BrokerLink(grace_s=0)

    assert link.lost("refused") is True
    assert [link.lost("refused") for _ in range(500)] == [False] * 500
    assert link.restored() is True
    assert link.restored() is False

    first, second = _lines(stream)
    assert (first["message"], first["detail"]) == ("Kafka broker unreachable", "refused")
    assert second["message"] == "Kafka broker reachable again"
    assert second["suppressed_log_records"] == 500
    assert link.snapshot().outages == 1
    assert link.snapshot().reachable


def test_connection_failures_just_after_a_recovery_do_not_begin_a_new_outage() -> None:
    link = BrokerLink(grace_s=60)
    link.lost("refused")
    link.restored()

    assert link.lost("a stale connection of a client") is False
    assert link.reachable


def test_the_client_noise_of_an_outage_is_dropped_and_counted() -> None:
    stream = io.StringIO()
    configure_logging("order-router", "INFO", stream=stream)
    link = BrokerLink(grace_s=0)
    client = logging.getLogger("aiokafka.test-outage")
    client.addFilter(OutageLogFilter(link))

    client.warning("Heartbeat failed: a rebalance")  # not a connection failure: kept
    for _ in range(1000):
        client.error(REFUSED)
        client.error("Unable to update metadata from [1]")
    link.restored()
    client.error(REFUSED)  # a second outage

    messages = [line["message"] for line in _lines(stream)]
    assert messages == [
        "Heartbeat failed: a rebalance",
        "Kafka broker unreachable",
        "Kafka broker reachable again",
        "Kafka broker unreachable",
    ]
    assert link.snapshot().suppressed == 1999
    assert link.snapshot().outages == 2
    back = _lines(stream)[2]
    # what was dropped, by kind, and the last of it: enough to tell noise from a real fault
    assert back["dropped_by_kind"] == "Unable=1999"
    assert back["last_dropped"] == "Unable to update metadata from [1]"


async def test_a_send_without_a_broker_is_attempted_again_until_it_is_accepted() -> None:
    attempts: list[int] = []

    async def send() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise KafkaTimeoutError()
        return "queued"

    assert await send_patiently(send, deadline_s=60) == "queued"
    assert len(attempts) == 3


async def test_a_send_that_fails_for_another_reason_or_for_too_long_is_raised() -> None:
    async def too_large() -> None:
        raise MessageSizeTooLargeError()

    async def no_broker() -> None:
        raise NodeNotReadyError()

    with pytest.raises(MessageSizeTooLargeError):
        await send_patiently(too_large, deadline_s=60)
    with pytest.raises(NodeNotReadyError):
        await send_patiently(no_broker, deadline_s=0.2)


async def test_every_acknowledgement_settles_before_the_first_error_is_raised() -> None:
    loop = asyncio.get_running_loop()
    ok, failed, later = loop.create_future(), loop.create_future(), loop.create_future()
    ok.set_result(1)
    failed.set_exception(NodeNotReadyError())
    loop.call_later(0.05, later.set_exception, KafkaTimeoutError())

    with pytest.raises(NodeNotReadyError):
        await all_acknowledged([ok, failed, later])
    assert later.done()
    assert await all_acknowledged([ok]) == [1]


async def test_metadata_requests_after_a_failure_wait_for_the_backoff() -> None:
    class Client:
        calls = 0

        def force_metadata_update(self) -> asyncio.Future[bool]:
            self.calls += 1
            update: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            update.set_result(False)  # the broker refused the connection
            return update

    client = Client()
    pace_metadata_updates(client, backoff_s=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < 0.5:  # the producer's sender loop
        await client.force_metadata_update()

    assert 2 <= client.calls <= 4


async def test_the_probe_tells_the_link_when_the_broker_is_lost_and_back() -> None:
    link = BrokerLink(grace_s=0)
    # Two misses are no outage; three in a row are one; the next answer ends it.
    answers = iter([True, False, False, True, False, False, False, True])
    seen = []  # the link's state before each probe

    async def ping(wait: float) -> bool:
        seen.append(link.reachable)
        answer = next(answers, None)
        if answer is None:
            raise asyncio.CancelledError  # every answer given: the probe ends
        return answer

    with pytest.raises(asyncio.CancelledError):
        await watch_broker(ping, link, interval_s=0.001, misses=3)

    assert seen == [True] * 7 + [False, True]
    assert link.snapshot().outages == 1


async def test_an_aiokafka_producer_keeps_its_batches_for_the_delivery_timeout() -> None:
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:9", request_timeout_ms=30_000)

    extend_batch_lifetime(producer, 120.0)

    assert producer._message_accumulator._batch_ttl == 120.0
    with pytest.raises(TypeError):
        extend_batch_lifetime(object(), 120.0)


def test_health_says_degraded_while_the_broker_is_unreachable() -> None:
    link = BrokerLink(grace_s=0)
    assert health_response(link).status_code == 204

    link.lost("refused")
    degraded = health_response(link)

    assert degraded.status_code == 200
    body = json.loads(degraded.body)
    assert (body["status"], body["kafka"]) == ("degraded", "unreachable")
    assert body["down_for_s"] >= 0


def test_the_link_is_exported_as_metrics() -> None:
    link = BrokerLink(grace_s=0)
    registry = CollectorRegistry()
    registry.register(BrokerLinkMetrics("order-router", link))
    link.lost("refused")
    link.lost("refused")

    text = generate_latest(registry).decode()

    assert "jules_order_router_kafka_reachable 0.0" in text
    assert "jules_order_router_kafka_outages_total 1.0" in text
    assert "jules_order_router_kafka_log_records_suppressed_total 1.0" in text
