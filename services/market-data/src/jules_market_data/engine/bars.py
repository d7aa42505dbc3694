"""Time bars from trades, quotes or shorter bars.

Conventions (those of the Lean / Coinbase / Oanda minute files, which the tests reproduce
exactly from the tick and second files):

* bars are aligned on multiples of the interval since the Unix epoch (UTC); a bar covers
  ``[start, start + interval)``, so an event exactly on a boundary opens the next bar;
  ``start_time`` is the bar start and ``event_time`` the bar end;
* a bar exists only for intervals with at least one input (no empty or filled-forward bars);
* trade bars: open/high/low/close of the trade prices, ``volume`` the sum of sizes,
  ``trade_count`` the number of trades;
* quote bars: one bar per configured price type: ``BID`` and ``ASK`` take the OHLC of the
  quotes' bid and ask prices, ``MID`` the OHLC of ``(bid + ask) / 2`` per quote; volume 0;
* bars from shorter bars (e.g. second bars into minute bars): open of the first, high/low over
  all, close of the last, volumes and trade counts summed; the price type is kept;
* volumes and mid prices are computed in decimal (see ``units``), as the recorded files were.

A bar is emitted when the first event of a later interval of the same stream arrives, when
``advance(time)`` passes its end (drive it with the event-time clock so quiet instruments still
close their bars), or on ``flush()`` at the end of the input. Its id derives from the last
event that went into it. An event older than its stream's open bar is counted in ``late`` and
not used (the validator refuses such events before they get here).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from jules_contracts import Bar, Event, PriceType, Quote, Trade

from jules_market_data.engine.config import BarAggregatorConfig
from jules_market_data.engine.units import as_decimal, mid_price

__all__ = ["BarAggregator"]

SOURCE = "market-data"
_ZERO = Decimal(0)


@dataclass(slots=True)
class _OpenBar:
    start: int
    open: float
    high: float
    low: float
    close: float
    volume: Decimal
    trade_count: int | None
    cause: Event

    def update(
        self, high: float, low: float, close: float, volume: Decimal, count: int | None
    ) -> None:
        self.high = max(self.high, high)
        self.low = min(self.low, low)
        self.close = close
        self.volume += volume
        self.trade_count = (
            None if self.trade_count is None or count is None else self.trade_count + count
        )


_Key = tuple[str, PriceType]
# One input's contribution: price type, open, high, low, close, volume, trade count.
_Piece = tuple[PriceType, float, float, float, float, Decimal, int | None]


class BarAggregator:
    """Builds time bars of one interval from trades, quotes and shorter bars."""

    def __init__(self, config: BarAggregatorConfig | None = None) -> None:
        self.config = config or BarAggregatorConfig()
        self._interval = self.config.interval_ns
        self._open: dict[_Key, _OpenBar] = {}
        self.late = 0
        """Events older than their stream's open bar (ignored)."""

    def aggregate(self, events: Iterable[Event]) -> Iterator[Bar]:
        """Bars of a whole stream: ``on_event`` for each event, then ``flush``."""
        for event in events:
            yield from self.on_event(event)
        yield from self.flush()

    def on_event(self, event: Event) -> list[Bar]:
        """Add a trade, quote or bar; return the bars it closes (other events: none)."""
        pieces, start = self._pieces(event)
        closed: list[Bar] = []
        instrument = str(getattr(event, "instrument_id", ""))
        for price_type, open_, high, low, close, volume, count in pieces:
            key = (instrument, price_type)
            bar = self._open.get(key)
            if bar is not None and start < bar.start:
                self.late += 1
                continue
            if bar is not None and start == bar.start:
                bar.update(high, low, close, volume, count)
                bar.cause = event
                continue
            if bar is not None:
                closed.append(self._emit(key, bar))
            self._open[key] = _OpenBar(start, open_, high, low, close, volume, count, event)
        return closed

    def advance(self, time_ns: int) -> list[Bar]:
        """Close every open bar whose end is at or before ``time_ns`` (event time)."""
        due = sorted(
            (key for key, bar in self._open.items() if bar.start + self._interval <= time_ns),
            key=lambda key: (self._open[key].start, key),
        )
        return [self._emit(key, self._open.pop(key)) for key in due]

    def flush(self) -> list[Bar]:
        """Close every open bar (end of the input), in start time then instrument order."""
        keys = sorted(self._open, key=lambda key: (self._open[key].start, key))
        return [self._emit(key, self._open.pop(key)) for key in keys]

    # --- internals ------------------------------------------------------------------------
    def _pieces(self, event: Event) -> tuple[list[_Piece], int]:
        if isinstance(event, Trade):
            size = as_decimal(event.size)
            price = event.price
            return [(PriceType.TRADE, price, price, price, price, size, 1)], self._floor(
                event.event_time
            )
        if isinstance(event, Quote):
            pieces: list[_Piece] = []
            for price_type in self.config.quote_price_types:
                if price_type is PriceType.BID:
                    price = event.bid_price
                elif price_type is PriceType.ASK:
                    price = event.ask_price
                else:
                    price = mid_price(event.bid_price, event.ask_price)
                pieces.append((price_type, price, price, price, price, _ZERO, None))
            return pieces, self._floor(event.event_time)
        if isinstance(event, Bar):
            start = self._floor(event.start_time)
            if event.event_time > start + self._interval:
                raise ValueError(
                    f"bar {event.event_id} ({event.interval} from {event.start_time}) does not "
                    f"fit in one {self.config.interval} bar: aggregate into a multiple of it"
                )
            piece: _Piece = (
                event.price_type,
                event.open,
                event.high,
                event.low,
                event.close,
                as_decimal(event.volume),
                event.trade_count,
            )
            return [piece], start
        return [], 0

    def _floor(self, time_ns: int) -> int:
        return time_ns - time_ns % self._interval

    def _emit(self, key: _Key, bar: _OpenBar) -> Bar:
        instrument, price_type = key
        return Bar.derive(
            bar.cause,
            key=f"{self.config.interval}:{price_type.value}:{bar.start}",
            source=SOURCE,
            event_time=bar.start + self._interval,
            instrument_id=instrument,
            interval=self.config.interval,
            price_type=price_type,
            start_time=bar.start,
            open=bar.open,
            high=bar.high,
            low=bar.low,
            close=bar.close,
            volume=float(bar.volume),
            trade_count=bar.trade_count,
        )
