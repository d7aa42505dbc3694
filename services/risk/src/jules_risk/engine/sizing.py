"""Position sizing: from a signal's target weight to a target position (signed quantity).

Every function is pure. ``target_quantity`` dispatches on ``SizingConfig.kind``; all kinds
except ``all_equity`` scale with the weight (a weight of 0.5 asks for half the position of
1.0); a weight of zero always gives a flat target and needs no price, ATR or volatility.
Targets are rounded toward zero to a step: the configured one (``SizingConfig.lot_size`` or
``whole_units``), else the instrument's lot size from its ``InstrumentSpec``. With a spec, a
unit of quantity is worth ``price * multiplier`` (and an ATR ``atr * multiplier``).

With ``SizingConfig.at`` ``fill``, the target computed here is an estimate at the decision;
``size_at_fill`` says how the order-router sizes the order again at the fill price.
"""

from __future__ import annotations

import math

import numpy as np
from jules_contracts import JulesError
from jules_contracts.instruments import InstrumentSpec, round_to_increment
from jules_contracts.orders import SizeAtFill

from jules_risk.engine.config import SizingConfig
from jules_risk.engine.market import MarketState

__all__ = [
    "SizingUnavailableError",
    "all_equity_quantity",
    "annualised_volatility",
    "atr_risk_quantity",
    "fixed_fraction_quantity",
    "round_toward_zero",
    "signal_target",
    "size_at_fill",
    "sizing_step",
    "target_quantity",
    "tradable_delta",
    "volatility_target_quantity",
]

_EPSILON = 1e-9
_DUST = 1e-12
"""Relative size below which an order is float dust (nothing to trade)."""


class SizingUnavailableError(JulesError, ValueError):
    """A target cannot be computed yet (no price, ATR or volatility; equity not positive)."""


def round_toward_zero(quantity: float, step: float | None) -> float:
    """Round ``quantity`` toward zero to a multiple of ``step`` (unchanged when ``None``).

    A tolerance of 1e-9 steps keeps ``0.3 / 0.1`` at 3 steps despite floating point.
    """
    if step is None:
        return quantity
    rounded = round_to_increment(abs(quantity), step)
    return math.copysign(rounded, quantity) if rounded else 0.0


def sizing_step(config: SizingConfig, spec: InstrumentSpec | None) -> float | None:
    """The step targets are rounded to: the configured one, else the instrument's lot size.

    A run's ``lot_size`` or ``whole_units`` is a deliberate choice for that run, so it wins
    over the instrument table; it should then be a multiple of the instrument's lot (orders
    off the instrument's lot are denied ``INVALID_ORDER``).
    """
    if config.step is not None or spec is None:
        return config.step
    return spec.lot_size


def size_at_fill(
    config: SizingConfig, weight: float, spec: InstrumentSpec | None
) -> SizeAtFill | None:
    """How the router sizes a signal's order at the fill, or ``None`` when sized at decision.

    The position wanted after the fill, as a signed fraction of equity: ``weight * fraction``
    (``fixed_fraction``) or ``sign(weight)`` (``all_equity``, in whole units or lots); the
    step is ``sizing_step`` (whole units for ``all_equity`` without one), as at the decision.
    """
    if config.at != "fill":
        return None
    step = sizing_step(config, spec)
    if config.kind == "all_equity":
        fraction = 0.0 if weight == 0 else math.copysign(1.0, weight)
        return SizeAtFill(fraction=fraction, step=step or 1.0)
    return SizeAtFill(fraction=weight * config.fraction, step=step)


def tradable_delta(
    config: SizingConfig, spec: InstrumentSpec | None, target: float, current: float
) -> float:
    """The order that moves ``current`` toward ``target``, or 0 when there is none to send.

    The difference is rounded toward zero to ``sizing_step``; it is 0 when that leaves float
    dust, or an order below the instrument's ``min_quantity`` that would not close the whole
    of ``current`` (an order closing a position may be smaller than the minimum).

    Args:
        config: The sizing configuration.
        spec: The instrument's spec, if the instrument table has one.
        target: The target position.
        current: The position plus the working orders' net quantity.
    """
    delta = round_toward_zero(target - current, sizing_step(config, spec))
    if abs(delta) <= _DUST * max(1.0, abs(target)):
        return 0.0
    closes = target == 0 or abs(current + delta) <= _DUST * max(1.0, abs(current))
    if spec is not None and not closes and abs(delta) < spec.smallest_order * (1 - _EPSILON):
        return 0.0
    return delta


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
    spec: InstrumentSpec | None = None,
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
        spec: The instrument's spec: its multiplier values a unit, its lot size is the step
            when the configuration sets none.

    Returns:
        The target position, rounded toward zero to ``sizing_step(config, spec)``.

    Raises:
        SizingUnavailableError: A needed input is missing, or equity is not positive.
    """
    if weight == 0:
        return 0.0
    if price is None:
        raise SizingUnavailableError("no reference price to size at")
    if equity <= 0:
        raise SizingUnavailableError(f"equity {equity} is not positive")
    step = sizing_step(config, spec)
    if spec is not None:  # the value of one unit of quantity per unit of price (and of ATR)
        price *= spec.multiplier
        atr = None if atr is None else atr * spec.multiplier
    if config.kind == "fixed_fraction":
        quantity = fixed_fraction_quantity(weight, equity, price, config.fraction)
    elif config.kind == "all_equity":
        return all_equity_quantity(weight, equity, price, step or 1.0)
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
    return round_toward_zero(quantity, step)


def signal_target(
    config: SizingConfig,
    weight: float,
    equity: float,
    price: float | None,
    market: MarketState | None,
    spec: InstrumentSpec | None,
) -> float:
    """``target_quantity`` with what the engine knows of the instrument's market.

    Its ATR, and for ``volatility_target`` its recent returns (``market`` ``None``: none).
    """
    returns = None
    if market is not None and config.kind == "volatility_target":
        returns = market.recent_returns(config.volatility_lookback)
    atr = market.atr if market is not None else None
    return target_quantity(config, weight, equity, price, atr=atr, returns=returns, spec=spec)
