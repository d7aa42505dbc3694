"""Gap and staleness detection per stream (instrument x kind, see ``stream_key``).

A **gap** is a silence between two consecutive events of one stream longer than the configured
threshold; it is reported when the event that ends it arrives. A stream is **stale** at a given
event time when its last event is older than the threshold; ``check_stale`` reports it once per
silence. For bars, times are bar ends (``event_time``), so consecutive bars are one interval
apart and ``missing_intervals`` counts the absent bars.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from jules_contracts import Event, format_utc_nanos

from jules_market_data.engine.config import GapDetectorConfig
from jules_market_data.engine.streams import stream_key
from jules_market_data.engine.units import interval_ns

__all__ = ["FindingKind", "GapDetector", "GapFinding"]


class FindingKind(StrEnum):
    """What a finding is about."""

    GAP = "GAP"
    """Two consecutive events of a stream are further apart than the threshold."""
    STALE = "STALE"
    """A stream has been silent for longer than the threshold at a given event time."""


@dataclass(frozen=True, slots=True)
class GapFinding:
    """A gap or a stale stream.

    Attributes:
        kind: ``GAP`` or ``STALE``.
        instrument_id: The instrument ("" for events without one).
        event_type: The kind of stream (``md.trade``, ``md.quote``, ``md.bar``, ``md.book``).
        start_time: Time of the last event before the silence (UTC ns).
        end_time: Time of the event after it (``GAP``) or the time checked (``STALE``).
        threshold_ns: The configured longest accepted silence.
        missing_intervals: For a configured interval, whole intervals without an event
            (``duration // interval - 1``: missing bars of a bar stream); else ``None``.
    """

    kind: FindingKind
    instrument_id: str
    event_type: str
    start_time: int
    end_time: int
    threshold_ns: int
    missing_intervals: int | None = None

    @property
    def duration_ns(self) -> int:
        """Length of the silence."""
        return self.end_time - self.start_time

    def __str__(self) -> str:
        return (
            f"{self.kind.value} {self.instrument_id} {self.event_type}: "
            f"{format_utc_nanos(self.start_time)} -> {format_utc_nanos(self.end_time)} "
            f"({self.duration_ns / 1e9:g} s > {self.threshold_ns / 1e9:g} s)"
        )


class GapDetector:
    """Reports gaps and stale streams as structured findings."""

    def __init__(self, config: GapDetectorConfig) -> None:
        self.config = config
        self._threshold = config.threshold_ns
        self._interval = interval_ns(config.interval) if config.interval else None
        self._last: dict[tuple[str, ...], int] = {}
        self._reported_stale: set[tuple[str, ...]] = set()

    def scan(self, events: Iterable[Event]) -> Iterator[GapFinding]:
        """All gaps of a stream of events."""
        for event in events:
            finding = self.on_event(event)
            if finding is not None:
                yield finding

    def on_event(self, event: Event) -> GapFinding | None:
        """Record ``event``; return the gap it ends, if any."""
        key = stream_key(event)
        previous = self._last.get(key)
        self._reported_stale.discard(key)
        if previous is None or event.event_time > previous:
            self._last[key] = event.event_time
        if previous is None or event.event_time - previous <= self._threshold:
            return None
        return self._finding(FindingKind.GAP, key, previous, event.event_time)

    def check_stale(self, now_ns: int) -> list[GapFinding]:
        """Streams silent for longer than the threshold at event time ``now_ns`` (each once)."""
        findings = []
        for key, last in sorted(self._last.items()):
            if now_ns - last > self._threshold and key not in self._reported_stale:
                self._reported_stale.add(key)
                findings.append(self._finding(FindingKind.STALE, key, last, now_ns))
        return findings

    def _finding(self, kind: FindingKind, key: tuple[str, ...], start: int, end: int) -> GapFinding:
        missing = None if self._interval is None else (end - start) // self._interval - 1
        return GapFinding(
            kind=kind,
            instrument_id=key[0],
            event_type=key[1],
            start_time=start,
            end_time=end,
            threshold_ns=self._threshold,
            missing_intervals=missing,
        )
