"""Configuration of the risk engine: limits, sizing and stops.

Every class is a frozen pydantic model that refuses unknown fields, NaN, infinity, strings
where numbers belong and booleans where numbers belong, so a bad configuration fails at
construction and the error names the field (``limits.max_order_notional``). ``None`` switches
an optional control off. A choice is read in any case (``sizing.kind: ATR_Risk`` is
``atr_risk``). Durations are integer nanoseconds of event time.

A running engine changes one setting at a time with ``with_change`` (the ``ChangeConfig``
command); the new value is validated exactly as at start-up.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Self

from jules_contracts import JulesError
from jules_contracts.any_case import AnyCase
from jules_contracts.base import Identifier, InstrumentId
from pydantic import (
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    Strict,
    ValidationError,
    model_serializer,
    model_validator,
)

__all__ = [
    "CHANGEABLE_SECTIONS",
    "ConfigChangeError",
    "RiskConfig",
    "RiskControls",
    "RiskLimits",
    "SizingConfig",
    "SizingKind",
    "SizingTime",
    "StopsConfig",
    "with_change",
]

PositiveNumber = Annotated[float, Strict(), AllowInfNan(False), Field(gt=0)]
"""A finite number > 0 (an int is accepted and becomes a float)."""

Fraction = Annotated[float, Strict(), AllowInfNan(False), Field(gt=0, le=1)]
"""A finite number in (0, 1]."""

OpenFraction = Annotated[float, Strict(), AllowInfNan(False), Field(gt=0, lt=1)]
"""A finite number in (0, 1)."""

PositiveInt = Annotated[int, Strict(), Field(gt=0)]
"""An integer > 0 (a float or a boolean is refused)."""

Nanos = Annotated[int, Strict(), Field(gt=0)]
"""A positive duration in nanoseconds of event time."""

SizingKind = Literal["fixed_fraction", "all_equity", "atr_risk", "volatility_target"]
"""How a signal's target weight becomes a quantity (see ``jules_risk.engine.sizing``)."""

SizingTime = Literal["decision", "fill"]
"""When an order is sized: at the decision (the signal's price) or at the fill (its price)."""

FILL_SIZING_KINDS: tuple[SizingKind, ...] = ("fixed_fraction", "all_equity")
"""The kinds that can size at the fill: they need only the price and the equity."""

_SECOND = 1_000_000_000


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class RiskLimits(_Frozen):
    """Pre-trade limits and portfolio halts. ``None`` switches a control off.

    Attributes:
        price_collar_bps: Largest deviation, in basis points, of an order's price (limit
            price, else the intent's reference price) from the engine's reference price.
        reference_max_age_ns: Oldest usable reference price; an older one denies every order.
        stale_market_data_max_age_ns: Oldest last market event (or a crossed quote) that still
            allows risk-increasing orders.
        max_order_quantity: Largest quantity of one order.
        max_order_notional: Largest quantity * price of one order.
        max_position_quantity: Largest absolute position per instrument, working orders
            included as if they filled (worst side).
        max_position_notional: The same, as quantity * reference price.
        max_gross_exposure: Largest sum over instruments of the absolute notional position
            with working orders counted at once (worst side per instrument).
        max_open_orders: Most working orders at a time (this order included).
        max_orders_per_window: Most approved orders in any rolling ``throttle_window_ns`` of
            event time.
        throttle_window_ns: Length of the throttle window.
        allowed_instruments: Instruments that may be traded; ``None`` allows all.
        max_daily_loss: Largest loss since the start of the UTC day, in account currency.
        max_daily_loss_fraction: The same as a fraction of start-of-day equity.
        max_drawdown: Largest fall of equity from its peak, as a fraction of the peak.
        es_budget: Largest one-period historical expected shortfall of the post-trade
            portfolio, in account currency.
        es_confidence: Confidence level of that expected shortfall.
        var_budget: Largest one-period historical value at risk of the post-trade portfolio.
        var_confidence: Confidence level of that value at risk.
        min_risk_observations: Fewest common return observations the VaR and ES checks need;
            with fewer, risk-increasing orders are denied (fail closed).
    """

    price_collar_bps: PositiveNumber | None = 500.0
    reference_max_age_ns: Nanos | None = 300 * _SECOND
    stale_market_data_max_age_ns: Nanos | None = 300 * _SECOND
    max_order_quantity: PositiveNumber | None = None
    max_order_notional: PositiveNumber | None = None
    max_position_quantity: PositiveNumber | None = None
    max_position_notional: PositiveNumber | None = None
    max_gross_exposure: PositiveNumber | None = None
    max_open_orders: PositiveInt | None = None
    max_orders_per_window: PositiveInt | None = None
    throttle_window_ns: Nanos = _SECOND
    allowed_instruments: tuple[InstrumentId, ...] | None = None
    max_daily_loss: PositiveNumber | None = None
    max_daily_loss_fraction: OpenFraction | None = None
    max_drawdown: OpenFraction | None = None
    es_budget: PositiveNumber | None = None
    es_confidence: OpenFraction = 0.975
    var_budget: PositiveNumber | None = None
    var_confidence: OpenFraction = 0.99
    min_risk_observations: Annotated[int, Strict(), Field(ge=2)] = 30


