"""Fuzz a service process on the real broker: valid traffic mixed with bad messages.

A ``FuzzCase`` names a service, the input topic to fuzz, the valid events to send on it (in
order, out-of-order ones included) and what to send and have processed before them (on their
own topics). ``run_fuzz`` runs the service as its own process, publishes the valid traffic
with the bad messages of ``poison.bad_messages`` (``copies`` of each class) and redeliveries
(a valid event sent again) mixed in, waits until the service has handled every message, and
gathers what it did: its dead letters, its outputs, its metrics, whether it stayed healthy.
The service's handler run in process on the same valid events (``oracle``) gives the outputs
(and the refusals) expected of the process: each valid event handled once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from jules_contracts import (
    DeadLetterReason,
    Event,
    Watermark,
    decode_event,
    encode_event,
    topic_for,
)
from jules_contracts.dead_letter import DLQ_HEADER_OFFSET, DLQ_HEADER_REASON
from jules_contracts.examples import example_events
from jules_contracts.topics import Topic
from jules_runtime.bus import EventRejectedError, Handler
from jules_runtime.settings import KafkaSettings
from prometheus_client.parser import text_string_to_metric_families

from .bus_helpers import create_scoped_topics, new_scope
from .kafka_helpers import KafkaEndpoint
from .poison import JUNK_HEADERS, BadMessage, bad_messages
from .service_process import ServiceProcess, http_status, http_text, start_service

__all__ = [
    "FuzzCase",
    "FuzzReport",
    "check_report",
    "metric_total",
    "read_to_end",
    "run_bad_only",
    "run_fuzz",
]


@dataclass(frozen=True)
class FuzzCase:
    """What to run, what to send, what to expect.

    Attributes:
        service: The service (``jules-<service> run``).
        settings: Its settings, as for ``start_service``.
        topic: The input topic fuzzed.
        traffic: The valid events sent on ``topic``, in order.
        prelude: Events handled before the traffic, each on its own topic (an event listed
            twice is a redelivery).
        outputs: The topics whose events are compared with the oracle's outputs.
        oracle: Builds the service's handler, run in process on ``prelude`` then ``traffic``
            (each event once); ``None`` when the outputs are checked otherwise.
        copies: Bad messages sent per class.
        redeliver_every: One redelivery after every this many valid events.
        headers: Header sets attached in turn to every ninth message, valid or bad.
        handled_within_s: How long the service may take to handle every message.
    """

    service: str
    settings: Mapping[str, str]
    topic: Topic
    traffic: Sequence[Event]
    prelude: Sequence[Event] = ()
    outputs: tuple[Topic, ...] = ()
    oracle: Callable[[], Handler] | None = None
    copies: int = 3
    redeliver_every: int = 20
    headers: tuple[tuple[tuple[str, bytes], ...], ...] = JUNK_HEADERS
    handled_within_s: float = 60.0


@dataclass
class FuzzReport:
    """What the service did with the fuzzed traffic."""

    case: FuzzCase
    scope: str
    bad: dict[int, BadMessage] = field(default_factory=dict)
    """The bad messages sent, by offset."""
    valid: dict[int, Event] = field(default_factory=dict)
    """The valid events sent (redeliveries included), by offset."""
    redelivered: list[int] = field(default_factory=list)
    """Offsets of the redeliveries."""
    rejected: dict[str, DeadLetterReason] = field(default_factory=dict)
    """Valid events the oracle refused, by id, with the reason."""
    expected: list[Event] = field(default_factory=list)
    outputs: list[Event] = field(default_factory=list)
    dead: dict[int, list[str]] = field(default_factory=dict)
    """Reasons of the dead letters, by origin offset."""
    dead_bodies: dict[int, bytes] = field(default_factory=dict)
    """The body of each dead letter, by origin offset."""
    metrics: str = ""
    health: int = 0
    alive: bool = False
    exit_status: int | None = None
    log: str = ""

    def summary(self) -> str:
        """One line of numbers for the test output."""
        reasons = Counter(reason for found in self.dead.values() for reason in found)
        ids = [event.event_id for event in self.outputs]
        return (
            f"{self.case.service}: bad {len(self.bad)} -> dead {dict(sorted(reasons.items()))}; "
            f"valid {len(self.valid)} ({len(self.redelivered)} redeliveries, "
            f"{len(self.rejected)} refused), outputs {len(self.outputs)} of "
            f"{len(self.expected)} expected, duplicates {len(ids) - len(set(ids))}"
        )


def _handled(metrics: str, service: str, topic: str) -> float:
    """Messages of ``topic`` the service has finished: processed, dead-lettered or skipped."""
    prefix = f"jules_{service.replace('-', '_')}_"
    names = {
        prefix + "processing_seconds_count",
        prefix + "dead_letters_total",
        prefix + "redeliveries_skipped_total",
    }
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name in names and sample.labels.get("topic") == topic
    )


def metric_total(metrics: str, name: str) -> float:
    """The sum of the samples of ``name`` (every label set) in a ``/metrics`` text."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == name
    )


