"""The live feed's heartbeat: how far market time has gone, even while every stream is silent.

Consumers measure ages in event time (risk denies an order on market data older than its
limit), and live event time is the venues' time: it moves only when an event arrives. When an
instrument's feed stalls, its consumers would see no time pass. So the live feed publishes,
every ``live.heartbeat_s``, ``jules_contracts.market_heartbeat`` on ``watermarks.v1`` (a
``Watermark`` of service ``market-data``, stream ``md.live``): the market time now, as the feed
knows it.

That time is ``MarketClock``'s: the venues' time of the events published, carried forward by the
local monotonic clock. With real venues it is the wall clock less their latency; with a venue
replaying a recording (the fake exchange, a paper session) it is the recording's time, so a
recorded market is not stale merely because it was recorded in the past. File replays and
backtests publish no heartbeat.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["MarketClock"]


class MarketClock:
    """Market time between events, from the events the feed published.

    Each published event gives an offset: its event time minus the monotonic time it was
    published at. The clock reads the monotonic time plus the largest offset seen, so it never
    goes back, runs at the local clock's rate while nothing arrives, and catches up with the
    venues' time at each event (an old event, a backfilled trade, does not pull it back).

    Args:
        clock: Monotonic time in nanoseconds.
    """

    def __init__(self, clock: Callable[[], int] = time.monotonic_ns) -> None:
        self._clock = clock
        self._offset: int | None = None

    def observe(self, event_time: int) -> None:
        """An event of ``event_time`` (UTC ns) was published now."""
        offset = event_time - self._clock()
        if self._offset is None or offset > self._offset:
            self._offset = offset

    def now(self) -> int | None:
        """The market time now (UTC ns); ``None`` before the first event."""
        if self._offset is None:
            return None
        return self._clock() + self._offset
