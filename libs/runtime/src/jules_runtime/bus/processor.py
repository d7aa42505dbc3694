"""The processing pipeline every consumer runs, whatever the transport.

For each message: decode and validate it, and check its key against its topic's (or
dead-letter it with the reason and carry on); skip an ``event_id`` already processed (when
the subscriber asked for it); call the handler (retrying a failing handler a bounded number
of times, then dead-letter the message; a handler raising ``EventRejectedError``
dead-letters it at once with its own reason), publish the handler's outputs and wait until
the broker has acknowledged them.
Only then may the transport commit the message's offset, so a crash at any point makes the
message be read again rather than lost (at-least-once); effects that must not repeat are
guarded by ``event_id`` (see ``jules_runtime.bus.dedup``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from jules_contracts import DecodeError, Event, JulesError, Topic, decode_event
from jules_contracts.enums import DeadLetterReason
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from jules_runtime.bus.records import (
    InboundRecord,
    OutboundMessage,
    dead_letter_message,
    outbound_event,
)
from jules_runtime.bus.redelivery import Redelivery
from jules_runtime.logging import log_context, logger

__all__ = [
    "BatchDoneHook",
    "EventRejectedError",
    "Finish",
    "Handler",
    "MessageProcessor",
    "OutputsPublishedHook",
    "ProcessingObserver",
    "ProcessingStats",
    "Sender",
]

Handler = Callable[[Event], Awaitable[Sequence[Event]]]
"""A service's handler: takes one event, returns the events it causes (possibly none)."""

OutputsPublishedHook = Callable[[InboundRecord, Event, Sequence[Event]], None]
"""Called once a message's outputs are acknowledged and before its offset is committed."""

BatchDoneHook = Callable[[Sequence[InboundRecord]], Awaitable[None]]
"""Awaited once every message of a batch is finished, before the batch's offsets are committed
(a stateful service writes its changelog there); raising makes the batch be read again."""


class Sender(Protocol):
    """Publishes messages and returns once the broker has acknowledged all of them."""

    async def send(self, messages: Sequence[OutboundMessage]) -> None:
        """Publish ``messages`` and wait for every acknowledgement."""
        ...

    async def enqueue(self, messages: Sequence[OutboundMessage]) -> Awaitable[object]:
        """Hand ``messages`` to the producer, in order; the result completes on their acks."""
        ...


Finish = Callable[[], Awaitable[None]]
"""Completes a message begun with ``MessageProcessor.begin``: waits for its outputs' acks."""


async def _nothing() -> None:
    return None


class EventRejectedError(JulesError):
    """Raised by a handler for a valid event it refuses: the message is dead-lettered at once.

    No retry: the refusal is deterministic. The handler's state must be unchanged by the
    event (it is as if the event never came).

    Attributes:
        reason: The dead-letter reason code.
        detail: What was wrong, for the ``x-dlq-error`` header.
        outputs: Events to publish with the dead letter (an alert).
    """

    def __init__(
        self, reason: DeadLetterReason, detail: str, outputs: Sequence[Event] = ()
    ) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.outputs = tuple(outputs)


class _HandlerFailedError(Exception):
    """The handler failed on every attempt; ``cause`` is the last attempt's exception."""

    def __init__(self, cause: BaseException | None) -> None:
        super().__init__(str(cause))
        self.cause = cause


class ProcessingObserver(Protocol):
    """Told what the pipeline does, for metrics (``jules_runtime.service.ServiceMetrics``)."""

    def message_received(self, topic: str) -> None:
        """A message arrived from ``topic``."""
        ...

    def message_processed(
        self, topic: str, seconds: float, event: Event, outputs: Sequence[Event]
    ) -> None:
        """``event`` was handled and its outputs acknowledged, in ``seconds`` of processing."""
        ...

    def outputs_since_origin(self, seconds: float, outputs: Sequence[Event]) -> None:
        """``outputs`` were published ``seconds`` after the market event that started them."""
        ...

    def message_dead_lettered(self, topic: str, reason: DeadLetterReason) -> None:
        """A message went to the dead-letter topic."""
        ...

    def message_duplicate(self, topic: str) -> None:
        """A message carried an ``event_id`` already processed and was skipped."""
        ...


@dataclass
class ProcessingStats:
    """Counters of a processor (also exported as metrics by the services)."""

    received: int = 0
    processed: int = 0
    published: int = 0
    dead_lettered: int = 0
    duplicates: int = 0
    handler_retries: int = 0
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)


