"""Tail risk of a portfolio before and after an order, from per-instrument return histories.

Scenario ``k`` revalues today's holdings with each instrument's return at the ``k``-th common
bar time: ``pnl_k = Σᵢ notionalᵢ * rᵢ,ₖ``. Only bar times every held instrument has a return
for are used (histories are aligned by event time, not by position). Holdings are net:
position plus working orders, at the reference price.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from jules_risk.engine.metrics import expected_shortfall, historical_var

__all__ = ["TailRisk", "scenario_pnl", "tail_risk"]


def _aligned_returns(
    instruments: list[str], histories: Mapping[str, Iterable[tuple[int, float]]]
) -> NDArray[np.float64]:
    series = [dict(histories.get(instrument, ())) for instrument in instruments]
    common = set(series[0])
    for returns in series[1:]:
        common &= set(returns)
    times = sorted(common)
    return np.array([[returns[t] for returns in series] for t in times], dtype=np.float64)


def scenario_pnl(
    notionals: Mapping[str, float], histories: Mapping[str, Iterable[tuple[int, float]]]
) -> NDArray[np.float64]:
    """Profit of the holdings in each historical scenario (empty without holdings)."""
    instruments = sorted(i for i, notional in notionals.items() if notional != 0)
    if not instruments:
        return np.zeros(0)
    returns = _aligned_returns(instruments, histories)
    if returns.size == 0:
        return np.zeros(0)
    return np.asarray(returns @ np.array([notionals[i] for i in instruments]), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class TailRisk:
    """Historical VaR and ES before and after an order, on the same scenarios.

    Attributes:
        observations: Scenarios used (common bar times of every instrument involved).
        var_before: VaR of the holdings without the order.
        var_after: VaR with the order.
        es_before: ES without the order.
        es_after: ES with the order.
    """

    observations: int
    var_before: float
    var_after: float
    es_before: float
    es_after: float


def tail_risk(
    before: Mapping[str, float],
    after: Mapping[str, float],
    histories: Mapping[str, Iterable[tuple[int, float]]],
    *,
    var_confidence: float,
    es_confidence: float,
) -> TailRisk:
    """VaR and ES of two sets of holdings (notional per instrument) on common scenarios."""
    instruments = sorted(i for i in set(before) | set(after) if before.get(i) or after.get(i))
    if not instruments:
        return TailRisk(0, 0.0, 0.0, 0.0, 0.0)
    returns = _aligned_returns(instruments, histories)
    if returns.size == 0:
        return TailRisk(0, 0.0, 0.0, 0.0, 0.0)
    pnl_before = returns @ np.array([before.get(i, 0.0) for i in instruments])
    pnl_after = returns @ np.array([after.get(i, 0.0) for i in instruments])
    return TailRisk(
        observations=int(returns.shape[0]),
        var_before=historical_var(pnl_before, var_confidence),
        var_after=historical_var(pnl_after, var_confidence),
        es_before=expected_shortfall(pnl_before, es_confidence),
        es_after=expected_shortfall(pnl_after, es_confidence),
    )
