"""Settings of the risk service (environment prefix ``JULES_RISK__``).

The engine's own configuration (``RiskControls``: limits, sizing, stops, ATR period, history
length, cancel on halt) is the nested ``engine`` setting, one environment variable per value
with ``__`` for nesting; the account is a setting of its own::

    JULES_RISK__ACCOUNT_ID=paper-01
    JULES_RISK__ENGINE__LIMITS__MAX_ORDER_NOTIONAL=50000
    JULES_RISK__ENGINE__LIMITS__ALLOWED_INSTRUMENTS='["BTCUSDT.BINANCE","ETHUSDT.BINANCE"]'
    JULES_RISK__ENGINE__LIMITS__PRICE_COLLAR_BPS=null        # switch an optional control off
    JULES_RISK__ENGINE__SIZING__KIND=volatility_target
    JULES_RISK__ENGINE__SIZING__FRACTION=0.25
    JULES_RISK__ENGINE__SIZING__WHOLE_UNITS=true
    JULES_RISK__ENGINE__STOPS__STOP_LOSS_ATR_MULTIPLE=3
    JULES_RISK__ENGINE__ATR_PERIOD=20
    JULES_RISK__ENGINE__CANCEL_ON_HALT=false

The instrument table (lot sizes, minimums, multipliers) is a YAML file's path, or its entries
as a JSON list; the order-router needs the same table::

    JULES_RISK__INSTRUMENTS=/etc/jules/instruments.yaml

A value is read as JSON (a number, ``true``/``false``, ``null``, a list) wherever the setting
is not text (``ServiceSettings`` does this for every service), then validated exactly as the
engine validates it. Invalid values stop the service at start-up naming the variable (a bad
instrument table: the file, the entry and the field).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from jules_contracts.base import Identifier
from jules_runtime.instruments import InstrumentTableSettings
from jules_runtime.settings import LockstepSettings, ServiceSettings, service_settings_config
from pydantic import Field, StringConstraints

from jules_risk.engine import RiskConfig, RiskControls

__all__ = ["DEFAULT_ACCOUNT_ID", "KILL_SWITCH_PATH", "RiskSettings"]

DEFAULT_ACCOUNT_ID = "BACKTEST"
"""The account of a backtest (``jules backtest``'s default); set it for any other account."""

KILL_SWITCH_PATH = "/kill-switch"
"""Where the service answers with its kill-switch state (``jules-risk kill --status``)."""


class RiskSettings(ServiceSettings, InstrumentTableSettings):
    """Settings of the risk service.

    Attributes:
        account_id: The account signals are sized for and orders placed in; portfolio
            snapshots of other accounts raise an ``ACCOUNT_MISMATCH`` alert.
        engine: The engine's configuration without the account (``RiskControls``: limits,
            sizing, stops, ATR period, history length, cancel on halt), with its defaults.
        instruments: The instrument table (``InstrumentTableSettings``): targets rounded to
            lots, notional times the contract multiplier.
        dedup_window: How many processed input event ids are remembered, to recognise a
            message delivered again (it publishes nothing the second time).
        replica: This replica's name among the live replicas of the service (``0``, ``1`` …):
            its control consumer group is its own (``jules-risk-control-<replica>``: every
            replica reads every control command), and so are its keys on the changelog.
            Stable across restarts of the replica.
        lockstep: Backtest mode (topic replay): risk's steps in lockstep with the
            order-router (``jules_risk.lockstep``); control commands are not read then. Every
            replica runs the whole book (``replica_index`` and ``replicas`` are not used).
    """

    service_name: ClassVar[str] = "risk"
    default_http_port: ClassVar[int] = 8104
    model_config = service_settings_config("risk")

    account_id: Identifier = DEFAULT_ACCOUNT_ID
    engine: RiskControls = RiskControls()
    dedup_window: Annotated[int, Field(ge=1)] = 100_000
    replica: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] = "0"
    lockstep: LockstepSettings = LockstepSettings()

    @property
    def risk_config(self) -> RiskConfig:
        """The engine's configuration: ``engine`` for ``account_id``."""
        return self.engine.for_account(self.account_id)