def dead_letter_counts(metrics: str, service: str, topic: str) -> Counter[str]:
    """``jules_<service>_dead_letters_total`` of ``topic``, by reason."""
    name = f"jules_{service.replace('-', '_')}_dead_letters_total"
    return Counter(
        {
            sample.labels["reason"]: int(sample.value)
            for family in text_string_to_metric_families(metrics)
            for sample in family.samples
            if sample.name == name and sample.labels.get("topic") == topic
        }
    )


async def _wait_handled(
    service: ServiceProcess, topics: Mapping[str, int], timeout_s: float = 60.0
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        metrics = http_text(service.base_url + "/metrics")
        seen = {topic: _handled(metrics, service.name, topic) for topic in topics}
        if all(seen[topic] >= count for topic, count in topics.items()):
            return
        if service.process.poll() is not None or asyncio.get_running_loop().time() > deadline:
            log = service.log.read_text()[-3000:]
            raise AssertionError(f"handled {seen}, sent {dict(topics)}: {log}")
        await asyncio.sleep(0.2)


async def read_to_end(
    bootstrap: str, topics: Sequence[str]
) -> list[tuple[dict[str, bytes], bytes]]:
    """Every message of ``topics`` (one partition each), as its headers and its body."""
    if not topics:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, 0) for topic in topics]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[tuple[dict[str, bytes], bytes]] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(*partitions, timeout_ms=500)
            for records in batch.values():
                found.extend((dict(record.headers), record.value or b"") for record in records)
        return found
    finally:
        await consumer.stop()


async def _oracle(case: FuzzCase, report: FuzzReport) -> None:
    if case.oracle is None:
        return
    handler = case.oracle()
    seen: set[str] = set()
    for event in [*case.prelude, *case.traffic]:
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        try:
            report.expected.extend(await handler(event))
        except EventRejectedError as refusal:
            report.rejected[event.event_id] = refusal.reason
            report.expected.extend(refusal.outputs)


