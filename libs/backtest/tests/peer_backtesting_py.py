"""The peer side of the peer check: the same SMA crossover run by backtesting.py.

Rules (identical on both sides): SMA 10/30 of closes; a cross up (backtesting.py's
``crossover``: previous fast < previous slow and fast > slow) goes long, a cross down goes
short, reversing; the decision is taken at a bar's close and filled at the next bar's open;
the size is whole units on all equity at the decision (floor(equity / close)); no fees, no
spread; the position still open at the end is closed at the last bar's open. backtesting.py
sizes relative orders at the fill price, so the strategy passes explicit whole units; the
margin is set to 0.5 only so that backtesting.py never cancels an order whose next open gaps
above the decision close (it does not change PnL: no fees, no financing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover


def _sma(values: pd.Series, n: int) -> pd.Series:
    return pd.Series(values).rolling(n).mean()


class SmaCrossAllEquity(Strategy):  # type: ignore[misc]
    """SMA 10/30 crossover, long/short reversing, whole units on all equity at the decision."""

    fast = 10
    slow = 30

    def init(self) -> None:
        self.sma_fast = self.I(_sma, self.data.Close, self.fast)
        self.sma_slow = self.I(_sma, self.data.Close, self.slow)

    def _units(self) -> int:
        return math.floor(float(self.equity) / float(self.data.Close[-1]))

    def next(self) -> None:
        if crossover(self.sma_fast, self.sma_slow):
            self.position.close()
            self.buy(size=self._units())
        elif crossover(self.sma_slow, self.sma_fast):
            self.position.close()
            self.sell(size=self._units())


@dataclass(frozen=True)
class PeerTrade:
    """A trade as backtesting.py reports it."""

    side: str
    size: int
    entry_time_ns: int
    entry_price: float
    exit_time_ns: int
    exit_price: float
    pnl: float


def run_backtesting_py(bars: pd.DataFrame, cash: float) -> tuple[list[PeerTrade], float]:
    """Run the strategy on OHLCV bars indexed by bar start time (UTC).

    Returns:
        The trades in entry order and the final equity.
    """
    backtest = Backtest(
        bars,
        SmaCrossAllEquity,
        cash=cash,
        commission=0.0,
        spread=0.0,
        margin=0.5,
        trade_on_close=False,
        hedging=False,
        exclusive_orders=False,
        finalize_trades=True,
    )
    stats = backtest.run()
    trades = stats["_trades"].sort_values("EntryTime", kind="stable")
    result = [
        PeerTrade(
            side="LONG" if row.Size > 0 else "SHORT",
            size=abs(int(row.Size)),
            entry_time_ns=int(pd.Timestamp(row.EntryTime).value),
            entry_price=float(row.EntryPrice),
            exit_time_ns=int(pd.Timestamp(row.ExitTime).value),
            exit_price=float(row.ExitPrice),
            pnl=float(row.PnL),
        )
        for row in trades.itertuples()
    ]
    return result, float(stats["Equity Final [$]"])
