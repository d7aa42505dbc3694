"""Signals produced by strategies and policies (``signals.v1``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from jules_contracts.base import (
    Contract,
    Event,
    Identifier,
    InstrumentId,
    PositiveFloat,
    Probability,
    UtcNanos,
)
from jules_contracts.enums import OrderSide, OrderType, SignalDirection, TimeInForce
from jules_contracts.features import FeatureSchemaId
from jules_contracts.orders import check_order_terms

__all__ = ["OrderRequest", "SignalGenerated", "direction_of"]


def direction_of(target_weight: float) -> SignalDirection:
    """The direction a target weight stands for: its sign (zero is flat)."""
    if target_weight > 0:
        return SignalDirection.LONG
    if target_weight < 0:
        return SignalDirection.SHORT
    return SignalDirection.FLAT


class OrderRequest(Contract):
    """An order a strategy answers with instead of a target (``SignalGenerated.order``).

    Risk checks it as it stands (no sizing) and, approved, the router works it.

    Attributes:
        side: Buy or sell.
        quantity: How much, in base units (on the instrument's lot, or risk denies it).
        order_type: Market, limit, stop or stop-limit.
        limit_price: Required for limit and stop-limit orders, absent otherwise.
        stop_price: Required for stop and stop-limit orders, absent otherwise.
        time_in_force: How long the order works; ``GTD`` needs ``expire_time``.
        expire_time: When a ``GTD`` order expires.
        reduce_only: The order may only reduce a position.
    """

    side: OrderSide
    quantity: PositiveFloat
    order_type: OrderType = OrderType.MARKET
    limit_price: PositiveFloat | None = None
    stop_price: PositiveFloat | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    expire_time: UtcNanos | None = None
    reduce_only: bool = False

    @model_validator(mode="after")
    def _check_terms(self) -> Self:
        check_order_terms(self)
        return self


class SignalGenerated(Event):
    """A strategy's wish for one instrument: a target position, or an order.

    Attributes:
        instrument_id: Which instrument.
        strategy_id: The strategy or model that decided.
        direction: Long, short or flat.
        target_weight: Target position as a signed fraction of equity in [-1, 1]; its sign
            agrees with ``direction`` (zero for flat).
        strength: Confidence in [0, 1].
        reference_price: The price the decision was made on (last close or mid).
        model_version: Version of the ONNX policy, for a model-driven signal.
        feature_schema_id: Schema of the features the decision used.
        order: An order to place as it stands, instead of a target: ``direction`` is its
            side's (``LONG`` to buy, ``SHORT`` to sell) and ``target_weight`` is 0. Absent
            from the JSON when ``None``.
    """

    event_type: Literal["signal.generated"] = "signal.generated"
    instrument_id: InstrumentId
    strategy_id: Identifier
    direction: SignalDirection
    target_weight: Annotated[float, Field(ge=-1, le=1, strict=True, allow_inf_nan=False)]
    strength: Probability = 1.0
    reference_price: PositiveFloat | None = None
    model_version: Identifier | None = None
    feature_schema_id: FeatureSchemaId | None = None

    order: OrderRequest | None = None

    @model_serializer(mode="wrap")
    def _omit_no_order(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A target signal serialises as before the field existed."""
        data: dict[str, Any] = handler(self)
        if self.order is None:
            data.pop("order", None)
        return data

    @model_validator(mode="after")
    def _check_direction(self) -> Self:
        if self.order is not None:
            side = (
                SignalDirection.LONG if self.order.side is OrderSide.BUY else SignalDirection.SHORT
            )
            if self.direction is not side or self.target_weight != 0:
                raise ValueError(
                    f"a signal with an order has direction {side.value} (its side) and "
                    f"target_weight 0, not {self.direction.value} and {self.target_weight}"
                )
            return self
        if direction_of(self.target_weight) is not self.direction:
            raise ValueError(
                f"target_weight {self.target_weight} contradicts direction {self.direction.value}"
            )
        return self
