"""Performance metrics of a run and Monte Carlo bootstrap confidence intervals.

Annualised figures (``cagr``, ``annual_volatility``, ``sharpe``, ``sortino``, ``calmar``) come
from daily returns. The equity curve is resampled to UTC calendar-day closes (the last equity
point of each day; a day without points repeats the previous close), the first day's return
is measured from the first equity point, and a year is ``PERIODS_PER_YEAR`` = 365 days. Every
calendar day counts, traded or not, so the basis needs no instrument calendar: a 24/7 crypto
run has a return every day, and a session market's weekend or holiday is a day of zero return,
which annualised over 365 calendar days gives the same volatility and Sharpe ratio as its
trading days annualised over the ~261 weekdays of a year. The definitions are empyrical's
(``annual_return``, ``annual_volatility``, ``sharpe_ratio`` without a risk-free rate,
``sortino_ratio`` with a required return of 0, ``calmar_ratio`` with the drawdown of the daily
closes) with ``annualization=365``, and the tests hold them to it. A run with fewer than
``MIN_DAYS`` daily returns reports them as ``None`` (n/a): compounding or scaling a few days to
a year says nothing about a strategy (a two-day loss of 13 % is a CAGR of -100 %). ``days``,
``min_days`` and ``periods_per_year`` in ``metrics.json`` record that basis.

The other figures (total return, max drawdown, win rate, profit factor, exposure, turnover,
counts) are of the whole run, every equity point, and need no minimum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from jules_backtest.trades import RoundTrip

__all__ = [
    "MIN_DAYS",
    "PERIODS_PER_YEAR",
    "YEAR_NS",
    "ExecutionCounts",
    "annualised_metrics",
    "bar_sharpe",
    "bootstrap_intervals",
    "compute_metrics",
    "daily_returns",
    "max_drawdown",
]

YEAR_NS = 365.25 * 24 * 3600 * 1e9
"""A Julian year in nanoseconds (the event-time density of ``bar_sharpe``)."""
DAY_NS = 86_400 * 1_000_000_000
"""A UTC calendar day in nanoseconds."""
PERIODS_PER_YEAR = 365
"""Daily returns per year of the annualised figures: calendar days (module docstring)."""
MIN_DAYS = 30
"""Fewest daily returns for which the annualised figures are reported; below, ``None``."""


@dataclass(frozen=True)
class ExecutionCounts:
    """Order flow counts of a run."""

    submitted: int
    denied: int
    filled: int
    traded_notional: float


def max_drawdown(equity: NDArray[np.float64]) -> float:
    """Largest peak-to-trough fall of an equity curve, as a negative fraction (0 if none)."""
    if equity.size == 0:
        return 0.0
    peaks = np.maximum.accumulate(equity)
    return float(np.min(equity / peaks - 1.0))


def _ratio(numerator: float, denominator: float) -> float | None:
    if denominator == 0 or not math.isfinite(denominator):
        return None
    value = numerator / denominator
    return value if math.isfinite(value) else None


def daily_returns(times: Sequence[int], equity: Sequence[float]) -> NDArray[np.float64]:
    """Returns of an equity curve's UTC calendar-day closes.

    Args:
        times: Event time of each equity point (ns since the epoch, UTC).
        equity: Equity at each point.

    Returns:
        One return per calendar day from the first point's day to the last point's, both
        included: the day's last equity over the previous day's (the first day's over the
        first point; a day without points repeats the previous close, a return of 0). A day
        runs from after midnight to midnight included, as event times are bar closes: the
        bar closing at midnight is the day's last.
    """
    curve = np.asarray(equity, dtype=np.float64)
    if curve.size == 0:
        return np.empty(0)
    stamps = np.asarray(times, dtype=np.int64)
    order = np.argsort(stamps, kind="stable")
    days = (stamps[order] - 1) // DAY_NS  # a day is (00:00, 24:00]: midnight closes it
    curve = curve[order]
    every_day = np.arange(days[0], days[-1] + 1)
    closes = curve[np.searchsorted(days, every_day, side="right") - 1]
    previous = np.concatenate((curve[:1], closes[:-1]))
    result: NDArray[np.float64] = closes / previous - 1.0
    return result


def annualised_metrics(
    returns: NDArray[np.float64],
    *,
    periods_per_year: float = PERIODS_PER_YEAR,
    min_periods: int = MIN_DAYS,
) -> dict[str, float | None]:
    """Annual return (CAGR), annual volatility, Sharpe, Sortino and Calmar ratios of returns.

    empyrical's definitions with ``annualization=periods_per_year``: no risk-free rate, a
    required return of 0 for the Sortino ratio, the Calmar ratio over the drawdown of the
    compounded returns. A figure is ``None`` where empyrical's is NaN or infinite (no
    dispersion, no downside, no drawdown, a non-positive ending value), and every figure is
    ``None`` with fewer than ``min_periods`` returns (or fewer than two).

    Args:
        returns: Periodic returns, oldest first.
        periods_per_year: Returns per year.
        min_periods: Fewest returns for which the figures are given.
    """
    names = ("cagr", "annual_volatility", "sharpe", "sortino", "calmar")
    if returns.size < max(min_periods, 2):
        return dict.fromkeys(names)
    growth = np.concatenate(([1.0], np.cumprod(1.0 + returns)))
    ending = float(growth[-1])
    cagr = ending ** (periods_per_year / returns.size) - 1.0 if ending >= 0 else None
    mean = float(np.mean(returns))
    std = float(np.std(returns, ddof=1))
    # identical returns have no dispersion, whatever residue the float mean leaves in std
    dispersion = 0.0 if np.max(returns) == np.min(returns) else std
    downside = float(np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2)))
    drawdown = max_drawdown(growth)
    root = math.sqrt(periods_per_year)
    return {
        "cagr": cagr,
        "annual_volatility": std * root if math.isfinite(std) else None,
        "sharpe": _ratio(mean * root, dispersion),
        "sortino": _ratio(mean * periods_per_year, downside * root),
        "calmar": _ratio(cagr, abs(drawdown)) if cagr is not None and drawdown < 0 else None,
    }


def bar_sharpe(returns: NDArray[np.float64], elapsed_ns: float) -> float | None:
    """Sharpe ratio of per-bar returns, annualised by their density in event time.

    Bars per year are the returns' count over the elapsed years, so any bar length and
    trading calendar is annualised by what the window holds. For windows too short for the
    daily figures (a walk-forward test window of hours or days); its standard error is about
    ``1 / sqrt(years)``, e.g. +-7 for a week.

    Args:
        returns: Per-bar returns.
        elapsed_ns: Event time the returns span (ns).

    Returns:
        The ratio, ``None`` with fewer than two returns, no dispersion or no elapsed time.
    """
    std = float(np.std(returns, ddof=1)) if returns.size > 1 else 0.0
    if std <= 0 or elapsed_ns <= 0:
        return None
    value = float(np.mean(returns)) / std * math.sqrt(returns.size / (elapsed_ns / YEAR_NS))
    return value if math.isfinite(value) else None


def compute_metrics(
    times: Sequence[int],
    equity: Sequence[float],
    exposure_flags: Sequence[bool],
    trips: Sequence[RoundTrip],
    counts: ExecutionCounts,
    *,
    min_days: int = MIN_DAYS,
) -> dict[str, float | int | None]:
    """Compute the metrics of ``metrics.json``.

    Args:
        times: Event time of each equity point (ns since the epoch, UTC).
        equity: Equity at each point.
        exposure_flags: Whether any position was open at each point.
        trips: Closed and open round trips.
        counts: Order flow counts.
        min_days: Fewest daily returns for the annualised figures (module docstring).

    Returns:
        Metrics by name; ``None`` where a figure is undefined (no losses, no volatility, a
        run shorter than ``min_days`` for the annualised ones).
    """
    curve = np.asarray(equity, dtype=np.float64)
    total_return = float(curve[-1] / curve[0] - 1.0) if curve.size else 0.0
    daily = daily_returns(times, equity)
    annual = annualised_metrics(daily, min_periods=min_days)
    closed = [t for t in trips if t.exit_time is not None]
    wins = [t.net_pnl for t in closed if t.net_pnl > 0]
    losses = [t.net_pnl for t in closed if t.net_pnl <= 0]
    executable = counts.submitted - counts.denied
    return {
        "total_return": total_return,
        **annual,
        "max_drawdown": max_drawdown(curve),
        "win_rate": len(wins) / len(closed) if closed else None,
        "profit_factor": _ratio(sum(wins), abs(sum(losses))),
        "exposure": float(np.mean(exposure_flags)) if len(exposure_flags) else 0.0,
        "turnover": _ratio(counts.traded_notional, float(np.mean(curve))) if curve.size else None,
        "trade_count": len(closed),
        "orders_submitted": counts.submitted,
        "orders_denied": counts.denied,
        "orders_filled": counts.filled,
        "execution_success_rate": counts.filled / executable if executable > 0 else None,
        "start_equity": float(curve[0]) if curve.size else None,
        "end_equity": float(curve[-1]) if curve.size else None,
        "periods": int(curve.size),
        "days": int(daily.size),
        "min_days": min_days,
        "periods_per_year": PERIODS_PER_YEAR,
    }


def bootstrap_intervals(
    equity: Sequence[float],
    *,
    samples: int,
    block: int,
    seed: int,
    levels: tuple[float, ...] = (0.05, 0.5, 0.95),
) -> dict[str, dict[str, float]]:
    """Moving-block bootstrap of the per-bar returns: quantiles of total return and max drawdown.

    Blocks of ``block`` consecutive returns are drawn with replacement (seeded) until a path as
    long as the run is built, which keeps short-range dependence that an i.i.d. draw would lose.
    """
    curve = np.asarray(equity, dtype=np.float64)
    returns = curve[1:] / curve[:-1] - 1.0
    if returns.size == 0 or samples < 1:
        return {}
    block = max(1, min(block, returns.size))
    rng = np.random.default_rng(seed)
    starts_count = returns.size - block + 1
    blocks_needed = math.ceil(returns.size / block)
    total = np.empty(samples)
    drawdown = np.empty(samples)
    offsets = np.arange(block)
    for i in range(samples):
        starts = rng.integers(0, starts_count, size=blocks_needed)
        path = returns[(starts[:, None] + offsets).ravel()[: returns.size]]
        growth = np.cumprod(1.0 + path)
        total[i] = growth[-1] - 1.0
        drawdown[i] = max_drawdown(np.concatenate(([1.0], growth)))
    return {
        "total_return": {f"p{round(q * 100):02d}": float(np.quantile(total, q)) for q in levels},
        "max_drawdown": {f"p{round(q * 100):02d}": float(np.quantile(drawdown, q)) for q in levels},
    }