class MessageProcessor:
    """Decode → handle → publish → (the transport commits). Shared by every transport.

    An event delivered again while its first delivery is in flight (its outputs handed to
    the producer, not yet acknowledged) is skipped, whatever the subscriber asked: a handler
    that keeps its outputs until they are acknowledged (``Redelivery``) would otherwise give
    them again, and they would be published twice. With ``dedup_window`` the processor also
    remembers the ids of that many recent events: one delivered again after its outputs were
    acknowledged is skipped (the handler never sees it twice, its outputs are not published
    again), and one read again because its outputs were not acknowledged (``abandon``) gets
    the outputs of its first handling, without calling the handler again.
    """

    def __init__(
        self,
        *,
        service: str,
        scope: str | None,
        topics: Sequence[Topic],
        handler: Handler,
        sender: Sender,
        handler_attempts: int = 3,
        retry_wait_s: float = 0.05,
        on_outputs_published: OutputsPublishedHook | None = None,
        on_outputs_abandoned: Callable[[], None] | None = None,
        observer: ProcessingObserver | None = None,
        dedup_window: int | None = None,
        on_batch_done: BatchDoneHook | None = None,
    ) -> None:
        if handler_attempts < 1:
            raise ValueError(f"handler_attempts must be at least 1, not {handler_attempts}")
        self.service = service
        self.scope = scope
        self._topics = {topic.scoped(scope): topic for topic in topics}
        self._handler = handler
        self._sender = sender
        self._attempts = handler_attempts
        self._retry_wait_s = retry_wait_s
        self._on_outputs_published = on_outputs_published
        self._on_outputs_abandoned = on_outputs_abandoned
        self._observer = observer
        self._redelivery = None if dedup_window is None else Redelivery(dedup_window)
        self._in_flight: set[str] = set()
        self._on_batch_done = on_batch_done
        self._applied: dict[tuple[str, int], int] = {}
        self.stats = ProcessingStats()

    @property
    def topic_names(self) -> list[str]:
        """The (scoped) names of the topics this processor consumes."""
        return list(self._topics)

    async def process(self, record: InboundRecord) -> None:
        """Process one message. Returns when the offset may be committed.

        Raises:
            Exception: Publishing the outputs (or the dead letter) failed; the offset must
                not be committed and the message must be read again.
        """
        try:
            finish = await self.begin(record)
            await finish()
            await self.batch_done((record,))
        except Exception:
            self.abandon()
            raise

    def skip_applied(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Skip the records before ``offsets`` (topic, partition → offset), unhandled.

        For a service whose restored state already holds their effects (its changelog is
        written before its offsets are committed, so it may be ahead of them): such a record,
        delivered again, is counted as a duplicate and its offset committed.
        """
        for key, offset in offsets.items():
            self._applied[key] = max(offset, self._applied.get(key, 0))

    async def batch_done(self, records: Sequence[InboundRecord]) -> None:
        """Await the ``on_batch_done`` hook: ``records`` are finished, not yet committed."""
        if self._on_batch_done is not None:
            await self._on_batch_done(records)

    def abandon(self) -> None:
        """Run the ``on_outputs_abandoned`` hook: outputs were not acknowledged.

        The messages begun will be read again (the transport seeks back), so the handler may
        hand the outputs it keeps pending to the redelivery.
        """
        self._in_flight.clear()  # read again, they get the outputs of their first handling
        if self._on_outputs_abandoned is not None:
            self._on_outputs_abandoned()

    async def begin(self, record: InboundRecord) -> Finish:
        """Handle one message and hand its outputs to the producer, without waiting for acks.

        The returned ``finish`` waits for the outputs' acknowledgements, then counts them and
        runs the ``on_outputs_published`` hook; the offset may be committed once it returns.
        Messages begun in order keep their outputs in order (one producer, per-partition
        order), so a transport may begin several before finishing them (pipelining).

        Raises:
            Exception: Publishing a dead letter failed (the message must be read again).
        """
        self.stats.received += 1
        started = time.perf_counter()
        if self._observer is not None:
            self._observer.message_received(record.topic)
        topic = self._topics.get(record.topic)
        if topic is None:
            raise ValueError(f"{record.topic!r} is not consumed by this processor")
        if self._applied and record.offset < self._applied.get((record.topic, record.partition), 0):
            self.stats.duplicates += 1
            return _nothing
        try:
            event = decode_event(record.value, allowed=topic.event_types)
        except DecodeError as exc:
            await self._dead_letter(record, exc.reason, exc.detail)
            return _nothing
        except Exception as exc:  # a decoder failure of any kind (RecursionError ...)
            detail = f"{type(exc).__name__}: {exc}"
            await self._dead_letter(record, DeadLetterReason.UNDECODABLE, detail)
            return _nothing
        wrong_key = _wrong_key(topic, record, event)
        if wrong_key is not None:
            await self._dead_letter(record, DeadLetterReason.WRONG_KEY, wrong_key)
            return _nothing
        redelivery = self._redelivery
        if event.event_id in self._in_flight or (
            redelivery is not None and redelivery.is_acknowledged(event.event_id)
        ):
            self.stats.duplicates += 1
            if self._observer is not None:
                self._observer.message_duplicate(record.topic)
            logger.info("duplicate skipped", event_id=event.event_id, topic=record.topic)
            return _nothing
        with log_context(correlation_id=event.chain_id, event_id=event.event_id):
            try:
                outputs = await self._outputs(event)
            except EventRejectedError as exc:
                await self._dead_letter(record, exc.reason, exc.detail, exc.outputs)
                return _nothing
            except _HandlerFailedError as exc:
                cause = exc.cause
                await self._dead_letter(
                    record,
                    DeadLetterReason.HANDLER_ERROR,
                    f"{type(cause).__name__}: {cause} (after {self._attempts} attempts)",
                )
                return _nothing
            origin = record.origin_ns()
            acks = await self._sender.enqueue(
                [outbound_event(output, self.scope, origin_ns=origin) for output in outputs]
            )
            self._in_flight.add(event.event_id)

        async def finish() -> None:
            await acks
            self.stats.published += len(outputs)
            self.stats.processed += 1
            if self._observer is not None:
                self._observer.message_processed(
                    record.topic, time.perf_counter() - started, event, outputs
                )
                if origin is not None and outputs:
                    self._observer.outputs_since_origin((time.time_ns() - origin) / 1e9, outputs)
            if redelivery is not None:
                redelivery.acknowledge(event.event_id)
            self._in_flight.discard(event.event_id)
            if self._on_outputs_published is not None:
                self._on_outputs_published(record, event, outputs)

        return finish

    async def _outputs(self, event: Event) -> Sequence[Event]:
        if self._redelivery is None:
            return await self._handle(event)
        pending = self._redelivery.recall(event.event_id)
        if pending is not None:
            return pending
        outputs = await self._handle(event)
        self._redelivery.keep(event.event_id, outputs)
        return outputs

    async def _handle(self, event: Event) -> Sequence[Event]:
        # The first attempt is a plain call: a retry loop per message costs more than most
        # handlers. Only a failure sets one up, for the attempts that remain.
        try:
            return await self._handler(event)
        except EventRejectedError:
            raise
        except Exception as exc:
            if self._attempts == 1:
                raise _HandlerFailedError(exc) from exc
            self._note_retry(None)
        await asyncio.sleep(self._retry_wait_s)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts - 1),
            wait=wait_exponential(multiplier=2 * self._retry_wait_s, max=2.0),
            retry=retry_if_not_exception_type(EventRejectedError),
            before_sleep=self._note_retry,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._handler(event)
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            raise _HandlerFailedError(cause) from cause
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _note_retry(self, state: object) -> None:
        self.stats.handler_retries += 1
        logger.warning("handler failed, retrying", attempt=getattr(state, "attempt_number", None))

    async def _dead_letter(
        self,
        record: InboundRecord,
        reason: DeadLetterReason,
        detail: str,
        outputs: Sequence[Event] = (),
    ) -> None:
        message = dead_letter_message(record, reason, detail, self.service)
        origin = record.origin_ns()
        await self._sender.send(
            [message, *(outbound_event(output, self.scope, origin_ns=origin) for output in outputs)]
        )
        self.stats.dead_lettered += 1
        self.stats.published += len(outputs)
        self.stats.dead_letter_reasons[reason.value] = (
            self.stats.dead_letter_reasons.get(reason.value, 0) + 1
        )
        if self._observer is not None:
            self._observer.message_dead_lettered(record.topic, reason)
        logger.warning(
            "message dead-lettered",
            reason=reason.value,
            error=detail,
            origin_topic=record.topic,
            origin_partition=record.partition,
            origin_offset=record.offset,
            dlq=message.topic,
        )


def _wrong_key(topic: Topic, record: InboundRecord, event: Event) -> str | None:
    """Why ``record``'s key is not the one its topic gives ``event``; ``None`` if it is."""
    if not topic.checks_key:
        return None
    expected = topic.key_for(event)
    if (record.key or b"") == expected.encode():
        return None
    got = None if record.key is None else record.key.decode("utf-8", "backslashreplace")
    return f"the message key is {got!r}, its {topic.key_field} {expected!r}"
