"""Portfolio risk measures: pure numpy functions, usable as limits and in reports.

Conventions:

* ``pnl`` samples are profits (negative = loss) per period; VaR and ES are returned as
  positive losses (a portfolio that never loses has VaR 0 or below).
* Historical VaR and ES at confidence ``c`` use the ``k = ceil(n * (1 - c))`` worst
  observations of ``n``: VaR is the k-th largest loss, ES the mean of the k largest losses.
  (With 100 observations at 95 %, the 5 worst.)
* Parametric VaR and ES assume Gaussian profits with the sample mean and the sample standard
  deviation (``ddof=1``).
* Drawdowns are fractions of the running peak (``1 - equity / peak``), in [0, 1) for a
  positive equity curve.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "adv_participation",
    "concentration",
    "drawdown_series",
    "drawdown_velocity",
    "expected_shortfall",
    "historical_var",
    "kyle_lambda",
    "max_drawdown",
    "parametric_es",
    "parametric_var",
    "tail_count",
    "turnover",
    "ulcer_index",
]

_EPSILON = 1e-9


def _vector(values: ArrayLike, name: str, *, min_size: int = 1) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size < min_size:
        raise ValueError(f"{name} needs at least {min_size} observations, got {array.size}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def tail_count(n: int, confidence: float) -> int:
    """Number of worst observations in the tail: ``max(1, ceil(n * (1 - confidence)))``.

    A tiny tolerance keeps ``100 * (1 - 0.95)`` at 5 despite floating point.
    """
    _check_confidence(confidence)
    return max(1, math.ceil(n * (1 - confidence) - _EPSILON))


def _worst_losses(pnl: ArrayLike, confidence: float) -> NDArray[np.float64]:
    losses = -_vector(pnl, "pnl")
    k = tail_count(losses.size, confidence)
    return np.sort(losses)[::-1][:k]


def historical_var(pnl: ArrayLike, confidence: float = 0.99) -> float:
    """Historical value at risk: the k-th largest loss (see the module conventions).

    Args:
        pnl: Profit per period (or returns).
        confidence: Confidence level in (0, 1).

    Returns:
        VaR as a positive loss.
    """
    return float(_worst_losses(pnl, confidence)[-1])


def expected_shortfall(pnl: ArrayLike, confidence: float = 0.975) -> float:
    """Historical expected shortfall: the mean of the k largest losses.

    Args:
        pnl: Profit per period (or returns).
        confidence: Confidence level in (0, 1).

    Returns:
        ES as a positive loss; never below the historical VaR at the same confidence.
    """
    return float(np.mean(_worst_losses(pnl, confidence)))


def parametric_var(pnl: ArrayLike, confidence: float = 0.99) -> float:
    """Gaussian value at risk: ``z_c * sigma - mu`` with the sample mean and deviation.

    Args:
        pnl: Profit per period (at least two observations).
        confidence: Confidence level in (0, 1).

    Returns:
        VaR as a positive loss.
    """
    _check_confidence(confidence)
    sample = _vector(pnl, "pnl", min_size=2)
    z = NormalDist().inv_cdf(confidence)
    return float(z * np.std(sample, ddof=1) - np.mean(sample))


def parametric_es(pnl: ArrayLike, confidence: float = 0.975) -> float:
    """Gaussian expected shortfall: ``sigma * pdf(z_c) / (1 - c) - mu``.

    Args:
        pnl: Profit per period (at least two observations).
        confidence: Confidence level in (0, 1).

    Returns:
        ES as a positive loss.
    """
    _check_confidence(confidence)
    sample = _vector(pnl, "pnl", min_size=2)
    normal = NormalDist()
    density = normal.pdf(normal.inv_cdf(confidence))
    return float(np.std(sample, ddof=1) * density / (1 - confidence) - np.mean(sample))


def drawdown_series(equity: ArrayLike) -> NDArray[np.float64]:
    """Drawdown at each point: ``1 - equity / running peak`` (0 at a new peak).

    Args:
        equity: Equity curve; every value must be positive.

    Returns:
        The drawdowns, same length as ``equity``.
    """
    curve = _vector(equity, "equity")
    if np.any(curve <= 0):
        raise ValueError("equity must be positive to measure drawdowns")
    return np.asarray(1.0 - curve / np.maximum.accumulate(curve), dtype=np.float64)


def max_drawdown(equity: ArrayLike) -> float:
    """Largest drawdown of an equity curve, as a fraction of the peak before it."""
    return float(np.max(drawdown_series(equity)))


def drawdown_velocity(equity: ArrayLike, window: int = 1) -> float:
    """How fast the drawdown is deepening: its change per observation over ``window``.

    ``(dd[-1] - dd[-1 - window]) / window``; positive while equity falls from its peak,
    negative while it recovers. With fewer than ``window + 1`` points, the whole curve is used.

    Args:
        equity: Equity curve (positive values).
        window: Number of observations to look back (at least 1).

    Returns:
        Drawdown change per observation (0 for a single point).
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    drawdowns = drawdown_series(equity)
    span = min(window, drawdowns.size - 1)
    if span == 0:
        return 0.0
    return float((drawdowns[-1] - drawdowns[-1 - span]) / span)


