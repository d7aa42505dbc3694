"""Run metrics and Monte Carlo intervals, against hand computations (empyrical: its own module)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from jules_backtest.metrics import (
    MIN_DAYS,
    PERIODS_PER_YEAR,
    YEAR_NS,
    ExecutionCounts,
    bar_sharpe,
    bootstrap_intervals,
    compute_metrics,
    daily_returns,
    max_drawdown,
)
from jules_backtest.trades import RoundTrip

ANNUALISED = ("cagr", "annual_volatility", "sharpe", "sortino", "calmar")


def trip(pnl: float, fees: float = 0.0) -> RoundTrip:
    return RoundTrip("A.X", "LONG", 1.0, 0, 100.0, 1, 100.0 + pnl, pnl, fees)


def test_max_drawdown_of_a_known_curve():
    assert max_drawdown(np.array([100.0, 120.0, 90.0, 130.0, 65.0])) == pytest.approx(-0.5)
    assert max_drawdown(np.array([1.0, 2.0, 3.0])) == 0.0


DAY = 86_400 * 10**9
NOON = DAY // 2


def hand_run(**options: int) -> dict[str, float | int | None]:
    """Five points at noon of five days: daily returns 0, +10 %, -10 %, +10 %, +10 %."""
    times = [i * DAY + NOON for i in range(5)]
    equity = [100.0, 110.0, 99.0, 108.9, 119.79]
    counts = ExecutionCounts(submitted=10, denied=2, filled=6, traded_notional=500.0)
    flags = [False, True, True, True, False]
    trips = [trip(10), trip(-5), trip(20, 1)]
    return compute_metrics(times, equity, flags, trips, counts, **options)


def test_metrics_of_a_hand_computed_run():
    metrics = hand_run(min_days=5)

    returns = np.array([0.0, 0.1, -0.1, 0.1, 0.1])
    assert metrics["days"] == 5
    assert metrics["min_days"] == 5
    assert metrics["periods_per_year"] == PERIODS_PER_YEAR == 365
    assert metrics["total_return"] == pytest.approx(0.1979)
    assert metrics["cagr"] == pytest.approx(1.1979 ** (365 / 5) - 1)
    std = returns.std(ddof=1)
    assert metrics["annual_volatility"] == pytest.approx(std * math.sqrt(365))
    assert metrics["sharpe"] == pytest.approx(returns.mean() / std * math.sqrt(365))
    downside = math.sqrt(np.mean(np.minimum(returns, 0) ** 2))
    assert metrics["sortino"] == pytest.approx(returns.mean() / downside * math.sqrt(365))
    assert metrics["max_drawdown"] == pytest.approx(-0.1)
    cagr = metrics["cagr"]
    assert isinstance(cagr, float)
    assert metrics["calmar"] == pytest.approx(cagr / 0.1)
    assert metrics["win_rate"] == pytest.approx(2 / 3)
    assert metrics["profit_factor"] == pytest.approx(29 / 5)
    assert metrics["exposure"] == pytest.approx(0.6)
    assert metrics["turnover"] == pytest.approx(500.0 / np.mean([100, 110, 99, 108.9, 119.79]))
    assert metrics["trade_count"] == 3
    assert metrics["execution_success_rate"] == pytest.approx(6 / 8)
    assert metrics["periods"] == 5


def test_a_run_shorter_than_the_minimum_has_no_annualised_figures():
    assert MIN_DAYS == 30
    metrics = hand_run()

    for name in ("cagr", "annual_volatility", "sharpe", "sortino", "calmar"):
        assert metrics[name] is None, name
    assert metrics["days"] == 5
    assert metrics["min_days"] == MIN_DAYS
    assert metrics["total_return"] == pytest.approx(0.1979)
    assert metrics["max_drawdown"] == pytest.approx(-0.1)
    assert metrics == {**hand_run(min_days=5), **dict.fromkeys(ANNUALISED), "min_days": 30}


def test_daily_closes_end_at_midnight_and_repeat_over_days_without_points():
    # 23:00 day 0, midnight ending day 0, 01:00 day 1, nothing on day 2, 12:00 day 3
    times = [DAY - 3_600 * 10**9, DAY, DAY + 3_600 * 10**9, 3 * DAY + NOON]
    equity = [100.0, 102.0, 99.96, 104.958]

    returns = daily_returns(times, equity)

    np.testing.assert_allclose(returns, [0.02, -0.02, 0.0, 0.05])
    shuffled = daily_returns(times[::-1], equity[::-1])
    np.testing.assert_allclose(shuffled, returns)
    assert daily_returns([], []).size == 0


def test_bar_sharpe_annualises_by_the_bars_density_in_event_time():
    returns = np.array([0.01, -0.005, 0.002, 0.004])
    elapsed = YEAR_NS / 1000  # four bars in a thousandth of a year: 4000 a year
    expected = returns.mean() / returns.std(ddof=1) * math.sqrt(4000)

    assert bar_sharpe(returns, elapsed) == pytest.approx(expected)
    assert bar_sharpe(np.array([0.01, 0.01]), elapsed) is None
    assert bar_sharpe(returns[:1], elapsed) is None
    assert bar_sharpe(returns, 0) is None


def test_ratios_without_losses_or_volatility_are_undefined_not_infinite():
    times = [i * DAY + NOON for i in range(40)]
    metrics = compute_metrics(
        times, [100.0] * 40, [False] * 40, [trip(5)], ExecutionCounts(1, 1, 0, 0)
    )
    assert metrics["days"] == 40
    assert metrics["profit_factor"] is None
    assert metrics["sharpe"] is None
    assert metrics["sortino"] is None
    assert metrics["calmar"] is None
    assert metrics["cagr"] == 0.0
    assert metrics["annual_volatility"] == 0.0
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
