"""What the lockstep tests build: instruments, times and bars."""

from __future__ import annotations

from jules_contracts import Bar, derive_event_id, parse_utc_nanos

MINUTE = 60_000_000_000
T0 = parse_utc_nanos("2024-08-08T10:00:00Z")
T1, T2, T3 = T0 + MINUTE, T0 + 2 * MINUTE, T0 + 3 * MINUTE
BTC, ETH, SOL = "BTCUSD.COINBASE", "ETHUSD.COINBASE", "SOLUSD.COINBASE"


def bar(instrument: str, time: int, key: str | int = 0) -> Bar:
    """A one-minute bar of ``instrument`` closing at ``time`` (``key`` tells twins apart)."""
    return Bar(
        event_id=derive_event_id("test-bar", instrument, time, key),
        source="test",
        event_time=time,
        start_time=time - MINUTE,
        instrument_id=instrument,
        interval="1m",
        open=100.0,
        high=101.0,
        low=99.0,
        close=100.5,
        volume=1.0,
    )
