"""Settings of the order-router service (environment prefix ``JULES_ORDER_ROUTER__``).

The settings are the fields of the engine's ``RouterConfig``: one account at the simulated
venue. The simulated venue is the only venue for now; venues reached through ccxt (with their
credentials and reconciliation) come later, with settings of their own.

Every variable, with ``__`` for nesting (defaults shown, examples in parentheses)::

    JULES_ORDER_ROUTER__ACCOUNT_ID=BACKTEST
    JULES_ORDER_ROUTER__CURRENCY=USD
    JULES_ORDER_ROUTER__STARTING_CASH=100000
    JULES_ORDER_ROUTER__FILL_MODEL__KIND=next_bar_open  (bar_close_slippage, l1_quote, l2_book,
                                                         kyle_lambda)
    JULES_ORDER_ROUTER__FILL_MODEL__SLIPPAGE_BPS=0      (bar_close_slippage)
    JULES_ORDER_ROUTER__FILL_MODEL__LIMIT_TO_QUOTED_SIZE=true   (l1_quote)
    JULES_ORDER_ROUTER__FILL_MODEL__IMPACT_LAMBDA       (kyle_lambda, required there: 0.01)
    JULES_ORDER_ROUTER__FILL_MODEL__MAX_IMPACT_FRACTION=0.5     (kyle_lambda)
    JULES_ORDER_ROUTER__FEES__MAKER_BPS=0 / __TAKER_BPS=0 / __MIN_FEE=0   (-1 / 5 / 0.5)
    JULES_ORDER_ROUTER__LATENCY_NS=0
    JULES_ORDER_ROUTER__MAX_PARTICIPATION               (unset: no cap; 0.1)
    JULES_ORDER_ROUTER__INSTRUMENTS                     (unset: all; '["BTCUSD.COINBASE"]')

The fill model and the fees may also be one JSON variable each
(``JULES_ORDER_ROUTER__FILL_MODEL='{"kind": "bar_close_slippage", "slippage_bps": 2.5}'``).

``RouterConfig`` stays the one place that says what is valid: the settings are checked by
building it, and an invalid value is reported under its own variable (a parameter that the
chosen fill model does not have, too), so the service stops at start-up naming it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from jules_runtime.settings import LockstepSettings, ServiceSettings, service_settings_config
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from jules_order_router.engine import FeeSchedule, RouterConfig

__all__ = ["DEFAULT_ACCOUNT_ID", "FillModelSettings", "OrderRouterSettings"]

DEFAULT_ACCOUNT_ID = "BACKTEST"
"""The account of a backtest (``jules backtest``'s and the risk service's default)."""


class FillModelSettings(BaseModel):
    """The fill model of the simulated venue: its ``kind`` and the parameters of that kind.

    One variable per parameter (``JULES_ORDER_ROUTER__FILL_MODEL__SLIPPAGE_BPS``); a parameter
    left unset takes the fill model's default. The engine's fill model classes say which
    parameters each kind has and which values are valid.

    Attributes:
        kind: ``next_bar_open``, ``bar_close_slippage``, ``l1_quote``, ``l2_book`` or
            ``kyle_lambda``.
        slippage_bps: ``bar_close_slippage``: adverse slippage in basis points.
        limit_to_quoted_size: ``l1_quote``: fill at most the quoted size.
        impact_lambda: ``kyle_lambda``: price change per unit of quantity.
        max_impact_fraction: ``kyle_lambda``: cap of the impact as a fraction of the price.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = "next_bar_open"
    slippage_bps: float | None = None
    limit_to_quoted_size: bool | None = None
    impact_lambda: float | None = None
    max_impact_fraction: float | None = None

    def parameters(self) -> dict[str, Any]:
        """The kind and the parameters that are set, as the engine's ``fill_model`` takes them."""
        return self.model_dump(exclude_none=True)


class OrderRouterSettings(ServiceSettings):
    """Settings of the order-router service: the account and the simulated venue.

    Attributes:
        account_id: The account the router trades; risk must place orders in the same
            account, or the router rejects them with ``ACCOUNT_MISMATCH``.
        currency: The account currency.
        starting_cash: Cash at the start.
        fill_model: How orders fill against market events.
        fees: Maker/taker fees in basis points and the minimum fee per order.
        latency_ns: Delay between acceptance and the first market event an order may fill on.
        max_participation: Largest fraction of a bar's volume the router's orders may fill;
            unset: no cap.
        instruments: Instruments the venue lists (JSON list); unset: every instrument.
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
    fill_model: FillModelSettings = FillModelSettings()
    fees: FeeSchedule = FeeSchedule()
    latency_ns: int = 0
    max_participation: float | None = None
    instruments: tuple[str, ...] | None = None
    lockstep: LockstepSettings = LockstepSettings()
    close_at_end: bool = True

    @model_validator(mode="after")
    def _valid_router_config(self) -> Self:
        try:
            self._build_router_config()
        except ValidationError as exc:
            raise ValidationError.from_exception_data(
                type(self).__name__, [_as_setting_error(e, self.fill_model) for e in exc.errors()]
            ) from None
        return self

    @property
    def router_config(self) -> RouterConfig:
        """The engine's configuration (valid: the settings were checked by building it)."""
        return self._build_router_config()

    def _build_router_config(self) -> RouterConfig:
        return RouterConfig.model_validate(
            {
                "account_id": self.account_id,
                "currency": self.currency,
                "starting_cash": self.starting_cash,
                "fill_model": self.fill_model.parameters(),
                "fees": self.fees,
                "latency_ns": self.latency_ns,
                "max_participation": self.max_participation,
                "instruments": self.instruments,
            }
        )


def _as_setting_error(error: Any, fill_model: FillModelSettings) -> InitErrorDetails:
    """A ``RouterConfig`` error, located at the setting that holds the value.

    A fill model error is located inside the union member (``fill_model.<kind>.<parameter>``);
    the setting is ``fill_model.<parameter>``, and an unknown kind is ``fill_model.kind``.
    """
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind: str | PydanticCustomError = error["type"]
    if loc[:1] == ("fill_model",):
        loc = ("fill_model", "kind") if len(loc) == 1 else ("fill_model", *loc[2:])
        if error["type"] == "extra_forbidden":
            kind = PydanticCustomError(
                "fill_model_parameter",
                "not a parameter of fill model '{kind}'",
                {"kind": fill_model.kind},
            )
    return InitErrorDetails(type=kind, loc=loc, input=error["input"], ctx=error.get("ctx", {}))
