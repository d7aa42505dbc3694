"""EMA cross on NautilusTrader's ``BacktestEngine``, for the backtest throughput benchmark.

Run with the peer environment's Python (see README.md in this folder)::

    python bench/peers/nautilus_ema.py BARS.csv --fast 10 --slow 30 --cash 100000

BARS.csv has the header ``instrument_id,start_ns,open,high,low,close,volume``: 1-minute bars of
one or more instruments in time order, ``start_ns`` the bar's start in nanoseconds since the
epoch (UTC). Per instrument the strategy keeps EMA(fast) and EMA(slow) of the closes; when the
fast EMA crosses above the slow one it goes long, when it crosses below it goes short
(reversing in one order), with a market order filled at the open of the instrument's next bar.
The size is the whole number of units of (equity / number of instruments) / close at the
decision, where equity is cash plus every position marked at its last close. No commission.

Fill timing. NautilusTrader's simulated venue processes a bar (open, high, low, close) before
the strategy sees it, and a market order sent from ``on_bar`` is matched in the same step, so
by default it fills at the close of the bar it was decided on. To fill at the next bar's open,
each bar's open is also fed as a ``TradeTick`` at the bar's start (after the previous bar,
which closes at that instant): the strategy keeps the order it decided on a bar and submits it
when that instrument's next open tick arrives, so the venue matches it at exactly that price,
also across gaps in the bars. The tick's size is large enough that the whole order fills at
the open (against a smaller size nautilus fills the rest one price increment worse). Bars are
stamped at their close. By default the venue matches on these ticks only (``bar_execution``
off); ``--bar-execution`` also walks every bar's prices, with the same fills here.

Account. A margin account in USD with leverage 1 and no margin requirement: a cash account
books only the closing part of a reversing fill in the quote currency, which corrupts cash on
every reversal. Every instrument is quoted in USD whatever its symbol says (no FX).

Only the backtest is timed (engine set-up, instruments, data, run), not reading the CSV into
Nautilus objects or interpreter start-up. One JSON line goes to stdout.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from decimal import Decimal
from pathlib import Path

import nautilus_trader
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.config import (
    BacktestEngineConfig,
    LoggingConfig,
    StrategyConfig,
)
from nautilus_trader.indicators import ExponentialMovingAverage
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import Bar, BarType, TradeTick
from nautilus_trader.model.enums import (
    AccountType,
    AggressorSide,
    OmsType,
    OrderSide,
    TimeInForce,
)
from nautilus_trader.model.identifiers import InstrumentId, Symbol, TradeId, Venue
from nautilus_trader.model.instruments import CurrencyPair
from nautilus_trader.model.objects import Currency, Money, Price, Quantity
from nautilus_trader.trading.strategy import Strategy
from peer_common import argument_parser, report

VENUE = Venue("SIM")
MINUTE_NS = 60_000_000_000
# Size of the synthetic open tick: the whole order must fit in the top of the simulated book.
OPEN_TICK_SIZE = 1_000_000_000
MAX_PRECISION = 9


class EmaCrossConfig(StrategyConfig, frozen=True):
    """Parameters of the EMA cross."""

    instrument_ids: tuple[str, ...]
    fast: int = 10
    slow: int = 30


class EmaCross(Strategy):
    """Long when EMA(fast) crosses above EMA(slow), short when it crosses below, per instrument."""

    def __init__(self, config: EmaCrossConfig) -> None:
        super().__init__(config)
        self.instrument_ids = [InstrumentId.from_str(i) for i in config.instrument_ids]
        self.n = len(self.instrument_ids)
        self.bar_types = {
            iid: BarType.from_str(f"{iid}-1-MINUTE-LAST-EXTERNAL") for iid in self.instrument_ids
        }
        self.fast = {iid: ExponentialMovingAverage(config.fast) for iid in self.instrument_ids}
        self.slow = {iid: ExponentialMovingAverage(config.slow) for iid in self.instrument_ids}
        self.side: dict[InstrumentId, int] = dict.fromkeys(self.instrument_ids, 0)
        self.last_close: dict[InstrumentId, float] = {}
        self.pending: dict[InstrumentId, float] = {}  # signed quantity to send at the next open
        self.instruments: dict[InstrumentId, CurrencyPair] = {}
        self.bars = 0
        self.fills = 0
        self.refused: list[object] = []

    def on_start(self) -> None:
        for iid in self.instrument_ids:
            self.instruments[iid] = self.cache.instrument(iid)
            bar_type = self.bar_types[iid]
            self.register_indicator_for_bars(bar_type, self.fast[iid])
            self.register_indicator_for_bars(bar_type, self.slow[iid])
            self.subscribe_bars(bar_type)
            self.subscribe_trade_ticks(iid)

    def equity(self) -> float:
        """Account balance plus every open position's PnL at its instrument's last close."""
        value = self.portfolio.account(VENUE).balance_total(USD).as_double()
        for position in self.cache.positions_open(venue=VENUE):
            close = self.last_close[position.instrument_id]
            value += position.signed_qty * (close - position.avg_px_open)
        return value

    def on_bar(self, bar: Bar) -> None:
        self.bars += 1
        iid = bar.bar_type.instrument_id
        close = bar.close.as_double()
        self.last_close[iid] = close
        fast, slow = self.fast[iid], self.slow[iid]
        if not (fast.initialized and slow.initialized):
            return
        diff = fast.value - slow.value
        side = (diff > 0) - (diff < 0)
        if side == 0:
            return
        previous = self.side[iid]
        self.side[iid] = side
        if previous == 0 or side == previous:
            return  # first defined side, or no cross
        units = math.floor(self.equity() / self.n / close)
        delta = side * units - float(self.portfolio.net_position(iid))
        if delta:
            self.pending[iid] = delta

    def on_trade_tick(self, tick: TradeTick) -> None:
        delta = self.pending.pop(tick.instrument_id, None)
        if delta is None:
            return
        instrument = self.instruments[tick.instrument_id]
        order = self.order_factory.market(
            instrument_id=tick.instrument_id,
            order_side=OrderSide.BUY if delta > 0 else OrderSide.SELL,
            quantity=instrument.make_qty(abs(delta)),
            time_in_force=TimeInForce.GTC,
        )
        self.submit_order(order)

    def on_order_filled(self, event: object) -> None:
        self.fills += 1

    def on_order_denied(self, event: object) -> None:
        self.refused.append(event)

    def on_order_rejected(self, event: object) -> None:
        self.refused.append(event)


def decimals(text: str) -> int:
    """Digits after the decimal point of a number as written in the CSV."""
    exponent = Decimal(text).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def read_bars(path: Path) -> dict[str, list[tuple[int, str, str, str, str, str]]]:
    """Rows per instrument, in file order, with prices and volume kept as written."""
    rows: dict[str, list[tuple[int, str, str, str, str, str]]] = {}
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        expected = ["instrument_id", "start_ns", "open", "high", "low", "close", "volume"]
        if header != expected:
            sys.exit(f"{path}: header must be {','.join(expected)}")
        for iid, start, o, h, low, c, v in reader:
            rows.setdefault(iid, []).append((int(start), o, h, low, c, v))
    return rows


def make_instrument(raw_id: str, price_precision: int, size_precision: int) -> CurrencyPair:
    """A spot pair on the simulated venue, quoted in USD whatever the symbol's quote."""
    symbol = raw_id.split(".", 1)[0]
    base_code = symbol[:-3] if len(symbol) > 3 else symbol
    base = Currency.from_str(base_code, strict=False)
    return CurrencyPair(
        instrument_id=InstrumentId(Symbol(symbol), VENUE),
        raw_symbol=Symbol(symbol),
        base_currency=base,
        quote_currency=USD,
        price_precision=price_precision,
        size_precision=size_precision,
        price_increment=Price(10.0**-price_precision, price_precision),
        size_increment=Quantity(10.0**-size_precision, size_precision),
        margin_init=Decimal(0),
        margin_maint=Decimal(0),
        maker_fee=Decimal(0),
        taker_fee=Decimal(0),
        ts_event=0,
        ts_init=0,
    )