def ulcer_index(equity: ArrayLike) -> float:
    """Ulcer index (Martin): root mean square of the percentage drawdowns.

    Returns:
        ``sqrt(mean((100 * dd)²))``, in percent.
    """
    percent = 100.0 * drawdown_series(equity)
    return float(np.sqrt(np.mean(percent**2)))


def turnover(traded_notionals: ArrayLike, equity: ArrayLike) -> float:
    """Turnover: total absolute traded notional divided by average equity.

    Args:
        traded_notionals: Notional of each trade (sign ignored).
        equity: Equity curve over the same period (its mean must be positive).

    Returns:
        How many times the average equity was traded.
    """
    traded = np.abs(np.asarray(traded_notionals, dtype=np.float64).reshape(-1))
    average = float(np.mean(_vector(equity, "equity")))
    if average <= 0:
        raise ValueError(f"average equity must be positive, got {average}")
    return float(np.sum(traded) / average)


def concentration(position_values: ArrayLike) -> float:
    """Herfindahl index of absolute position weights: ``Σ wᵢ²`` with ``wᵢ = |vᵢ| / Σ|vⱼ|``.

    1 for a single position, ``1/n`` for ``n`` equal positions, 0 for no exposure.
    """
    values = np.abs(np.asarray(position_values, dtype=np.float64).reshape(-1))
    total = float(np.sum(values))
    if total == 0:
        return 0.0
    weights = values / total
    return float(np.sum(weights**2))


def adv_participation(quantity: float, daily_volumes: Sequence[float] | ArrayLike) -> float:
    """Order quantity as a fraction of the average daily volume (ADV).

    Args:
        quantity: Order quantity (sign ignored).
        daily_volumes: Traded volume of each past day.

    Returns:
        ``|quantity| / mean(daily_volumes)``.
    """
    adv = float(np.mean(_vector(daily_volumes, "daily_volumes")))
    if adv <= 0:
        raise ValueError(f"average daily volume must be positive, got {adv}")
    return abs(quantity) / adv


def kyle_lambda(price_changes: ArrayLike, signed_volumes: ArrayLike) -> float:
    """Kyle's lambda: the price impact per unit of signed volume.

    The ordinary least-squares slope of ``dp = a + lambda * q`` where ``q`` is the signed volume
    (buyer-initiated positive) over the same intervals: ``lambda = cov(dp, q) / var(q)``. A larger
    lambda means a thinner market; ``lambda * q`` estimates the price impact of trading ``q``.

    Args:
        price_changes: Price change of each interval.
        signed_volumes: Net signed volume of each interval.

    Returns:
        The slope λ (price units per unit of volume).
    """
    dp = _vector(price_changes, "price_changes", min_size=2)
    q = _vector(signed_volumes, "signed_volumes", min_size=2)
    if dp.size != q.size:
        raise ValueError(f"{dp.size} price changes but {q.size} signed volumes")
    q_centered = q - np.mean(q)
    variance = float(np.dot(q_centered, q_centered))
    if variance == 0:
        raise ValueError("signed volume does not vary: lambda is undefined")
    return float(np.dot(q_centered, dp - np.mean(dp)) / variance)
