"""Settings of the risk service (environment prefix ``JULES_RISK__``).

The engine's own configuration models (``RiskLimits``, ``SizingConfig``, ``StopsConfig``) are
nested settings, one environment variable per value with ``__`` for nesting::

    JULES_RISK__ACCOUNT_ID=paper-01
    JULES_RISK__LIMITS__MAX_ORDER_NOTIONAL=50000
    JULES_RISK__LIMITS__ALLOWED_INSTRUMENTS='["BTCUSDT.BINANCE","ETHUSDT.BINANCE"]'
    JULES_RISK__LIMITS__PRICE_COLLAR_BPS=null        # switch an optional control off
    JULES_RISK__SIZING__KIND=volatility_target
    JULES_RISK__SIZING__FRACTION=0.25
    JULES_RISK__SIZING__WHOLE_UNITS=true
    JULES_RISK__STOPS__STOP_LOSS_ATR_MULTIPLE=3

A value is read as JSON (a number, ``true``/``false``, ``null``, a list) wherever the setting
is not text, then validated exactly as the engine validates it: the engine's models are strict
(a quoted ``"0.5"`` is not a number), so the same value is refused in a configuration file and
in the environment. Invalid values stop the service at start-up naming the variable.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Annotated, Any, ClassVar, Literal

from jules_contracts.base import Identifier
from jules_runtime.settings import ServiceSettings, service_settings_config
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from jules_risk.engine import RiskConfig, RiskLimits, SizingConfig, StopsConfig

__all__ = ["DEFAULT_ACCOUNT_ID", "KILL_SWITCH_PATH", "RiskSettings"]

DEFAULT_ACCOUNT_ID = "BACKTEST"
"""The account of a backtest (``jules backtest``'s default); set it for any other account."""

KILL_SWITCH_PATH = "/kill-switch"
"""Where the service answers with its kill-switch state (``jules-risk kill --status``)."""


class RiskSettings(ServiceSettings):
    """Settings of the risk service.

    Attributes:
        account_id: The account signals are sized for and orders placed in; portfolio
            snapshots of other accounts raise an ``ACCOUNT_MISMATCH`` alert.
        limits: Pre-trade limits and halts (``RiskLimits``).
        sizing: How a signal's target weight becomes a quantity (``SizingConfig``).
        stops: Protective ATR exits (``StopsConfig``).
        atr_period: Period of the engine's Wilder ATR over bars.
        history_length: Bar returns kept per instrument (VaR, ES, volatility) and equity
            observations kept for portfolio metrics.
        cancel_on_halt: Cancel every working order when the kill switch is engaged ``HALTED``.
        dedup_window: How many processed input event ids are remembered, to recognise a
            message delivered again (it publishes nothing the second time).
    """

    service_name: ClassVar[str] = "risk"
    default_http_port: ClassVar[int] = 8104
    model_config = service_settings_config("risk")

    account_id: Identifier = DEFAULT_ACCOUNT_ID
    limits: RiskLimits = RiskLimits()
    sizing: SizingConfig = SizingConfig()
    stops: StopsConfig = StopsConfig()
    atr_period: Annotated[int, Field(gt=0)] = 14
    history_length: Annotated[int, Field(ge=2)] = 500
    cancel_on_halt: bool = True
    dedup_window: Annotated[int, Field(ge=1)] = 100_000

    @field_validator("limits", "sizing", "stops", mode="before")
    @classmethod
    def _decode_environment_values(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields[str(info.field_name)]
        section = field.annotation
        if not isinstance(value, dict) or not (
            isinstance(section, type) and issubclass(section, BaseModel)
        ):
            return value
        return {name: _decoded(section, name, item) for name, item in value.items()}

    @property
    def risk_config(self) -> RiskConfig:
        """The engine's configuration."""
        return RiskConfig(
            account_id=self.account_id,
            limits=self.limits,
            sizing=self.sizing,
            stops=self.stops,
            atr_period=self.atr_period,
            history_length=self.history_length,
            cancel_on_halt=self.cancel_on_halt,
        )


def _decoded(section: type[BaseModel], name: str, value: Any) -> Any:
    """An environment string read as JSON, unless the setting is text or it is not JSON."""
    field = section.model_fields.get(name)
    if not isinstance(value, str) or field is None or _accepts_text(field.annotation):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # validation names the variable and the value


def _accepts_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return any(isinstance(arg, str) for arg in typing.get_args(annotation))
    if origin is typing.Union or origin is types.UnionType or origin is Annotated:
        return any(_accepts_text(arg) for arg in typing.get_args(annotation))
    return False
