"""Feed health of the live mode: each stream's state and its metrics (``jules_market_data_…``).

Every live stream (an instrument's ``trades``, ``quotes`` or ``books``) has a ``StreamHealth``:
when its last message came (wall clock, monotonic), whether it is connected, how many times it
reconnected. ``FeedMetrics`` exports them per instrument and stream, with the book resyncs,
the backfilled trades, the repeats dropped and the venue retries and backoff; ``refresh``
updates the message ages and the stale flags.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from jules_runtime.logging import logger
from prometheus_client import CollectorRegistry, Counter, Gauge

from jules_market_data.handlers import rejected_rows

__all__ = ["FeedMetrics", "StreamHealth"]


@dataclass
class StreamHealth:
    """The state of one live stream.

    Attributes:
        venue: The venue's name.
        instrument: The instrument id.
        stream: ``trades``, ``quotes`` or ``books``.
        last_message: Monotonic time of the last message (``None``: none yet).
        connected: Whether the stream delivered since its last error.
        failures: Consecutive errors since the last message (the backoff's exponent).
        reconnects: Reconnections after an error.
        stale: Whether the stream is flagged stale.
    """

    venue: str
    instrument: str
    stream: str
    started: float = field(default_factory=time.monotonic)
    last_message: float | None = None
    connected: bool = False
    failures: int = 0
    reconnects: int = 0
    stale: bool = False


class FeedMetrics:
    """The live mode's metrics.

    Args:
        registry: Where they are registered.
        clock: Monotonic wall clock in seconds.
    """

    def __init__(
        self, registry: CollectorRegistry, clock: Callable[[], float] = time.monotonic
    ) -> None:
        labels = ["instrument", "stream"]
        self._clock = clock
        self.age = Gauge(
            "jules_market_data_feed_message_age_seconds",
            "Seconds since the last message of a live stream (since its start if none yet).",
            labels,
            registry=registry,
        )
        self.connected = Gauge(
            "jules_market_data_feed_connected",
            "1 while a live stream is connected and delivering, 0 after an error.",
            labels,
            registry=registry,
        )
        self.stale = Gauge(
            "jules_market_data_feed_stale",
            "1 when a live stream had no message for live.stale_after_s.",
            labels,
            registry=registry,
        )
        self.reconnects = Counter(
            "jules_market_data_feed_reconnects",
            "Reconnections of a live stream after an error.",
            labels,
            registry=registry,
        )
        self.resyncs = Counter(
            "jules_market_data_book_resyncs",
            "Books rebuilt from a snapshot (a sequence gap, or a reconnection).",
            ["instrument"],
            registry=registry,
        )
        self.backfilled = Counter(
            "jules_market_data_backfilled_trades",
            "Trades fetched over REST after a gap (those already published included).",
            ["instrument"],
            registry=registry,
        )
        self.duplicates = Counter(
            "jules_market_data_live_duplicates",
            "Live events dropped because an event with their id was published already.",
            ["instrument"],
            registry=registry,
        )
        self.retries = Counter(
            "jules_market_data_venue_retries",
            "Venue calls and streams retried after an error, by venue and error.",
            ["venue", "error"],
            registry=registry,
        )
        self.backoff = Counter(
            "jules_market_data_venue_backoff_seconds",
            "Seconds waited before retrying venue calls and streams (Retry-After honoured).",
            ["venue"],
            registry=registry,
        )
        self.rejected = rejected_rows(registry)
        self.event_time = Gauge(
            "jules_market_data_live_event_time_seconds",
            "Event time of the last event published for an instrument (Unix seconds).",
            ["instrument"],
            registry=registry,
        )

    def register(self, health: StreamHealth) -> None:
        """Export a stream's series from the start (disconnected, nothing received)."""
        labels = (health.instrument, health.stream)
        self.connected.labels(*labels).set(0)
        self.stale.labels(*labels).set(0)
        self.age.labels(*labels).set(0)
        self.reconnects.labels(*labels)

    def message(self, health: StreamHealth) -> None:
        """A stream delivered a message."""
        health.last_message = self._clock()
        health.failures = 0
        if not health.connected:
            health.connected = True
            self.connected.labels(health.instrument, health.stream).set(1)

    def failed(self, health: StreamHealth) -> None:
        """A stream failed: it reconnects after a backoff."""
        health.failures += 1
        health.reconnects += 1
        health.connected = False
        self.connected.labels(health.instrument, health.stream).set(0)
        self.reconnects.labels(health.instrument, health.stream).inc()

    def refresh(self, streams: list[StreamHealth], stale_after_s: float) -> None:
        """Update every stream's message age and stale flag (a change of flag is logged)."""
        now = self._clock()
        for health in streams:
            age = now - (health.last_message if health.last_message is not None else health.started)
            labels = (health.instrument, health.stream)
            self.age.labels(*labels).set(age)
            stale = age >= stale_after_s
            if stale != health.stale:
                health.stale = stale
                self.stale.labels(*labels).set(int(stale))
                if stale:
                    logger.warning(
                        "live feed stale",
                        venue=health.venue,
                        instrument=health.instrument,
                        stream=health.stream,
                        seconds=round(age, 1),
                    )
                else:
                    logger.info(
                        "live feed fresh again",
                        venue=health.venue,
                        instrument=health.instrument,
                        stream=health.stream,
                    )
