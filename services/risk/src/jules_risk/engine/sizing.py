"""Position sizing: from a signal's target weight to a target position (signed quantity).

Every function is pure. ``target_quantity`` dispatches on ``SizingConfig.kind``; all kinds
except ``all_equity`` scale with the weight (a weight of 0.5 asks for half the position of
1.0); a weight of zero always gives a flat target and needs no price, ATR or volatility.
Targets are rounded toward zero to the configured step (lot or whole unit).
"""

from __future__ import annotations

import math

import numpy as np
from jules_contracts import JulesError

from jules_risk.engine.config import SizingConfig

__all__ = [
    "SizingUnavailableError",
    "all_equity_quantity",
    "annualised_volatility",
    "atr_risk_quantity",
    "fixed_fraction_quantity",
    "round_toward_zero",
    "target_quantity",
    "volatility_target_quantity",
]

_EPSILON = 1e-9


class SizingUnavailableError(JulesError, ValueError):
    """A target cannot be computed yet (no price, ATR or volatility; equity not positive)."""


def round_toward_zero(quantity: float, step: float | None) -> float:
    """Round ``quantity`` toward zero to a multiple of ``step`` (unchanged when ``None``).

    A tolerance of 1e-9 steps keeps ``0.3 / 0.1`` at 3 steps despite floating point.
    """
    if step is None:
        return quantity
    steps = math.floor(abs(quantity) / step + _EPSILON)
    return math.copysign(round(steps * step, 12), quantity) if steps else 0.0


def fixed_fraction_quantity(weight: float, equity: float, price: float, fraction: float) -> float:
    """``weight * fraction * equity / price``."""
    return weight * fraction * equity / price


def all_equity_quantity(weight: float, equity: float, price: float, step: float = 1.0) -> float:
    """``sign(weight) * floor(equity / price)`` in whole steps (weight size ignored)."""
    if weight == 0:
        return 0.0
    return round_toward_zero(math.copysign(equity / price, weight), step)


def atr_risk_quantity(
    weight: float, equity: float, atr: float, risk_fraction: float, atr_multiple: float
) -> float:
    """``weight * risk_fraction * equity / (atr * atr_multiple)``.

    A stop ``atr_multiple`` ATRs away then loses ``risk_fraction`` of equity (times the
    weight).
    """
    return weight * risk_fraction * equity / (atr * atr_multiple)


def volatility_target_quantity(
    weight: float,
    equity: float,
    price: float,
    volatility: float,
    target_volatility: float,
    max_leverage: float,
) -> float:
    """``weight * min(target_volatility / volatility, max_leverage) * equity / price``.

    A volatility of zero gives the capped leverage.
    """
    leverage = (
        max_leverage if volatility <= 0 else min(target_volatility / volatility, max_leverage)
    )
    return weight * leverage * equity / price


def annualised_volatility(returns: list[float], periods_per_year: float) -> float:
    """Sample standard deviation (``ddof=1``) of ``returns`` * ``sqrt(periods_per_year)``."""
    if len(returns) < 2:
        raise SizingUnavailableError(f"volatility needs 2 returns, got {len(returns)}")
    return float(np.std(np.asarray(returns), ddof=1) * math.sqrt(periods_per_year))


def _cap_leverage(quantity: float, equity: float, price: float, max_leverage: float) -> float:
    limit = max_leverage * equity / price
    return math.copysign(min(abs(quantity), limit), quantity)


def target_quantity(
    config: SizingConfig,
    weight: float,
    equity: float,
    price: float | None,
    *,
    atr: float | None = None,
    returns: list[float] | None = None,
) -> float:
    """Target position (signed quantity) for a target weight.

    Args:
        config: The sizing configuration.
        weight: Target weight in [-1, 1] (negative = short).
        equity: Account equity.
        price: Price to size at (the signal's reference price, else the market's).
        atr: ATR of the instrument (``atr_risk``).
        returns: Recent bar returns of the instrument (``volatility_target``); the last
            ``config.volatility_lookback`` are used and that many are required.

    Returns:
        The target position, rounded toward zero to ``config.step``.

    Raises:
        SizingUnavailableError: A needed input is missing, or equity is not positive.
    """
    if weight == 0:
        return 0.0
    if price is None:
        raise SizingUnavailableError("no reference price to size at")
    if equity <= 0:
        raise SizingUnavailableError(f"equity {equity} is not positive")
    if config.kind == "fixed_fraction":
        quantity = fixed_fraction_quantity(weight, equity, price, config.fraction)
    elif config.kind == "all_equity":
        return all_equity_quantity(weight, equity, price, config.step or 1.0)
    elif config.kind == "atr_risk":
        if atr is None or atr <= 0:
            raise SizingUnavailableError("no ATR yet for atr_risk sizing")
        quantity = atr_risk_quantity(weight, equity, atr, config.risk_fraction, config.atr_multiple)
        quantity = _cap_leverage(quantity, equity, price, config.max_leverage)
    else:
        window = (returns or [])[-config.volatility_lookback :]
        if len(window) < config.volatility_lookback:
            raise SizingUnavailableError(
                f"volatility_target needs {config.volatility_lookback} returns, got {len(window)}"
            )
        volatility = annualised_volatility(window, config.periods_per_year)
        quantity = volatility_target_quantity(
            weight, equity, price, volatility, config.target_volatility, config.max_leverage
        )
    return round_toward_zero(quantity, config.step)