def prepare(
    rows: dict[str, list[tuple[int, str, str, str, str, str]]],
) -> tuple[list[CurrencyPair], list[Bar | TradeTick], int]:
    """Instruments, and bars plus open ticks merged in time order (a bar before the next open)."""
    instruments = []
    streams = []
    for raw_id, bars in rows.items():
        price_precision = min(
            MAX_PRECISION, max(decimals(p) for r in bars for p in (r[1], r[2], r[3], r[4]))
        )
        size_precision = min(MAX_PRECISION, max(decimals(r[5]) for r in bars))
        instrument = make_instrument(raw_id, price_precision, size_precision)
        if any(i.id == instrument.id for i in instruments):
            sys.exit(f"two instruments share the symbol of {raw_id} on the simulated venue")
        instruments.append(instrument)
        iid = instrument.id
        bar_type = BarType.from_str(f"{iid}-1-MINUTE-LAST-EXTERNAL")
        tick_size = Quantity(OPEN_TICK_SIZE, size_precision)
        stream: list[tuple[int, int, Bar | TradeTick]] = []
        for n, (start, o, h, low, c, v) in enumerate(bars):
            open_price = Price(float(o), price_precision)
            # The open, first of the bar: ends the previous bar (same instant, sorted after it).
            tick = TradeTick(
                iid, open_price, tick_size, AggressorSide.NO_AGGRESSOR, TradeId(str(n)),
                start, start,
            )  # fmt: skip
            close_ns = start + MINUTE_NS  # nautilus stamps a bar at its close
            bar = Bar(
                bar_type,
                open_price,
                Price(float(h), price_precision),
                Price(float(low), price_precision),
                Price(float(c), price_precision),
                Quantity(float(v), size_precision),
                close_ns,
                close_ns,
            )
            stream.append((start, 1, tick))
            stream.append((close_ns, 0, bar))
        streams.extend(stream)
    # At the same instant a bar (0) goes before an open tick (1); the engine's sort is stable.
    streams.sort(key=lambda item: (item[0], item[1]))
    return instruments, [item[2] for item in streams], sum(len(b) for b in rows.values())