def _plan(case: FuzzCase, report: FuzzReport) -> list[tuple[BadMessage | Event, bool]]:
    """The messages to send on the fuzzed topic, in order; ``True`` marks a redelivery."""
    traffic = list(case.traffic)
    accepted = [event for event in traffic if event.event_id not in report.rejected]
    bad = [
        message
        for copy in range(case.copies)
        for message in bad_messages(
            case.topic, accepted[(len(accepted) // 2 + copy * 37) % len(accepted)], copy
        )
    ]
    slots: dict[int, list[BadMessage]] = {}
    for index, message in enumerate(bad):
        slots.setdefault(((2 * index + 1) * len(traffic)) // (2 * len(bad)), []).append(message)
    plan: list[tuple[BadMessage | Event, bool]] = []
    for index, event in enumerate(traffic):
        plan.append((event, False))
        plan.extend((message, False) for message in slots.get(index, ()))
        if index % case.redeliver_every == case.redeliver_every - 1:
            done = [e for e in traffic[: index - 5] if e.event_id not in report.rejected]
            if done:
                plan.append((done[(index * 7) % len(done)], True))
    return plan


async def run_fuzz(kafka: KafkaEndpoint, tmp_path: Path, case: FuzzCase) -> FuzzReport:
    """Run ``case`` (see the module docstring) and return what happened."""
    scope = new_scope()
    await create_scoped_topics(KafkaSettings(bootstrap_servers=kafka.bootstrap), scope)
    report = FuzzReport(case, scope)
    await _oracle(case, report)
    plan = _plan(case, report)
    topic = case.topic.scoped(scope)
    service = start_service(case.service, kafka.bootstrap, scope, tmp_path, **case.settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap, acks="all", max_request_size=4 * 1024 * 1024
    )
    try:
        service.wait_ready()
        await producer.start()
        prelude: Counter[str] = Counter()
        for event in case.prelude:  # each run of one topic handled before the next run
            home = topic_for(event)
            if prelude and home.scoped(scope) not in prelude:
                await _wait_handled(service, prelude)
            prelude[home.scoped(scope)] += 1
            await producer.send_and_wait(
                home.scoped(scope), encode_event(event), key=home.key_for(event).encode()
            )
        await _wait_handled(service, prelude)
        for index, (item, again) in enumerate(plan):
            headers = list(case.headers[index % len(case.headers)]) if index % 9 == 4 else []
            if isinstance(item, BadMessage):
                meta = await producer.send_and_wait(
                    topic, item.value, key=item.key, headers=headers
                )
                report.bad[meta.offset] = item
            else:
                key = case.topic.key_for(item).encode()
                meta = await producer.send_and_wait(
                    topic, encode_event(item), key=key, headers=headers
                )
                report.valid[meta.offset] = item
                if again:
                    report.redelivered.append(meta.offset)
        await _wait_handled(service, {topic: len(plan)}, case.handled_within_s)
        dlq = [case.topic.scoped_dlq(scope)]
        for letter, body in await read_to_end(kafka.bootstrap, dlq):
            origin = int(letter[DLQ_HEADER_OFFSET])
            report.dead.setdefault(origin, []).append(letter[DLQ_HEADER_REASON].decode())
            report.dead_bodies[origin] = body
        outputs = [output.scoped(scope) for output in case.outputs]
        report.outputs = [
            decode_event(body) for _, body in await read_to_end(kafka.bootstrap, outputs)
        ]
        report.metrics = http_text(service.base_url + "/metrics")
        report.health = http_status(service.base_url + "/health")
        report.alive = service.process.poll() is None
    finally:
        await producer.stop()
        report.exit_status = service.terminate()
        report.log = service.log.read_text()[-3000:]
    return report


@dataclass
class TopicReport:
    """What a service did with the bad messages of one of its input topics."""

    topic: str
    sent: Counter[str] = field(default_factory=Counter)
    """Reasons the bad messages sent must be dead-lettered with, counted."""
    dead: Counter[str] = field(default_factory=Counter)
    """Reasons of the dead letters found on the topic's DLQ, counted."""
    counted: Counter[str] = field(default_factory=Counter)
    """``dead_letters_total`` of the topic, by reason."""
    unchanged_bodies: bool = True
    """Whether every dead letter carries the body that was sent."""


async def run_bad_only(
    kafka: KafkaEndpoint,
    tmp_path: Path,
    service: str,
    settings: Mapping[str, str],
    topics: Sequence[Topic],
) -> tuple[list[TopicReport], int, bool, int | None]:
    """Send one bad message of each class on every topic of ``topics`` to one ``service``.

    Each topic's messages are made from the example event of its first event type other
    than a watermark (``jules_contracts.examples``).

    Returns:
        A report per topic, ``/health``'s status and whether the service was alive at the
        end, and its exit status once stopped.
    """
    scope = new_scope()
    await create_scoped_topics(KafkaSettings(bootstrap_servers=kafka.bootstrap), scope)
    process = start_service(service, kafka.bootstrap, scope, tmp_path, **settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap, acks="all", max_request_size=4 * 1024 * 1024
    )
    reports: list[TopicReport] = []
    try:
        process.wait_ready()
        await producer.start()
        sent: dict[str, list[BadMessage]] = {}
        for topic in topics:
            carried = [e for e in example_events() if type(e) in topic.event_types]
            base = min(carried, key=lambda e: isinstance(e, Watermark))  # watermarks last
            sent[topic.scoped(scope)] = bad_messages(topic, base)
            for message in sent[topic.scoped(scope)]:
                await producer.send(topic.scoped(scope), message.value, key=message.key)
        await producer.flush()
        await _wait_handled(process, {name: len(messages) for name, messages in sent.items()})
        metrics = http_text(process.base_url + "/metrics")
        for topic in topics:
            name = topic.scoped(scope)
            report = TopicReport(name, Counter(m.reason.value for m in sent[name]))
            report.counted = dead_letter_counts(metrics, service, name)
            bodies = {m.value or b"" for m in sent[name]}
            for letter, body in await read_to_end(kafka.bootstrap, [topic.scoped_dlq(scope)]):
                report.dead[letter[DLQ_HEADER_REASON].decode()] += 1
                report.unchanged_bodies &= body in bodies
            reports.append(report)
        health = http_status(process.base_url + "/health")
        alive = process.process.poll() is None
    finally:
        await producer.stop()
        status = process.terminate()
    return reports, health, alive, status


def check_report(report: FuzzReport, *, skips_redeliveries: bool) -> None:
    """Assert the service dead-lettered every bad message with its reason, and only those,
    produced the oracle's outputs exactly once and stayed healthy.

    Args:
        report: What ``run_fuzz`` saw.
        skips_redeliveries: The shared processor skips redeliveries (``dedup_window``);
            otherwise it skips only those that come while the first delivery is in flight,
            the service handles the others and must publish nothing new.
    """
    case = report.case
    assert report.alive, report.log
    assert report.health == 204, report.log
    wanted = {offset: [message.reason.value] for offset, message in report.bad.items()}
    for offset, event in report.valid.items():
        if event.event_id in report.rejected and offset not in report.redelivered:
            wanted[offset] = [report.rejected[event.event_id].value]
    wrong = {
        offset: (report.bad[offset].kind if offset in report.bad else "valid", found)
        for offset, found in report.dead.items()
        if wanted.get(offset) != found
    }
    missing = {
        offset: report.bad[offset].kind if offset in report.bad else "refused"
        for offset in wanted.keys() - report.dead.keys()
    }
    assert not wrong, wrong
    assert not missing, missing
    unchanged = {
        offset: message.kind
        for offset, message in report.bad.items()
        if report.dead_bodies.get(offset) != (message.value or b"")
    }
    assert not unchanged, f"dead letters whose body is not the original: {unchanged}"
    expected_reasons = Counter(reason for found in wanted.values() for reason in found)
    metrics = dead_letter_counts(report.metrics, case.service, case.topic.scoped(report.scope))
    assert metrics == expected_reasons
    skipped = f"jules_{case.service.replace('-', '_')}_redeliveries_skipped_total"
    skipped_count = metric_total(report.metrics, skipped)
    if skips_redeliveries:
        assert skipped_count == len(report.redelivered)
    else:  # the handler sees a redelivery, unless it came while the first was in flight
        assert skipped_count <= len(report.redelivered)
    if case.oracle is not None:
        ids = [event.event_id for event in report.outputs]
        twice = [event for event in report.outputs if ids.count(event.event_id) > 1]
        assert not twice, f"outputs published twice: {twice}"
        for topic in case.outputs:
            got = [event for event in report.outputs if _on(event, topic)]
            assert got == [event for event in report.expected if _on(event, topic)], topic.name
        assert len(report.outputs) == len(report.expected)
    assert report.exit_status == 0, report.log


def _on(event: Event, topic: Topic) -> bool:
    return type(event) in topic.event_types and topic_for(event) is topic
