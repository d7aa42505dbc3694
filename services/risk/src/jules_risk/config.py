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
is not text (``ServiceSettings`` does this for every service), then validated exactly as the
engine validates it. Invalid values stop the service at start-up naming the variable.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from jules_contracts.base import Identifier
from jules_runtime.settings import LockstepSettings, ServiceSettings, service_settings_config
from pydantic import Field

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
        lockstep: Backtest mode (topic replay): risk's steps in lockstep with the
            order-router (``jules_risk.lockstep``); control commands are not read then. Every
            replica runs the whole book (``replica_index`` and ``replicas`` are not used).
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
    lockstep: LockstepSettings = LockstepSettings()

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
