"""Order commands, risk decisions and order lifecycle events.

``SubmitOrder`` and ``CancelOrder`` are commands (``orders.intents.v1``); the risk service
answers each with ``OrderApproved`` or ``OrderDenied`` (``orders.decisions.v1``); the
order-router reports the lifecycle of approved orders (``orders.events.v1``):
accepted → (resized) → partially filled → filled / canceled / rejected / expired.
An order with ``size_at_fill`` is sized again by the router when it first fills
(``OrderResized``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol, Self

from pydantic import (
    AllowInfNan,
    Field,
    SerializerFunctionWrapHandler,
    Strict,
    StringConstraints,
    model_serializer,
    model_validator,
)

from jules_contracts.base import (
    Contract,
    Event,
    FiniteFloat,
    Identifier,
    InstrumentId,
    Message,
    NonNegativeFloat,
    PositiveFloat,
    UtcNanos,
)
from jules_contracts.enums import LiquiditySide, OrderSide, OrderType, RiskReason, TimeInForce

__all__ = [
    "CancelOrder",
    "OrderAccepted",
    "OrderApproved",
    "OrderCanceled",
    "OrderDenied",
    "OrderExpired",
    "OrderFilled",
    "OrderPartiallyFilled",
    "OrderRejected",
    "OrderResized",
    "SizeAtFill",
    "SubmitOrder",
    "check_order_terms",
]

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,12}$")]
"""An asset or currency code (``USD``, ``USDT``, ``BTC``)."""


class SizeAtFill(Contract):
    """How the order-router sizes an order when it first fills, at the fill price.

    The order's quantity becomes the position wanted after the fill minus the position (and
    the instrument's other working orders), where the position wanted is
    ``fraction * equity / (price * multiplier * (1 + fee))`` rounded toward zero to ``step``:
    ``price`` the fill price, ``equity`` the account marked at it (less the fee of closing a
    position the order reverses), ``fee`` the fill's fee rate.

    Attributes:
        fraction: The position wanted after the fill, as a signed fraction of equity in
            [-1, 1] (negative: short; zero: flat).
        step: The quantity grid the position wanted is rounded toward zero to (``1.0``:
            whole units); ``None``: the instrument's lot, or no rounding without a spec.
    """

    fraction: Annotated[float, Strict(), AllowInfNan(False), Field(ge=-1, le=1)]
    step: PositiveFloat | None = None


class SubmitOrder(Event):
    """Command: submit an order (an order intent, before risk).

    Attributes:
        client_order_id: Deterministic id derived from the signal, so a replay reuses it.
        account_id: The account that trades.
        instrument_id: What to trade.
        side: Buy or sell.
        quantity: How much, in base units.
        order_type: Market, limit, stop or stop-limit.
        limit_price: Required for limit and stop-limit orders, absent otherwise.
        stop_price: Required for stop and stop-limit orders, absent otherwise.
        time_in_force: How long the order works; ``GTD`` needs ``expire_time``.
        expire_time: When a ``GTD`` order expires.
        reduce_only: The order may only reduce a position.
        strategy_id: The strategy or model behind the order.
        reference_price: Market price when the order was decided (for collars and sizing).
        size_at_fill: Size the order again when it first fills, at the fill price; its
            ``quantity`` is then the estimate at the decision (checked by risk). Absent
            from the JSON when ``None``.
    """

    event_type: Literal["order.submit"] = "order.submit"
    client_order_id: Identifier
    account_id: Identifier
    instrument_id: InstrumentId
    side: OrderSide
    quantity: PositiveFloat
    order_type: OrderType = OrderType.MARKET
    limit_price: PositiveFloat | None = None
    stop_price: PositiveFloat | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    expire_time: UtcNanos | None = None
    reduce_only: bool = False
    strategy_id: Identifier
    reference_price: PositiveFloat | None = None
    size_at_fill: SizeAtFill | None = None

    @model_serializer(mode="wrap")
    def _omit_unused_sizing(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """An order sized at the decision serialises as before the field existed."""
        data: dict[str, Any] = handler(self)
        if self.size_at_fill is None:
            data.pop("size_at_fill", None)
        return data

    @model_validator(mode="after")
    def _check_prices(self) -> Self:
        check_order_terms(self)
        return self


class OrderTerms(Protocol):
    """The fields of an order that must agree with its type and time in force."""

    @property
    def order_type(self) -> OrderType: ...
    @property
    def limit_price(self) -> float | None: ...
    @property
    def stop_price(self) -> float | None: ...
    @property
    def time_in_force(self) -> TimeInForce: ...
    @property
    def expire_time(self) -> int | None: ...


def check_order_terms(order: OrderTerms) -> None:
    """Refuse prices or an expiry the order's type or time in force does not take.

    Raises:
        ValueError: A limit price without a limit type (or the reverse), a stop price without
            a stop type (or the reverse), or an ``expire_time`` without ``GTD`` (or the reverse).
    """
    needs_limit = order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_stop = order.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
    if needs_limit != (order.limit_price is not None):
        raise ValueError(
            f"limit_price is {'required' if needs_limit else 'not allowed'} "
            f"for a {order.order_type.value} order"
        )
    if needs_stop != (order.stop_price is not None):
        raise ValueError(
            f"stop_price is {'required' if needs_stop else 'not allowed'} "
            f"for a {order.order_type.value} order"
        )
    is_gtd = order.time_in_force is TimeInForce.GTD
    if is_gtd != (order.expire_time is not None):
        raise ValueError(
            f"expire_time is {'required' if is_gtd else 'only allowed'} with time_in_force GTD"
        )


class CancelOrder(Event):
    """Command: cancel a working order."""

    event_type: Literal["order.cancel"] = "order.cancel"
    client_order_id: Identifier
    instrument_id: InstrumentId
    reason: Message | None = None


class OrderApproved(Event):
    """Risk approved an order intent, possibly with a smaller quantity.

    Attributes:
        client_order_id: The order's id.
        instrument_id: What it trades.
        quantity: The approved quantity (at most the intent's).
        order: The intent as submitted.
    """

    event_type: Literal["risk.order_approved"] = "risk.order_approved"
    client_order_id: Identifier
    instrument_id: InstrumentId
    quantity: PositiveFloat
    order: SubmitOrder

    @model_validator(mode="after")
    def _check_order(self) -> Self:
        _check_same_order(self.client_order_id, self.instrument_id, self.order)
        if self.quantity > self.order.quantity:
            raise ValueError(
                f"approved quantity {self.quantity} exceeds the intent's {self.order.quantity}"
            )
        return self


class OrderDenied(Event):
    """Risk denied an order intent, with at least one reason code.

    Attributes:
        client_order_id: The order's id.
        instrument_id: What it would have traded.
        reasons: Every control that failed, most important first.
        message: A sentence a person can act on, naming the limit and the value.
        order: The intent as submitted.
    """

    event_type: Literal["risk.order_denied"] = "risk.order_denied"
    client_order_id: Identifier
    instrument_id: InstrumentId
    reasons: Annotated[tuple[RiskReason, ...], Field(min_length=1)]
    message: Message
    order: SubmitOrder

    @model_validator(mode="after")
    def _check_order(self) -> Self:
        _check_same_order(self.client_order_id, self.instrument_id, self.order)
        return self


def _check_same_order(client_order_id: str, instrument_id: str, order: SubmitOrder) -> None:
    if order.client_order_id != client_order_id or order.instrument_id != instrument_id:
        raise ValueError(
            f"decision for {client_order_id}/{instrument_id} carries another order "
            f"({order.client_order_id}/{order.instrument_id})"
        )


class _OrderEvent(Event):
    """Fields every order lifecycle event has."""

    client_order_id: Identifier
    instrument_id: InstrumentId
    venue_order_id: Identifier | None = None


class OrderAccepted(_OrderEvent):
    """The venue accepted the order; it is working."""

    event_type: Literal["order.accepted"] = "order.accepted"


class OrderResized(_OrderEvent):
    """The router sized an order with ``size_at_fill`` at its first fill's price.

    Published before that fill, and only when the quantity changed; nothing of the order has
    filled before. A later fill's cumulative and leaves quantities are the new quantity's.

    Attributes:
        quantity: The order's new quantity.
        previous_quantity: Its quantity before (the approved estimate).
        price: The price it was sized at.
        equity: The equity it was sized on.
    """

    event_type: Literal["order.resized"] = "order.resized"
    quantity: PositiveFloat
    previous_quantity: PositiveFloat
    price: PositiveFloat
    equity: FiniteFloat


class OrderRejected(_OrderEvent):
    """The venue rejected the order."""

    event_type: Literal["order.rejected"] = "order.rejected"
    reason: Message


class _FillEvent(_OrderEvent):
    """A fill of some or all of an order."""

    side: OrderSide
    fill_id: Identifier
    last_quantity: PositiveFloat
    last_price: PositiveFloat
    cumulative_quantity: PositiveFloat
    leaves_quantity: NonNegativeFloat
    average_price: PositiveFloat
    fee: FiniteFloat = 0.0
    fee_currency: Currency | None = None
    liquidity: LiquiditySide = LiquiditySide.TAKER

    @model_validator(mode="after")
    def _check_quantities(self) -> Self:
        if self.cumulative_quantity < self.last_quantity:
            raise ValueError(
                f"cumulative_quantity {self.cumulative_quantity} is below "
                f"last_quantity {self.last_quantity}"
            )
        return self


class OrderPartiallyFilled(_FillEvent):
    """Part of the order filled; ``leaves_quantity`` is still working."""

    event_type: Literal["order.partially_filled"] = "order.partially_filled"

    @model_validator(mode="after")
    def _check_leaves(self) -> Self:
        if self.leaves_quantity <= 0:
            raise ValueError("a partial fill leaves a positive leaves_quantity")
        return self


class OrderFilled(_FillEvent):
    """The order filled completely (this fill was the last)."""

    event_type: Literal["order.filled"] = "order.filled"

    @model_validator(mode="after")
    def _check_leaves(self) -> Self:
        if self.leaves_quantity != 0:
            raise ValueError(f"a complete fill leaves nothing, not {self.leaves_quantity}")
        return self


class OrderCanceled(_OrderEvent):
    """The order was canceled; ``filled_quantity`` had filled before."""

    event_type: Literal["order.canceled"] = "order.canceled"
    filled_quantity: NonNegativeFloat = 0.0
    reason: Message | None = None


class OrderExpired(_OrderEvent):
    """The order expired by its time in force; ``filled_quantity`` had filled before."""

    event_type: Literal["order.expired"] = "order.expired"
    filled_quantity: NonNegativeFloat = 0.0
