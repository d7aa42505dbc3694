"""Performance metrics of a run and Monte Carlo bootstrap confidence intervals.

Returns are per bar of the equity curve. Annualisation uses the run's own density of bars in
event time (bars per year = number of returns / elapsed years), so a 24/7 crypto run and a
session-hours FX run are both annualised by what they actually contain.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from jules_backtest.trades import RoundTrip

__all__ = ["ExecutionCounts", "bootstrap_intervals", "compute_metrics", "max_drawdown"]

YEAR_NS = 365.25 * 24 * 3600 * 1e9


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


def compute_metrics(
    times: Sequence[int],
    equity: Sequence[float],
    exposure_flags: Sequence[bool],
    trips: Sequence[RoundTrip],
    counts: ExecutionCounts,
) -> dict[str, float | int | None]:
    """Compute the metrics of ``metrics.json``.

    Args:
        times: Event time of each equity point (ns).
        equity: Equity at each point.
        exposure_flags: Whether any position was open at each point.
        trips: Closed and open round trips.
        counts: Order flow counts.

    Returns:
        Metrics by name; ``None`` where a ratio is undefined (no losses, no volatility).
    """
    curve = np.asarray(equity, dtype=np.float64)
    returns = curve[1:] / curve[:-1] - 1.0 if curve.size > 1 else np.empty(0)
    years = (times[-1] - times[0]) / YEAR_NS if len(times) > 1 else 0.0
    total_return = float(curve[-1] / curve[0] - 1.0) if curve.size else 0.0
    cagr = (1.0 + total_return) ** (1.0 / years) - 1.0 if years > 0 and total_return > -1 else None
    per_year = returns.size / years if years > 0 else 0.0
    std = float(np.std(returns, ddof=1)) if returns.size > 1 else 0.0
    downside = float(np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2))) if returns.size else 0.0
    mean = float(np.mean(returns)) if returns.size else 0.0
    mdd = max_drawdown(curve)
    closed = [t for t in trips if t.exit_time is not None]
    wins = [t.net_pnl for t in closed if t.net_pnl > 0]
    losses = [t.net_pnl for t in closed if t.net_pnl <= 0]
    executable = counts.submitted - counts.denied
    return {
        "total_return": total_return,
        "cagr": cagr,
        "sharpe": _ratio(mean * math.sqrt(per_year), std),
        "sortino": _ratio(mean * math.sqrt(per_year), downside),
        "calmar": _ratio(cagr, abs(mdd)) if cagr is not None else None,
        "max_drawdown": mdd,
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
