"""Replay recorded files onto the ``md.*`` topics (an adapter: files and the wall clock).

``replay_stream(sources)`` loads every file with ``jules_market_data.loaders.load``, merges them
in event-time order (``merge_streams``) and validates the merged stream
(``MarketDataValidator``): accepted events and ``Rejection`` records, lazily.

``replay(bus, items, speed=...)`` publishes the events on their topics through any bus and
counts the rejections by reason, so nothing is dropped silently:

* at full speed (``speed=None``) events go out in batches, each acknowledged by the broker
  before the next (the producer keeps per-partition order);
* paced (``speed=60``: one minute of event time per second) the events of one event time go
  out together once the wall clock reaches ``start + (event_time - first_event_time) / speed``.
  Pacing reads the wall clock here, in the adapter; the engines only ever see event time.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from jules_contracts import Event, topic_for
from jules_contracts.base import format_utc_nanos
from jules_runtime.bus import Bus

from jules_market_data.config import ReplaySource
from jules_market_data.engine import (
    MarketDataValidator,
    Rejection,
    ValidatorConfig,
    merge_streams,
    rebuilt_books,
)
from jules_market_data.loaders import load

__all__ = ["Pacer", "ReplayReport", "replay", "replay_stream"]

MAX_EXAMPLES = 10
"""Rejections kept verbatim in a report (all are counted)."""

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class ReplayReport:
    """What a replay did.

    Attributes:
        published: Events published, by (unscoped) topic name.
        rejected: Refused rows and events, by reason code.
        examples: The first refused rows, as ``location: REASON: detail``.
        first_event_time: Event time of the first event published (UTC ns).
        last_event_time: Event time of the last event published (UTC ns).
        wall_seconds: How long publishing took.
    """

    published: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    first_event_time: int | None = None
    last_event_time: int | None = None
    wall_seconds: float = 0.0

    @property
    def total_published(self) -> int:
        """Every event published."""
        return sum(self.published.values())

    @property
    def total_rejected(self) -> int:
        """Every refused row and event."""
        return sum(self.rejected.values())

    def count_published(self, events: Sequence[Event]) -> None:
        """Count events acknowledged by the broker."""
        for event in events:
            self.published[topic_for(event).name] += 1
        if events:
            if self.first_event_time is None:
                self.first_event_time = events[0].event_time
            self.last_event_time = events[-1].event_time

    def count_rejected(self, rejection: Rejection) -> None:
        """Count a refused row (and keep it if it is among the first)."""
        self.rejected[rejection.reason.value] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(str(rejection))

    def lines(self) -> list[str]:
        """The report for people: what was published, the event-time span, what was refused."""
        topics = ", ".join(f"{name} {count}" for name, count in sorted(self.published.items()))
        lines = [
            f"published {self.total_published} event(s) in {self.wall_seconds:.2f} s"
            + (f": {topics}" if topics else "")
        ]
        if self.first_event_time is not None and self.last_event_time is not None:
            lines.append(
                f"event time {format_utc_nanos(self.first_event_time)} .. "
                f"{format_utc_nanos(self.last_event_time)}"
            )
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(self.rejected.items()))
        lines.append(f"rejected {self.total_rejected} row(s)" + (f": {reasons}" if reasons else ""))
        lines.extend(f"  {example}" for example in self.examples)
        if self.total_rejected > len(self.examples):
            lines.append(f"  ... and {self.total_rejected - len(self.examples)} more")
        return lines


class Pacer:
    """Holds events back until their event time is due on the wall clock.

    The first event fixes the origin: an event at ``t`` is due ``(t - t_first) / speed``
    seconds of wall time after the first one was.

    Args:
        speed: Event-time seconds per wall-clock second (``60``: a minute per second).
        clock: Monotonic wall clock in seconds.
        sleep: Waits a number of seconds.
    """

    def __init__(
        self, speed: float, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, not {speed}")
        self.speed = speed
        self._clock = clock
        self._sleep = sleep
        self._origin: tuple[int, float] | None = None

    async def wait(self, event_time: int) -> None:
        """Return once an event at ``event_time`` is due."""
        if self._origin is None:
            self._origin = (event_time, self._clock())
            return
        first_time, first_wall = self._origin
        due = first_wall + (event_time - first_time) / 1e9 / self.speed
        delay = due - self._clock()
        if delay > 0:
            await self._sleep(delay)


def replay_stream(
    sources: Sequence[ReplaySource],
    validator: MarketDataValidator | None = None,
    *,
    book_depth: int | None = None,
) -> Iterator[Event | Rejection]:
    """Load, merge (event time) and validate the files: events and rejections, lazily.

    With ``book_depth``, each accepted book update (snapshot or delta) is replaced by the book
    after it, ``book_depth`` levels a side (``rebuilt_books``): what a backtest's book source
    gives its strategy.

    Raises:
        jules_market_data.LoaderError: A file is missing or its format unknown (at once).
    """
    streams = [
        load(source.path, instrument_id=source.instrument_id, fmt=source.format)
        for source in sources
    ]
    checker = validator or MarketDataValidator(ValidatorConfig())
    items = checker.validate(merge_streams(*streams))
    if book_depth is None:
        return items
    return rebuilt_books(items, checker, lambda _: book_depth)


async def replay(
    bus: Bus,
    items: Iterable[Event | Rejection],
    *,
    speed: float | None = None,
    batch_size: int = 500,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
    on_published: Callable[[Sequence[Event]], None] | None = None,
    on_rejected: Callable[[Rejection], None] | None = None,
) -> ReplayReport:
    """Publish the events of ``items`` on their topics; count the rejections.

    Args:
        bus: Where the events go (its scope decides the topic names).
        items: Events in event-time order, and rejections (``replay_stream``).
        speed: Event-time seconds per wall-clock second; ``None``: full speed.
        batch_size: Most events published before waiting for acknowledgements.
        clock: Monotonic wall clock (for pacing and the duration).
        sleep: Waits (for pacing).
        on_published: Called with every acknowledged batch.
        on_rejected: Called with every rejection.

    Returns:
        What was published and refused.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    report = ReplayReport()
    pacer = None if speed is None else Pacer(speed, clock=clock, sleep=sleep)
    started = clock()
    batch: list[Event] = []

    async def flush() -> None:
        if not batch:
            return
        await bus.publish(*batch)
        report.count_published(batch)
        if on_published is not None:
            on_published(batch)
        batch.clear()

    try:
        for item in items:
            if isinstance(item, Rejection):
                report.count_rejected(item)
                if on_rejected is not None:
                    on_rejected(item)
                continue
            if pacer is not None and batch and item.event_time != batch[-1].event_time:
                await flush()  # the events of one event time go out together
            if pacer is not None and not batch:
                await pacer.wait(item.event_time)
            batch.append(item)
            if len(batch) >= batch_size:
                await flush()
        await flush()
    finally:
        report.wall_seconds = clock() - started
    return report
