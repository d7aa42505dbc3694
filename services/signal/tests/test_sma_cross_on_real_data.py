"""sma_cross on a real day of Coinbase BTCUSD minute bars against backtesting.py's SmaCross.

backtesting.py's canonical SmaCross closes and reverses on every crossover and fills at the
next bar's open; its trades must open exactly one bar after each of our signals, in the same
direction.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from backtesting import Backtest
from backtesting import Strategy as BacktestingStrategy
from backtesting.lib import crossover
from backtesting.test import SMA
from jules_contracts import Bar, SignalDirection, derive_event_id
from jules_signal.engine import SmaCrossConfig, TradingMode, build_strategy

from .builders import make_features

DATA = Path(
    os.environ.get("JULES_DATA_DIR", Path(__file__).resolve().parents[3].parent / "shared" / "data")
)
DAY = DATA / "QuantConnect_Lean/Data/crypto/coinbase/minute/btcusd/20171217_trade.zip"
FAST, SLOW = 10, 30
MINUTE_NS = 60_000_000_000


class SmaCross(BacktestingStrategy):  # type: ignore[misc]
    """The SmaCross of backtesting.py's documentation, reversing on every crossover."""

    def init(self) -> None:
        self.fast = self.I(SMA, self.data.Close, FAST)
        self.slow = self.I(SMA, self.data.Close, SLOW)

    def next(self) -> None:
        if crossover(self.fast, self.slow):
            self.position.close()
            self.buy()
        elif crossover(self.slow, self.fast):
            self.position.close()
            self.sell()


@pytest.fixture(scope="module")
def minute_bars() -> pd.DataFrame:
    if not DAY.exists():
        pytest.skip(f"real data not found at {DAY}; set JULES_DATA_DIR")
    frame = pd.read_csv(DAY, header=None, names=["ms", "Open", "High", "Low", "Close", "Volume"])
    start = pd.Timestamp("2017-12-17", tz="UTC")
    frame.index = start + pd.to_timedelta(frame.pop("ms"), unit="ms")
    return frame


@pytest.mark.filterwarnings("ignore:DatetimeIndex.dayofweek is deprecated")
def test_sma_cross_signals_one_bar_before_backtesting_trades(minute_bars):
    strategy = build_strategy(SmaCrossConfig(fast=FAST, slow=SLOW, mode=TradingMode.LONG_SHORT))
    fast = SMA(minute_bars.Close, FAST)
    slow = SMA(minute_bars.Close, SLOW)

    signals = []
    for index, (start, row) in enumerate(minute_bars.iterrows()):
        start_ns = start.value
        bar = Bar(
            event_id=derive_event_id("btcusd-minute", start_ns),
            source="market-data",
            event_time=start_ns + MINUTE_NS,
            start_time=start_ns,
            instrument_id="BTCUSD.COINBASE",
            interval="1m",
            open=row.Open,
            high=row.High,
            low=row.Low,
            close=row.Close,
            volume=row.Volume,
        )
        values = {
            "sma_10": None if pd.isna(fast.iloc[index]) else float(fast.iloc[index]),
            "sma_30": None if pd.isna(slow.iloc[index]) else float(slow.iloc[index]),
        }
        for signal in strategy.on_features(make_features(bar, values), bar):
            signals.append((index, signal))

    stats = Backtest(minute_bars, SmaCross, cash=1e9, finalize_trades=True).run()
    trades = stats._trades
    peer = [
        (int(bar), 1 if size > 0 else -1)
        for bar, size in zip(trades.EntryBar, trades.Size, strict=True)
    ]
    ours = [
        (index + 1, 1 if signal.direction is SignalDirection.LONG else -1)
        for index, signal in signals
        if index + 1 < len(minute_bars)
    ]

    assert len(ours) > 20
    assert ours == peer
    assert all(s.reference_price == minute_bars.Close.iloc[i] for i, s in signals)
