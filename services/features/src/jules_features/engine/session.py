"""Session features: session VWAP and time of day (own O(1) state; TA-Lib has neither).

A session starts every day at ``session_start_offset_minutes`` after 00:00 UTC (midnight UTC
by default). A bar belongs to the session in which it starts (its ``start_time``), and the
time-of-day features describe its start too, so they match the bar's timestamp in a bar file.
"""

from __future__ import annotations

import math

from jules_contracts import Bar

from jules_features.engine.streams import Output

__all__ = ["DAY_NS", "SessionVwap", "TimeOfDay"]

DAY_NS = 86_400 * 1_000_000_000
_MINUTE_NS = 60 * 1_000_000_000
_TAU = 2.0 * math.pi


class SessionVwap:
    """Session VWAP: sum(typical price * volume) / sum(volume), typical = (h + l + c) / 3.

    Restarts at each session start. Undefined (``None``) while the session has no volume.

    Args:
        offset_ns: Session start, in nanoseconds after 00:00 UTC.
    """

    lookback = 0

    def __init__(self, offset_ns: int) -> None:
        self._offset_ns = offset_ns
        self._session: int | None = None
        self._price_volume = 0.0
        self._volume = 0.0

    def update(self, bar: Bar) -> Output:
        """Take the next bar and return the session VWAP up to and including it."""
        session = (bar.start_time - self._offset_ns) // DAY_NS
        if session != self._session:
            self._session = session
            self._price_volume = 0.0
            self._volume = 0.0
        typical = (bar.high + bar.low + bar.close) / 3.0
        self._price_volume += typical * bar.volume
        self._volume += bar.volume
        return (self._price_volume / self._volume if self._volume > 0 else None,)


class TimeOfDay:
    """Where a bar starts in its session day: ``(tod_sin, tod_cos, minute_of_day)``.

    ``tod_sin``/``tod_cos`` are the sine and cosine of ``2 pi * t / 24 h`` with ``t`` the time
    since the session start (a cyclic encoding: 23:59 is next to 00:00); ``minute_of_day`` is
    ``t`` in whole minutes (0-1439).

    Args:
        offset_ns: Session start, in nanoseconds after 00:00 UTC.
    """

    lookback = 0

    def __init__(self, offset_ns: int) -> None:
        self._offset_ns = offset_ns

    def update(self, bar: Bar) -> Output:
        """Return the time-of-day features of the bar's start."""
        into_day = (bar.start_time - self._offset_ns) % DAY_NS
        angle = _TAU * (into_day / DAY_NS)
        return (math.sin(angle), math.cos(angle), float(into_day // _MINUTE_NS))