class SizingConfig(_Frozen):
    """How a signal's ``target_weight`` (in [-1, 1]) becomes a target position.

    Attributes:
        kind: ``fixed_fraction``: ``weight * fraction * equity / price``;
            ``all_equity``: ``sign(weight) * floor(equity / price)`` whole units (or lots),
            the weight's size ignored; ``atr_risk``:
            ``weight * risk_fraction * equity / (ATR * atr_multiple)``;
            ``volatility_target``: ``weight * min(target_volatility / volatility,
            max_leverage) * equity / price``.
        at: ``decision``: the target is computed from the signal's reference price (the
            bar's close) and the order's quantity is final. ``fill`` (``fixed_fraction`` and
            ``all_equity`` only): the order-router sizes the order again when it fills, at
            the fill price (backtesting.py's and Lean's semantics): the position wanted is
            ``weight * fraction`` (``fixed_fraction``) or ``sign(weight)`` (``all_equity``)
            times the equity at that price, over ``price * multiplier * (1 + fee)``,
            rounded toward zero to the step; the quantity sized at the decision is the
            estimate risk's limits check. A configuration written out leaves ``at`` out
            when it is ``decision``.
        fraction: Fraction of equity for ``fixed_fraction``.
        risk_fraction: Fraction of equity risked per trade for ``atr_risk``.
        atr_multiple: Stop distance in ATRs assumed by ``atr_risk``.
        target_volatility: Annualised volatility aimed at by ``volatility_target``.
        volatility_lookback: Bar returns used to estimate the instrument's volatility.
        periods_per_year: Bars per year, to annualise (525,600 one-minute bars, 24/7).
        max_leverage: Cap of ``|notional| / equity`` for ``atr_risk`` and
            ``volatility_target``.
        whole_units: Round target positions toward zero to whole units.
        lot_size: Round target positions toward zero to multiples of this (a whole number
            when ``whole_units`` is set).
    """

    kind: Annotated[SizingKind, AnyCase()] = "fixed_fraction"
    at: Annotated[SizingTime, AnyCase()] = "decision"
    fraction: Fraction = 1.0
    risk_fraction: Fraction = 0.01
    atr_multiple: PositiveNumber = 2.0
    target_volatility: PositiveNumber = 0.2
    volatility_lookback: Annotated[int, Strict(), Field(ge=2)] = 20
    periods_per_year: PositiveNumber = 525_600.0
    max_leverage: PositiveNumber = 1.0
    whole_units: Annotated[bool, Strict()] = False
    lot_size: PositiveNumber | None = None

    @model_validator(mode="after")
    def _check_lot(self) -> Self:
        if self.whole_units and self.lot_size is not None and not self.lot_size.is_integer():
            raise ValueError(
                f"lot_size {self.lot_size} must be a whole number when whole_units is set"
            )
        return self

    @model_validator(mode="after")
    def _check_at(self) -> Self:
        if self.at == "fill" and self.kind not in FILL_SIZING_KINDS:
            raise ValueError(
                f"at 'fill' sizes with fixed_fraction or all_equity only, not {self.kind} "
                "(it needs an ATR or a volatility known at the decision); use at 'decision'"
            )
        return self

    @model_serializer(mode="wrap")
    def _omit_default_at(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Sizing at the decision is written as before ``at`` existed."""
        data: dict[str, Any] = handler(self)
        if self.at == "decision":
            data.pop("at", None)
        return data

    @property
    def step(self) -> float | None:
        """Quantity step target positions are rounded to (``None``: no rounding)."""
        if self.lot_size is not None:
            return self.lot_size
        return 1.0 if self.whole_units else None


class StopsConfig(_Frozen):
    """Protective exits, as multiples of the ATR at entry. ``None`` switches one off.

    Attributes:
        stop_loss_atr_multiple: Exit when the price moves this many ATRs against the entry.
        take_profit_atr_multiple: Exit when the price moves this many ATRs in favour.
        trailing_atr_multiple: Exit when the price falls back this many ATRs from the best
            price since entry.
        strategy_id: Strategy id of the exit orders.
    """

    stop_loss_atr_multiple: PositiveNumber | None = None
    take_profit_atr_multiple: PositiveNumber | None = None
    trailing_atr_multiple: PositiveNumber | None = None
    strategy_id: Identifier = "risk-stops"

    @property
    def enabled(self) -> bool:
        """Whether any stop is configured."""
        return any(
            multiple is not None
            for multiple in (
                self.stop_loss_atr_multiple,
                self.take_profit_atr_multiple,
                self.trailing_atr_multiple,
            )
        )


class RiskControls(_Frozen):
    """Everything the risk engine is configured with, except the account.

    A backtest's ``risk`` section and the risk service's ``engine`` settings are this model;
    ``for_account`` adds the account and gives the engine's ``RiskConfig``.

    Attributes:
        limits: Pre-trade limits and halts.
        sizing: Signal sizing.
        stops: Protective exits.
        atr_period: Period of the engine's Wilder ATR over bars.
        history_length: Bar returns kept per instrument (VaR, ES, volatility) and equity
            observations kept for portfolio metrics.
        cancel_on_halt: Cancel every working order when the kill switch is engaged ``HALTED``.
    """

    limits: RiskLimits = RiskLimits()
    sizing: SizingConfig = SizingConfig()
    stops: StopsConfig = StopsConfig()
    atr_period: PositiveInt = 14
    history_length: Annotated[int, Strict(), Field(ge=2)] = 500
    cancel_on_halt: Annotated[bool, Strict()] = True

    def for_account(self, account_id: str) -> RiskConfig:
        """The engine's configuration: these controls for ``account_id``.

        A ``RiskConfig`` given as the controls is taken for its controls only (its own
        account is replaced).
        """
        controls = {name: getattr(self, name) for name in RiskControls.model_fields}
        return RiskConfig(account_id=account_id, **controls)


class RiskConfig(RiskControls):
    """Everything the risk engine is configured with: ``RiskControls`` and the account.

    Attributes:
        account_id: The account orders are sized for and placed in.
    """

    account_id: Identifier


CHANGEABLE_SECTIONS: tuple[str, ...] = ("limits", "sizing", "stops")
"""Sections whose settings ``ChangeConfig`` may change at run time."""


class ConfigChangeError(JulesError, ValueError):
    """A run-time configuration change was refused; the message names the key and value."""


def with_change(config: RiskConfig, key: str, value: Any) -> RiskConfig:
    """Return ``config`` with one setting changed, validated as at start-up.

    Args:
        config: The current configuration.
        key: ``<section>.<setting>``, the section one of ``CHANGEABLE_SECTIONS``
            (``limits.max_order_notional``).
        value: The new value.

    Returns:
        The new configuration.

    Raises:
        ConfigChangeError: The key is unknown or not changeable, or the value is invalid.
    """
    section, _, name = key.partition(".")
    if section not in CHANGEABLE_SECTIONS:
        raise ConfigChangeError(
            f"{key} cannot be changed at run time (changeable: "
            f"{', '.join(s + '.*' for s in CHANGEABLE_SECTIONS)})"
        )
    section_model = getattr(config, section)
    if name not in type(section_model).model_fields:
        raise ConfigChangeError(f"{key} is not a setting of {section}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigChangeError(f"{key} must be finite, not {value}")
    data = config.model_dump()
    data[section][name] = value
    try:
        return RiskConfig.model_validate(data)
    except ValidationError as error:
        details = "; ".join(
            f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}" for err in error.errors()
        )
        raise ConfigChangeError(f"{key} = {value!r} refused: {details}") from error
