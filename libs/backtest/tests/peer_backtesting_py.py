"""The peer side of the peer check: the same SMA crossover run by backtesting.py.

Rules (identical on both sides): SMA 10/30 of closes; a cross up (backtesting.py's
``crossover``: previous fast < previous slow and fast > slow) goes long, a cross down goes
short, reversing; the decision is taken at a bar's close and filled at the next bar's open;
the position still open at the end is closed at the last bar's open. Two ways to size:

* ``run_backtesting_py``: whole units on all equity at the decision (floor(equity / close)),
  passed to backtesting.py as explicit units; no fees. The margin is 0.5 only so that
  backtesting.py never cancels an order whose next open gaps above the decision close (it
  does not change PnL: no fees, no financing).
* ``run_backtesting_py_relative``: backtesting.py's own relative size with a commission,
  sized when the order fills: ``buy()`` and ``sell()`` without a size (``1 - 2**-52`` of the
  available margin in backtesting.py 0.6: all of it), or an explicit fraction. backtesting.py
  closes the position first (``position.close()``, paying its commission), then sizes the new
  trade at the open: ``int(cash * size // (open * (1 + commission)))`` units; margin 1 (no
  leverage), ``exclusive_orders`` off (the strategy closes the position itself),
  ``trade_on_close`` off (fills at the next open), no spread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover


def _sma(values: pd.Series, n: int) -> pd.Series:
    return pd.Series(values).rolling(n).mean()


class _SmaCross(Strategy):  # type: ignore[misc]
    """SMA 10/30 crossover, long/short reversing; ``_size`` says how much each entry takes."""

    fast = 10
    slow = 30

    def init(self) -> None:
        self.sma_fast = self.I(_sma, self.data.Close, self.fast)
        self.sma_slow = self.I(_sma, self.data.Close, self.slow)

    def _size(self) -> dict[str, float]:
        raise NotImplementedError

    def next(self) -> None:
        if crossover(self.sma_fast, self.sma_slow):
            self.position.close()
            self.buy(**self._size())
        elif crossover(self.sma_slow, self.sma_fast):
            self.position.close()
            self.sell(**self._size())


class SmaCrossAllEquity(_SmaCross):
    """Whole units on all equity at the decision: ``floor(equity / close)``."""

    def _size(self) -> dict[str, float]:
        return {"size": math.floor(float(self.equity) / float(self.data.Close[-1]))}


class SmaCrossRelative(_SmaCross):
    """A relative size, sized by backtesting.py at the fill (0: its own default)."""

    relative_size = 0.0

    def _size(self) -> dict[str, float]:
        return {"size": self.relative_size} if self.relative_size else {}


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
    """Run the strategy sized in explicit units on OHLCV bars indexed by bar start (UTC).

    Returns:
        The trades in entry order and the final equity.
    """
    return _run(bars, SmaCrossAllEquity, cash, commission=0.0, margin=0.5)


def run_backtesting_py_relative(
    bars: pd.DataFrame, cash: float, commission: float, size: float | None = None
) -> tuple[list[PeerTrade], float]:
    """Run the strategy with a relative size and ``commission`` (a rate).

    Args:
        bars: OHLCV bars indexed by bar start (UTC).
        cash: Starting cash.
        commission: backtesting.py's relative commission.
        size: The fraction of the available margin each entry uses; ``None``: ``buy()`` and
            ``sell()`` without a size.

    Returns:
        The trades in entry order (``pnl`` after commissions) and the final equity.
    """
    params = {"relative_size": size or 0.0}
    return _run(bars, SmaCrossRelative, cash, commission=commission, margin=1.0, params=params)


def _run(
    bars: pd.DataFrame,
    strategy: type[Strategy],
    cash: float,
    *,
    commission: float,
    margin: float,
    params: dict[str, float] | None = None,
) -> tuple[list[PeerTrade], float]:
    backtest = Backtest(
        bars,
        strategy,
        cash=cash,
        commission=commission,
        spread=0.0,
        margin=margin,
        trade_on_close=False,
        hedging=False,
        exclusive_orders=False,
        finalize_trades=True,
    )
    stats = backtest.run(**(params or {}))
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
