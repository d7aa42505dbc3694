"""Run metrics and Monte Carlo intervals, against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from jules_backtest.metrics import (
    YEAR_NS,
    ExecutionCounts,
    bootstrap_intervals,
    compute_metrics,
    max_drawdown,
)
from jules_backtest.trades import RoundTrip


def trip(pnl: float, fees: float = 0.0) -> RoundTrip:
    return RoundTrip("A.X", "LONG", 1.0, 0, 100.0, 1, 100.0 + pnl, pnl, fees)


def test_max_drawdown_of_a_known_curve():
    assert max_drawdown(np.array([100.0, 120.0, 90.0, 130.0, 65.0])) == pytest.approx(-0.5)
    assert max_drawdown(np.array([1.0, 2.0, 3.0])) == 0.0


def test_metrics_of_a_hand_computed_run():
    day = int(YEAR_NS / 365.25)
    times = [i * day for i in range(5)]
    equity = [100.0, 110.0, 99.0, 108.9, 119.79]
    counts = ExecutionCounts(submitted=10, denied=2, filled=6, traded_notional=500.0)
    metrics = compute_metrics(
        times, equity, [False, True, True, True, False], [trip(10), trip(-5), trip(20, 1)], counts
    )

    returns = np.array([0.1, -0.1, 0.1, 0.1])
    years = 4 / 365.25
    per_year = 4 / years
    assert metrics["total_return"] == pytest.approx(0.1979)
    assert metrics["cagr"] == pytest.approx(1.1979 ** (1 / years) - 1)
    assert metrics["sharpe"] == pytest.approx(
        returns.mean() / returns.std(ddof=1) * math.sqrt(per_year)
    )
    downside = math.sqrt(np.mean(np.minimum(returns, 0) ** 2))
    assert metrics["sortino"] == pytest.approx(returns.mean() / downside * math.sqrt(per_year))
    assert metrics["max_drawdown"] == pytest.approx(-0.1)
    cagr = metrics["cagr"]
    assert isinstance(cagr, float)
    assert metrics["calmar"] == pytest.approx(cagr / 0.1)
    assert metrics["win_rate"] == pytest.approx(2 / 3)
    assert metrics["profit_factor"] == pytest.approx(29 / 5)
    assert metrics["exposure"] == pytest.approx(0.6)
    assert metrics["turnover"] == pytest.approx(500.0 / np.mean(equity))
    assert metrics["trade_count"] == 3
    assert metrics["execution_success_rate"] == pytest.approx(6 / 8)


def test_ratios_without_losses_or_volatility_are_undefined_not_infinite():
    metrics = compute_metrics(
        [0, 1], [100.0, 100.0], [False, False], [trip(5)], ExecutionCounts(1, 1, 0, 0)
    )
    assert metrics["profit_factor"] is None
    assert metrics["sharpe"] is None
    assert metrics["execution_success_rate"] is None


def test_bootstrap_is_seeded_and_brackets_the_median():
    rng = np.random.default_rng(1)
    equity = list(100 * np.cumprod(1 + rng.normal(0.001, 0.01, 500)))
    first = bootstrap_intervals(equity, samples=200, block=10, seed=7)
    again = bootstrap_intervals(equity, samples=200, block=10, seed=7)
    other = bootstrap_intervals(equity, samples=200, block=10, seed=8)
    assert first == again
    assert first != other
    r = first["total_return"]
    assert r["p05"] < r["p50"] < r["p95"]
    d = first["max_drawdown"]
    assert d["p05"] <= d["p50"] <= d["p95"] <= 0


def test_bootstrap_of_a_constant_growth_path_has_no_spread():
    equity = [100.0 * 1.01**i for i in range(50)]
    intervals = bootstrap_intervals(equity, samples=50, block=5, seed=0)
    assert intervals["total_return"]["p05"] == pytest.approx(1.01**49 - 1)
    assert intervals["total_return"]["p95"] == pytest.approx(1.01**49 - 1)
    assert intervals["max_drawdown"]["p50"] == 0.0
