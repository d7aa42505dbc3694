"""The smoke demo: real market data through the contracts and the in-memory bus.

It reads sample files from the shared data folder, validates every row into a v1 contract,
publishes the events on the in-memory bus (the transport the embedded node uses), lets a
consumer summarise them per instrument, and reports what was published, delivered, rejected
and dead-lettered. It is not a backtest: the trading engines come with the trading core.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jules_contracts import Bar, Event, Trade, format_utc_nanos
from jules_contracts.topics import MD_BARS, MD_TRADES
from jules_runtime.bus import InMemoryBus, ProcessingStats

from jules.sample_data import (
    RejectedRow,
    read_bitstamp_trades,
    read_lean_minute_trade_bars,
    split,
)

__all__ = ["DemoResult", "InstrumentSummary", "run_demo"]

LEAN_BARS = {
    "BTCUSD.COINBASE": "QuantConnect_Lean/Data/crypto/coinbase/minute/btcusd",
    "ETHUSD.COINBASE": "QuantConnect_Lean/Data/crypto/coinbase/minute/ethusd",
    "LTCUSD.COINBASE": "QuantConnect_Lean/Data/crypto/coinbase/minute/ltcusd",
}
LEAN_DAYS = ("20180404", "20180405")
BITSTAMP = ("BTCUSD.BITSTAMP", "pyalgotrade/testcases/data/bitstampUSD.csv")


@dataclass
class InstrumentSummary:
    """What the consumer saw of one instrument."""

    instrument_id: str
    kind: str
    count: int = 0
    first_ns: int = 0
    last_ns: int = 0
    first_price: float = 0.0
    last_price: float = 0.0
    high: float = 0.0
    low: float = float("inf")
    volume: float = 0.0
    notional: float = 0.0

    def add(self, event_time: int, price: float, high: float, low: float, volume: float) -> None:
        """Fold one trade or bar (``price`` is the trade price or bar close) into the summary."""
        if self.count == 0:
            self.first_ns, self.first_price = event_time, price
        self.count += 1
        self.last_ns, self.last_price = event_time, price
        self.high, self.low = max(self.high, high), min(self.low, low)
        self.volume += volume
        self.notional += price * volume

    @property
    def vwap(self) -> float:
        """Volume-weighted average price (close-weighted for bars)."""
        return self.notional / self.volume if self.volume else self.last_price

    @property
    def change(self) -> float:
        """Relative change from the first to the last price."""
        return self.last_price / self.first_price - 1.0 if self.first_price else 0.0

    @property
    def first_time(self) -> str:
        """First event time, UTC, to the minute."""
        return format_utc_nanos(self.first_ns)[:16].replace("T", " ")

    @property
    def last_time(self) -> str:
        """Last event time, UTC, to the minute."""
        return format_utc_nanos(self.last_ns)[:16].replace("T", " ")


@dataclass
class DemoResult:
    """Everything the demo measured."""

    summaries: dict[str, InstrumentSummary] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    published: int = 0
    delivered: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    stats: ProcessingStats = field(default_factory=ProcessingStats)


def load_events(data_dir: Path, result: DemoResult) -> list[Event]:
    """Read the sample files into validated events, in event-time order."""
    events: list[Event] = []
    for instrument, folder in LEAN_BARS.items():
        for day in LEAN_DAYS:
            path = data_dir / folder / f"{day}_trade.zip"
            result.files.append(path)
            valid, rejected = split(read_lean_minute_trade_bars(path, instrument))
            events += valid
            result.rejected += rejected
    instrument, relative = BITSTAMP
    path = data_dir / relative
    result.files.append(path)
    valid, rejected = split(read_bitstamp_trades(path, instrument))
    events += valid
    result.rejected += rejected
    # A stable sort keeps each file's order for equal times, so runs are repeatable.
    return sorted(events, key=lambda event: (event.event_time, getattr(event, "instrument_id", "")))


async def run_demo(data_dir: Path) -> DemoResult:
    """Run the smoke demo on the sample data in ``data_dir``.

    Raises:
        FileNotFoundError: A sample file is missing (the message names it).
    """
    result = DemoResult()
    events = load_events(data_dir, result)

    async def summarise(event: Event) -> Sequence[Event]:
        if isinstance(event, Trade):
            summary = result.summaries.setdefault(
                event.instrument_id, InstrumentSummary(event.instrument_id, "trades")
            )
            summary.add(event.event_time, event.price, event.price, event.price, event.size)
        elif isinstance(event, Bar):
            summary = result.summaries.setdefault(
                event.instrument_id, InstrumentSummary(event.instrument_id, "1m bars")
            )
            summary.add(event.event_time, event.close, event.high, event.low, event.volume)
        return []

    bus = InMemoryBus("demo", scope="demo")
    processor = bus.subscribe([MD_TRADES, MD_BARS], summarise)
    async with bus:
        await bus.publish(*events)
        result.published = len(events)
        result.delivered = await bus.drain()
    result.stats = processor.stats
    return result