def run(
    instruments: list[CurrencyPair], data: list[Bar | TradeTick], args: argparse.Namespace
) -> tuple[BacktestEngine, EmaCross]:
    """Set up the engine and run the backtest."""
    engine = BacktestEngine(
        config=BacktestEngineConfig(
            logging=LoggingConfig(log_level="ERROR"),
            run_analysis=False,
        )
    )
    engine.add_venue(
        venue=VENUE,
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        base_currency=USD,
        starting_balances=[Money(args.cash, USD)],
        default_leverage=Decimal(1),
        bar_execution=args.bar_execution,
    )
    for instrument in instruments:
        engine.add_instrument(instrument)
    engine.add_data(data)
    strategy = EmaCross(
        EmaCrossConfig(
            instrument_ids=tuple(str(i.id) for i in instruments), fast=args.fast, slow=args.slow
        )
    )
    engine.add_strategy(strategy)
    engine.run()
    return engine, strategy


def main() -> None:
    parser = argument_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--bar-execution",
        action="store_true",
        help="let the venue also walk each bar's open, high, low and close (nautilus's default;"
        " the same fills here, since only market orders are sent, but slower)",
    )
    args = parser.parse_args()

    rows = read_bars(args.bars)
    instruments, data, n_bars = prepare(rows)

    started = time.perf_counter()
    engine, strategy = run(instruments, data, args)
    equity = strategy.equity()
    seconds = time.perf_counter() - started
    engine.dispose()

    report(
        peer="nautilus_trader",
        version=nautilus_trader.__version__,
        bars_seen=strategy.bars,
        bars_expected=n_bars,
        refused=strategy.refused[:3],
        instruments=len(instruments),
        seconds=seconds,
        fills=strategy.fills,
        equity=equity,
    )


if __name__ == "__main__":
    main()
