"""Configuration of the order-router engine: the simulated venue's fill model, fees and limits.

Every class is a frozen pydantic model that refuses unknown fields; an invalid value fails at
construction with a ``ValidationError`` naming the field and the value. Fill models form a
discriminated union on ``kind``, so a configuration file can say
``{"fill_model": {"kind": "bar_close_slippage", "slippage_bps": 2.5}}`` (the kind in any case:
``Bar_Close_Slippage`` is read as ``bar_close_slippage``).

Which market events each fill model fills against (the others only mark positions):

=====================  ==============================================================
``next_bar_open``      ``Bar``: the open of the first bar starting at or after the order
                       became eligible.
``bar_close_slippage`` ``Bar``: the close, moved against the order by ``slippage_bps``.
``l1_quote``           ``Quote``: buys at the ask, sells at the bid.
``l2_book``            ``BookSnapshot``: walks the levels; the average price of the levels.
``kyle_lambda``        ``Bar`` (open), ``Quote`` (mid), ``Trade`` (price), each plus the
                       price impact ``impact_lambda * signed quantity``.
=====================  ==============================================================
"""

from __future__ import annotations

from typing import Annotated, Literal

from jules_contracts.any_case import AnyCase
from jules_contracts.base import Identifier, InstrumentId
from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "BarCloseSlippage",
    "FeeSchedule",
    "FillModel",
    "KyleLambda",
    "L1Quote",
    "L2Book",
    "NextBarOpen",
    "RouterConfig",
    "VenueConfig",
]

Currency = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,12}$")]
FiniteNumber = Annotated[float, Field(allow_inf_nan=False)]


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NextBarOpen(_Config):
    """Fill at the open of the next bar of the order's instrument.

    An order that became eligible at ``t`` (acceptance time plus latency) fills at the open of
    the first bar whose ``start_time >= t``: a bar is used only if the order was working for
    the whole of it. With contiguous bars, an order decided on the bar closing at ``t`` fills
    at the open of the bar covering ``[t, t + interval)``.
    """

    kind: Literal["next_bar_open"] = "next_bar_open"


class BarCloseSlippage(_Config):
    """Fill at the close of the next bar, moved against the order by a fixed slippage.

    Attributes:
        slippage_bps: Adverse slippage in basis points: buys fill at
            ``close * (1 + bps / 10 000)``, sells at ``close * (1 - bps / 10 000)``.
    """

    kind: Literal["bar_close_slippage"] = "bar_close_slippage"
    slippage_bps: FiniteNumber = Field(default=0.0, ge=0, lt=10_000)


class L1Quote(_Config):
    """Cross the spread of the best bid and offer: buys pay the ask, sells get the bid.

    Attributes:
        limit_to_quoted_size: Fill at most the quoted size of the side taken; the rest keeps
            working. A quoted size of zero means the feed publishes no sizes (FX), so it
            limits nothing.
    """

    kind: Literal["l1_quote"] = "l1_quote"
    limit_to_quoted_size: bool = True


class L2Book(_Config):
    """Walk the levels of an L2 book snapshot for the order's quantity.

    A buy takes the asks from the best upwards (a sell the bids downwards) and fills at the
    size-weighted average price of the levels it took; what the book cannot fill keeps working.
    """

    kind: Literal["l2_book"] = "l2_book"


class KyleLambda(_Config):
    """Linear price impact: ``reference + impact_lambda * signed quantity``.

    The reference is the bar's open, the quote's mid or the trade's price. Buys add the
    impact, sells subtract it.

    Attributes:
        impact_lambda: Price change per unit of quantity (quote currency per base unit).
        max_impact_fraction: Cap of the impact as a fraction of the reference price, so a
            large sell never drives the price to zero or below.
    """

    kind: Literal["kyle_lambda"] = "kyle_lambda"
    impact_lambda: FiniteNumber = Field(ge=0)
    max_impact_fraction: FiniteNumber = Field(default=0.5, gt=0, lt=1)


FillModel = Annotated[
    NextBarOpen | BarCloseSlippage | L1Quote | L2Book | KyleLambda,
    Field(discriminator="kind"),
    AnyCase(),
]
"""One of the fill models, chosen by ``kind`` (in any case)."""


class FeeSchedule(_Config):
    """Maker/taker fees in basis points of the notional, with a minimum per order.

    Market orders, marketable limit orders and triggered stops take liquidity (taker); a limit
    order filled while resting adds liquidity (maker). A negative ``maker_bps`` is a rebate.

    Attributes:
        maker_bps: Fee of maker fills, in basis points (negative: rebate).
        taker_bps: Fee of taker fills, in basis points.
        min_fee: Minimum fee of an order that trades, in the account currency: the order's
            fills together are charged at least this much (its first fill pays the top-up).
            Orders whose fees are rebates pay no minimum.
    """

    maker_bps: FiniteNumber = Field(default=0.0, gt=-10_000, lt=10_000)
    taker_bps: FiniteNumber = Field(default=0.0, ge=0, lt=10_000)
    min_fee: FiniteNumber = Field(default=0.0, ge=0)


class VenueConfig(_Config):
    """The simulated venue of one order-router engine: everything but the account.

    A backtest's ``execution`` section and the order-router service's ``engine`` settings are
    this model; ``for_account`` adds the account and gives the engine's ``RouterConfig``.

    Attributes:
        fill_model: How orders fill against market events.
        fees: Maker/taker fees and the minimum fee per order.
        latency_ns: Delay between acceptance and the first market event an order may fill
            against (a bar counts from its ``start_time``, other events from ``event_time``).
        max_participation: Maximum fraction of a trade bar's volume (or of a trade's size,
            for ``kyle_lambda``) that the router's orders may fill per bar; the rest keeps
            working. ``None``: no cap. Bars of quotes (``price_type`` not ``TRADE``) carry no
            traded volume and are not capped.
        instruments: Instruments the venue lists; an approval for another one is rejected.
            ``None``: every instrument.
    """

    fill_model: FillModel = Field(default_factory=NextBarOpen)
    fees: FeeSchedule = Field(default_factory=FeeSchedule)
    latency_ns: int = Field(default=0, ge=0, strict=True)
    max_participation: FiniteNumber | None = Field(default=None, gt=0, le=1)
    instruments: tuple[InstrumentId, ...] | None = None

    @field_validator("instruments")
    @classmethod
    def _distinct_instruments(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and len(set(value)) != len(value):
            duplicates = sorted({item for item in value if value.count(item) > 1})
            raise ValueError(f"instruments lists {', '.join(duplicates)} more than once")
        return value

    def for_account(self, account_id: str, currency: str, starting_cash: float) -> RouterConfig:
        """The engine's configuration: this venue for one account.

        A ``RouterConfig`` given as the venue is taken for its venue settings only (its own
        account is replaced).
        """
        venue = {name: getattr(self, name) for name in VenueConfig.model_fields}
        return RouterConfig(
            account_id=account_id, currency=currency, starting_cash=starting_cash, **venue
        )


class RouterConfig(VenueConfig):
    """Configuration of one order-router engine (one account at one simulated venue).

    Attributes:
        account_id: The account the router trades; approvals for another account are rejected.
        currency: The account currency (fees and PnL are in it).
        starting_cash: Cash at the start.
    """

    account_id: Identifier
    currency: Currency = "USD"
    starting_cash: FiniteNumber = Field(ge=0)
