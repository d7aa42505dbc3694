"""EMA cross on backtrader's ``Cerebro``, for the backtest throughput benchmark.

Run with the peer environment's Python (see README.md in this folder)::

    python bench/peers/backtrader_ema.py BARS.csv --fast 10 --slow 30 --cash 100000

BARS.csv has the header ``instrument_id,start_ns,open,high,low,close,volume``: 1-minute bars of
one or more instruments in time order, ``start_ns`` the bar's start in nanoseconds since the
epoch (UTC). Per instrument the strategy keeps EMA(fast) and EMA(slow) of the closes; when the
fast EMA crosses above the slow one it goes long, when it crosses below it goes short
(reversing in one order), with a market order filled at the open of the instrument's next bar.
The size is the whole number of units of (equity / number of instruments) / close at the
decision, where equity is the broker's value (cash plus positions at their last close). No
commission.

One ``PandasData`` feed per instrument, ``bt.indicators.EMA``, ``cheat_on_open=False`` (a
market order fills at the open of its instrument's next bar), ``stdstats=False``. The broker's
cash check on submission is off, so no order is refused for cash, as in the NautilusTrader
peer.

Only the backtest is timed (Cerebro set-up, feeds, run), not reading the CSV into data frames
or interpreter start-up. One JSON line goes to stdout.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path

import backtrader as bt
import pandas as pd
from peer_common import argument_parser, report

COLUMNS = ["open", "high", "low", "close", "volume"]


class EmaCross(bt.Strategy):
    """Long when EMA(fast) crosses above EMA(slow), short when it crosses below, per data."""

    params = (("fast", 10), ("slow", 30))

    def __init__(self) -> None:
        self.fast = [bt.indicators.EMA(d.close, period=self.p.fast) for d in self.datas]
        self.slow = [bt.indicators.EMA(d.close, period=self.p.slow) for d in self.datas]
        self.seen = [0] * len(self.datas)  # bars of each data handled so far
        self.side = [0] * len(self.datas)
        self.bars = 0
        self.fills = 0
        self.refused = 0

    def prenext(self) -> None:
        # Before every feed has warmed up; the instruments are independent, so trade anyway.
        self.next()

    def next(self) -> None:
        n = len(self.datas)
        for i, data in enumerate(self.datas):
            length = len(data)
            if length == self.seen[i]:
                continue  # this instrument has no bar at this time
            self.seen[i] = length
            self.bars += 1
            fast, slow = self.fast[i][0], self.slow[i][0]
            if math.isnan(fast) or math.isnan(slow):
                continue
            diff = fast - slow
            side = (diff > 0) - (diff < 0)
            if side == 0:
                continue
            previous = self.side[i]
            self.side[i] = side
            if previous == 0 or side == previous:
                continue  # first defined side, or no cross
            units = math.floor(self.broker.getvalue() / n / data.close[0])
            self.order_target_size(data=data, target=side * units)

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed:
            self.fills += 1
        elif order.status in (order.Canceled, order.Margin, order.Rejected):
            self.refused += 1


def read_frames(path: Path) -> dict[str, pd.DataFrame]:
    """One OHLCV frame per instrument, indexed by bar start (naive UTC)."""
    rows: dict[str, list[list[float]]] = {}
    starts: dict[str, list[int]] = {}
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        expected = ["instrument_id", "start_ns", *COLUMNS]
        if header != expected:
            sys.exit(f"{path}: header must be {','.join(expected)}")
        for iid, start, o, h, low, c, v in reader:
            rows.setdefault(iid, []).append([float(o), float(h), float(low), float(c), float(v)])
            starts.setdefault(iid, []).append(int(start))
    return {
        iid: pd.DataFrame(rows[iid], columns=COLUMNS, index=pd.to_datetime(starts[iid], unit="ns"))
        for iid in rows
    }


def run(frames: dict[str, pd.DataFrame], args: argparse.Namespace) -> tuple[EmaCross, float]:
    """Set up Cerebro, run it, and return the strategy and the final value."""
    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=False)
    cerebro.broker.setcash(args.cash)
    cerebro.broker.set_checksubmit(False)
    for iid, frame in frames.items():
        feed = bt.feeds.PandasData(
            dataname=frame,
            datetime=None,
            openinterest=None,
            timeframe=bt.TimeFrame.Minutes,
            compression=1,
            name=iid,
        )
        cerebro.adddata(feed)
    cerebro.addstrategy(EmaCross, fast=args.fast, slow=args.slow)
    (strategy,) = cerebro.run()
    return strategy, cerebro.broker.getvalue()


def main() -> None:
    args = argument_parser(__doc__.splitlines()[0]).parse_args()
    frames = read_frames(args.bars)
    n_bars = sum(len(f) for f in frames.values())

    started = time.perf_counter()
    strategy, equity = run(frames, args)
    seconds = time.perf_counter() - started

    report(
        peer="backtrader",
        version=bt.__version__,
        bars_seen=strategy.bars,
        bars_expected=n_bars,
        refused=strategy.refused,
        instruments=len(frames),
        seconds=seconds,
        fills=strategy.fills,
        equity=equity,
    )


if __name__ == "__main__":
    main()
