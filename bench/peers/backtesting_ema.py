"""backtesting.py side of the FTX EMA benchmark: EMA 9/21 cross, long/short, next-open fills.

Run in the project environment (backtesting.py is a dev dependency)::

    .venv/bin/python bench/peers/backtesting_ema.py BARS.csv --fast 9 --slow 21

``BARS.csv`` has the columns ``timestamp,open,high,low,close,volume`` (the nautilus_trader
test file's format, naive UTC). The EMAs are TA-Lib's, as in IntradayJules; a cross up goes
long with all equity, a cross down short, reversing; orders fill at the next bar's open; the
open position is closed at the end. Prints one JSON line: bars, trades, seconds (the run
alone, after loading), final equity.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import pandas as pd
import talib
from backtesting import Backtest, Strategy
from backtesting.lib import crossover


class EmaCross(Strategy):  # type: ignore[misc]
    """EMA fast/slow cross, long/short, reversing, all equity."""

    fast = 9
    slow = 21

    def init(self) -> None:
        self.ema_fast = self.I(talib.EMA, self.data.Close.astype(float), self.fast)
        self.ema_slow = self.I(talib.EMA, self.data.Close.astype(float), self.slow)

    def next(self) -> None:
        if crossover(self.ema_fast, self.ema_slow):
            self.position.close()
            self.buy()
        elif crossover(self.ema_slow, self.ema_fast):
            self.position.close()
            self.sell()


def main() -> None:
    """Run the peer and print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bars", type=Path)
    parser.add_argument("--fast", type=int, default=9)
    parser.add_argument("--slow", type=int, default=21)
    parser.add_argument("--cash", type=float, default=100_000.0)
    args = parser.parse_args()
    frame = pd.read_csv(args.bars, parse_dates=["timestamp"], index_col="timestamp")
    frame.columns = [c.capitalize() for c in frame.columns]
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        backtest = Backtest(
            frame,
            EmaCross,
            cash=args.cash * 1_000,  # whole BTC units need cash; the equity curve is not compared
            trade_on_close=False,
            exclusive_orders=False,
            finalize_trades=True,
        )
        stats = backtest.run(fast=args.fast, slow=args.slow)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "peer": "backtesting.py",
                "bars": len(frame),
                "trades": int(stats["# Trades"]),
                "seconds": seconds,
                "equity": float(stats["Equity Final [$]"]),
            }
        )
    )


if __name__ == "__main__":
    main()
