"""Portfolio risk figures of the engine's current state, for dashboards and alerts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from jules_risk.engine.book import ExposureBook
from jules_risk.engine.config import RiskLimits
from jules_risk.engine.halts import LossMonitor
from jules_risk.engine.metrics import (
    concentration,
    drawdown_velocity,
    expected_shortfall,
    historical_var,
    max_drawdown,
    turnover,
    ulcer_index,
)
from jules_risk.engine.tail import scenario_pnl

__all__ = ["PortfolioMetrics", "compute_portfolio_metrics"]


@dataclass(frozen=True, slots=True)
class PortfolioMetrics:
    """Risk figures of the account now (``None`` where there is not enough data).

    Attributes:
        equity: Last equity seen.
        peak_equity: Highest equity since start (or since the last release).
        drawdown: Current drawdown from the peak (fraction).
        max_drawdown: Largest drawdown of the kept equity curve.
        drawdown_velocity: Drawdown change per snapshot over the velocity window.
        ulcer_index: Ulcer index of the kept equity curve (percent).
        daily_loss: Loss since the start of the UTC day.
        concentration: Herfindahl index of the net holdings' notional weights.
        turnover: Traded notional (fills seen) over the average kept equity.
        var: Historical VaR of the net holdings at ``limits.var_confidence``.
        es: Historical ES of the net holdings at ``limits.es_confidence``.
        observations: Scenarios behind VaR and ES.
        daily_loss_halted: Whether the daily-loss halt is in force.
        drawdown_halted: Whether the drawdown halt is in force.
    """

    equity: float | None
    peak_equity: float | None
    drawdown: float
    max_drawdown: float | None
    drawdown_velocity: float | None
    ulcer_index: float | None
    daily_loss: float
    concentration: float
    turnover: float | None
    var: float | None
    es: float | None
    observations: int
    daily_loss_halted: bool
    drawdown_halted: bool


def compute_portfolio_metrics(
    loss: LossMonitor,
    book: ExposureBook,
    holdings: Mapping[str, float],
    histories: Mapping[str, Iterable[tuple[int, float]]],
    limits: RiskLimits,
    *,
    velocity_window: int = 1,
) -> PortfolioMetrics:
    """Compute ``PortfolioMetrics`` from the engine's state.

    Args:
        loss: Equity curve and halts.
        book: Fills seen (for turnover).
        holdings: Net notional per instrument.
        histories: Bar returns per instrument, stamped with their times.
        limits: Confidence levels of VaR and ES.
        velocity_window: Snapshots the drawdown velocity looks back.
    """
    curve = list(loss.equity_curve)
    positive = bool(curve) and min(curve) > 0
    pnl = scenario_pnl(holdings, histories)
    has_tail = pnl.size > 0
    return PortfolioMetrics(
        equity=loss.last_equity,
        peak_equity=loss.peak_equity,
        drawdown=loss.drawdown,
        max_drawdown=max_drawdown(curve) if positive else None,
        drawdown_velocity=drawdown_velocity(curve, velocity_window) if positive else None,
        ulcer_index=ulcer_index(curve) if positive else None,
        daily_loss=loss.daily_loss,
        concentration=concentration(list(holdings.values())),
        turnover=turnover([book.traded_notional], curve) if positive else None,
        var=historical_var(pnl, limits.var_confidence) if has_tail else None,
        es=expected_shortfall(pnl, limits.es_confidence) if has_tail else None,
        observations=int(pnl.size),
        daily_loss_halted=loss.daily_halt_day is not None and loss.daily_halt_day == loss.day,
        drawdown_halted=loss.drawdown_halted,
    )
