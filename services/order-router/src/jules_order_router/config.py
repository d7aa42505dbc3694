"""Settings of the order-router service (environment prefix ``JULES_ORDER_ROUTER__``).

The settings are the account (id, currency, starting cash) and the engine's simulated venue,
nested as it is (``engine``: the engine's ``VenueConfig``); together they are the engine's
``RouterConfig``. The simulated venue is the only venue for now; venues reached through ccxt
(with their credentials and reconciliation) come later, with settings of their own.

Every variable, with ``__`` for nesting (defaults shown, examples in parentheses)::

    JULES_ORDER_ROUTER__ACCOUNT_ID=BACKTEST
    JULES_ORDER_ROUTER__CURRENCY=USD
    JULES_ORDER_ROUTER__STARTING_CASH=100000
    JULES_ORDER_ROUTER__ENGINE__FILL_MODEL__KIND=next_bar_open  (bar_close_slippage, l1_quote,
                                                                 l2_book, kyle_lambda)
    JULES_ORDER_ROUTER__ENGINE__FILL_MODEL__SLIPPAGE_BPS=0      (bar_close_slippage)
    JULES_ORDER_ROUTER__ENGINE__FILL_MODEL__LIMIT_TO_QUOTED_SIZE=true   (l1_quote)
    JULES_ORDER_ROUTER__ENGINE__FILL_MODEL__IMPACT_LAMBDA       (kyle_lambda, required: 0.01)
    JULES_ORDER_ROUTER__ENGINE__FILL_MODEL__MAX_IMPACT_FRACTION=0.5     (kyle_lambda)
    JULES_ORDER_ROUTER__ENGINE__FEES__MAKER_BPS=0 / __TAKER_BPS=0 / __MIN_FEE=0  (-1 / 5 / 0.5)
    JULES_ORDER_ROUTER__ENGINE__LATENCY_NS=0
    JULES_ORDER_ROUTER__ENGINE__MAX_PARTICIPATION               (unset: no cap; 0.1)
    JULES_ORDER_ROUTER__ENGINE__INSTRUMENTS                     (unset: all; '["BTCUSD.COINBASE"]')

    JULES_ORDER_ROUTER__INSTRUMENTS                             (unset: no instrument table;
                                                                 /etc/jules/instruments.yaml)

The fill model, the fees or the whole venue may also be one JSON variable
(``JULES_ORDER_ROUTER__ENGINE__FILL_MODEL='{"kind": "bar_close_slippage", "slippage_bps": 2.5}'``).
The instrument table (tick and lot grids, contract multipliers, fees per contract) is a YAML
file's path, or its entries as a JSON list; risk needs the same table.

The engine's models stay the one place that says what is valid and what the defaults are; an
invalid value is reported under its own variable (a parameter that the chosen fill model does
not have, too), so the service stops at start-up naming it.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Self

from jules_runtime.instruments import InstrumentTableSettings
from jules_runtime.settings import LockstepSettings, ServiceSettings, service_settings_config
from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from jules_order_router.engine import RouterConfig, VenueConfig

__all__ = ["DEFAULT_ACCOUNT_ID", "OrderRouterSettings"]

DEFAULT_ACCOUNT_ID = "BACKTEST"
"""The account of a backtest (``jules backtest``'s and the risk service's default)."""


class OrderRouterSettings(ServiceSettings, InstrumentTableSettings):
    """Settings of the order-router service: the account and the simulated venue.

    Attributes:
        account_id: The account the router trades; risk must place orders in the same
            account, or the router rejects them with ``ACCOUNT_MISMATCH``.
        currency: The account currency.
        starting_cash: Cash at the start.
        engine: The simulated venue (``VenueConfig``: fill model, fees, latency, participation
            cap, listed instruments), with the engine's defaults.
        instruments: The instrument table (``InstrumentTableSettings``): tick and lot grids,
            contract multipliers, fees per contract.
        dedup_window: How many acknowledged commands (decisions, cancels) are remembered, to
            recognise one delivered again (it publishes nothing the second time).
        replica: This replica's name (``0``, ``1`` …): its keys on the changelog are its own.
            Stable across restarts of the replica.
        lockstep: Backtest mode (topic replay): the venue's steps in lockstep with risk
            (``jules_order_router.lockstep``); one account, so one replica.
        close_at_end: Backtest mode: flatten the account at the open of each instrument's
            last bar when the replay ends.
    """

    service_name: ClassVar[str] = "order-router"
    default_http_port: ClassVar[int] = 8105
    model_config = service_settings_config("order-router")

    account_id: str = DEFAULT_ACCOUNT_ID
    currency: str = "USD"
    starting_cash: float = 100_000.0
    engine: VenueConfig = VenueConfig()
    dedup_window: Annotated[int, Field(ge=1)] = 100_000
    replica: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] = "0"
    lockstep: LockstepSettings = LockstepSettings()
    close_at_end: bool = True

    @model_validator(mode="wrap")
    @classmethod
    def _errors_at_their_variables(
        cls, data: Any, handler: ModelWrapValidatorHandler[Self]
    ) -> Self:
        try:
            settings = handler(data)
            settings.router_config  # noqa: B018 - the engine's RouterConfig checks the account
        except ValidationError as exc:
            raise ValidationError.from_exception_data(
                cls.__name__, [_as_setting_error(error) for error in exc.errors()]
            ) from None
        return settings

    @property
    def router_config(self) -> RouterConfig:
        """The engine's configuration: the venue (``engine``) for the account."""
        return self.engine.for_account(self.account_id, self.currency, self.starting_cash)


def _as_setting_error(error: Any) -> InitErrorDetails:
    """A validation error, located at the setting that holds the value.

    A fill model error is located inside the union member
    (``engine.fill_model.<kind>.<parameter>``); the setting is ``engine.fill_model.<parameter>``,
    and an unknown or missing kind is ``engine.fill_model.kind``.
    """
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind: str | PydanticCustomError = error["type"]
    prefix = ("engine", "fill_model")
    if loc[:2] == prefix:
        if len(loc) == 2:
            loc = (*prefix, "kind")
        else:
            if error["type"] == "extra_forbidden":
                kind = PydanticCustomError(
                    "fill_model_parameter",
                    "not a parameter of fill model '{kind}'",
                    {"kind": str(loc[2])},
                )
            loc = (*prefix, *loc[3:])
    return InitErrorDetails(type=kind, loc=loc, input=error["input"], ctx=error.get("ctx", {}))
