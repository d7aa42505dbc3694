"""What every bus offers: subscribe a handler to topics, publish events, start and stop."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Self

from jules_contracts import Event, Topic

from jules_runtime.bus.processor import (
    BatchDoneHook,
    Handler,
    MessageProcessor,
    OutputsPublishedHook,
    ProcessingObserver,
    Sender,
)
from jules_runtime.bus.records import OutboundMessage, outbound_event

__all__ = ["Bus"]


class Bus(ABC, Sender):
    """A message bus for one service: Kafka in production, in-memory for tests and embedding.

    Args:
        service: The service name (consumer group ``jules-<service>``, dead-letter headers).
        scope: Run scope prefixed to every topic (``bt-<run>``); ``None`` for live topics.
        handler_attempts: How often a failing handler is tried before the message is
            dead-lettered.
        observer: Told of every message received, processed and dead-lettered (metrics).
    """

    def __init__(
        self,
        service: str,
        scope: str | None = None,
        *,
        handler_attempts: int = 3,
        observer: ProcessingObserver | None = None,
    ):
        self.service = service
        self.scope = scope
        self.handler_attempts = handler_attempts
        self.observer = observer
        self.processors: list[MessageProcessor] = []

    def subscribe(
        self,
        topics: Sequence[Topic],
        handler: Handler,
        *,
        group: str | None = None,
        on_outputs_published: OutputsPublishedHook | None = None,
        on_outputs_abandoned: Callable[[], None] | None = None,
        dedup_window: int | None = None,
        on_batch_done: BatchDoneHook | None = None,
    ) -> MessageProcessor:
        """Consume ``topics`` with ``handler`` (call before ``start``).

        Args:
            topics: The topics to consume (scoped by the bus's scope).
            handler: Called once per valid event; its outputs are published before the
                offset is committed.
            group: Consumer group; default ``jules-<service>`` (scoped in a backtest).
            on_outputs_published: Hook run after the outputs are acknowledged, before commit.
            on_outputs_abandoned: Hook run when outputs handed to the transport were not
                acknowledged and their messages will be read again.
            dedup_window: Remember the ids of this many recent events, so that one delivered
                again is not handled again (``None``: no deduplication here; the handler
                deduplicates if it must).
            on_batch_done: Hook awaited once a batch's messages are finished, before its
                offsets are committed (a changelog written there is never behind them).

        Returns:
            The processor, whose ``stats`` count what happened.
        """
        processor = MessageProcessor(
            service=self.service,
            scope=self.scope,
            topics=topics,
            handler=handler,
            sender=self,
            handler_attempts=self.handler_attempts,
            on_outputs_published=on_outputs_published,
            on_outputs_abandoned=on_outputs_abandoned,
            observer=self.observer,
            dedup_window=dedup_window,
            on_batch_done=on_batch_done,
        )
        self.processors.append(processor)
        self._attach(processor, group or self.default_group)
        return processor

    @property
    def default_group(self) -> str:
        """``jules-<service>``, prefixed by the scope in a backtest."""
        group = f"jules-{self.service}"
        return group if self.scope is None else f"{self.scope}.{group}"

    async def publish(self, *events: Event) -> None:
        """Publish events on their topics and wait until all are acknowledged."""
        await self.send([outbound_event(event, self.scope) for event in events])

    async def publish_raw(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Publish raw bytes to a topic by its full name (tools, tests, re-driving dead letters)."""
        await self.send([OutboundMessage(topic=topic, key=key, value=value, headers=headers or {})])

    @abstractmethod
    def _attach(self, processor: MessageProcessor, group: str) -> None:
        """Wire a processor into the transport."""

    @abstractmethod
    async def send(self, messages: Sequence[OutboundMessage]) -> None:
        """Publish ``messages`` and wait for every acknowledgement."""

    async def enqueue(self, messages: Sequence[OutboundMessage]) -> Awaitable[object]:
        """Hand ``messages`` to the transport; the result completes once all are acknowledged.

        This default sends them at once and returns a completed result.
        """
        await self.send(messages)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    @abstractmethod
    async def start(self) -> None:
        """Connect and start consuming."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop consuming, finish in-flight messages, commit, close."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
