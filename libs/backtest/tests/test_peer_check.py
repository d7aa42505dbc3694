"""Peer check: the same SMA crossover in this engine and in backtesting.py gives the same trades
and final equity on real data (rules in ``peer_backtesting_py``): sized in whole units at the
decision, and sized by backtesting.py's own relative size at the fill, with a commission."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from jules_backtest.config import BacktestConfig
from jules_backtest.examples import coinbase_source
from jules_backtest.run import run_backtest
from jules_contracts import Bar
from jules_market_data.loaders import load

from .peer_backtesting_py import PeerTrade, run_backtesting_py, run_backtesting_py_relative
from .sample_data import DATA_DIR

DAYS = ("20180404", "20180405", "20180406")
CASH = 1_000_000.0
MINUTE_NS = 60 * 1_000_000_000


def peer_config(
    output_dir: Path, sizing: dict[str, object] | None = None, taker_bps: float = 0.0
) -> BacktestConfig:
    return BacktestConfig.model_validate(
        {
            "name": "peer",
            "data_dir": str(DATA_DIR),
            "data": [coinbase_source("btcusd", day) for day in DAYS],
            "strategy": {"kind": "sma_cross", "fast": 10, "slow": 30, "mode": "long_short"},
            "risk": {
                "sizing": sizing or {"kind": "all_equity", "whole_units": True},
                # no limits: the peer has none (a generous collar still applies by default)
                "limits": {"price_collar_bps": 5000},
            },
            "execution": {
                "fill_model": {"kind": "next_bar_open"},
                "fees": {"taker_bps": taker_bps},
            },
            "account": {"starting_cash": CASH},
            "monte_carlo": {"samples": 0},
            "close_at_end": True,
            "output_dir": str(output_dir),
        }
    )


def bars_frame() -> pd.DataFrame:
    bars = [
        item
        for day in DAYS
        for item in load(
            DATA_DIR / coinbase_source("btcusd", day)["path"], instrument_id="BTCUSD.COINBASE"
        )
        if isinstance(item, Bar)
    ]
    index = pd.to_datetime([bar.start_time for bar in bars], unit="ns", utc=True)
    return pd.DataFrame(
        {
            "Open": [bar.open for bar in bars],
            "High": [bar.high for bar in bars],
            "Low": [bar.low for bar in bars],
            "Close": [bar.close for bar in bars],
            "Volume": [bar.volume for bar in bars],
        },
        index=index,
    )


def ours_trades(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "trades.csv").open() as handle:
        return list(csv.DictReader(handle))


def assert_same_trades(ours: list[dict[str, str]], peer: list[PeerTrade], *, pnl: str) -> None:
    """Trade for trade: side, size, entry and exit times and prices, and PnL (to a cent).

    Ours stamps a fill with the event time of the bar it filled on (its close); the peer with
    the bar's start. Bars are one minute.
    """
    assert len(ours) == len(peer) > 20
    for mine, theirs in zip(ours, peer, strict=True):
        entry_ns = pd.Timestamp(mine["entry_time"]).value - MINUTE_NS
        exit_ns = pd.Timestamp(mine["exit_time"]).value - MINUTE_NS
        assert (mine["side"], float(mine["size"])) == (theirs.side, theirs.size)
        assert (entry_ns, exit_ns) == (theirs.entry_time_ns, theirs.exit_time_ns)
        assert float(mine["entry_price"]) == pytest.approx(theirs.entry_price, rel=1e-12)
        assert float(mine["exit_price"]) == pytest.approx(theirs.exit_price, rel=1e-12)
        assert float(mine[pnl]) == pytest.approx(theirs.pnl, rel=1e-9, abs=1e-6)


def test_sma_crossover_matches_backtesting_py_trade_for_trade(tmp_path):
    summary = run_backtest(peer_config(tmp_path / "ours"))
    frame = bars_frame()
    peer_trades, peer_equity = run_backtesting_py(frame, CASH)
    ours = ours_trades(tmp_path / "ours")

    assert_same_trades(ours, peer_trades, pnl="pnl")
    assert summary.metrics["end_equity"] == pytest.approx(peer_equity, rel=1e-12)


COMMISSION = 0.001  # 10 bps of each fill's notional, on both sides


@pytest.mark.parametrize(
    ("sizing", "size"),
    [
        ({"kind": "all_equity", "at": "fill"}, None),
        ({"kind": "fixed_fraction", "fraction": 0.5, "whole_units": True, "at": "fill"}, 0.5),
    ],
    ids=["all-equity-vs-default-size", "half-vs-size-0.5"],
)
def test_sizing_at_the_fill_matches_backtesting_py_relative_size_with_commission(
    tmp_path, sizing, size
):
    config = peer_config(tmp_path / "ours", sizing, taker_bps=COMMISSION * 10_000)
    summary = run_backtest(config)
    peer_trades, peer_equity = run_backtesting_py_relative(bars_frame(), CASH, COMMISSION, size)
    ours = ours_trades(tmp_path / "ours")

    assert_same_trades(ours, peer_trades, pnl="net_pnl")  # the peer's PnL is after fees
    assert summary.metrics["end_equity"] == pytest.approx(peer_equity, abs=0.01)
    assert abs(summary.metrics["end_equity"] - CASH) > 1_000  # it traded, and paid fees
