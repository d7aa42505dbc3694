"""``SignalGenerated.order``: a strategy's order instead of a target, its checks, and a target
signal written as before the field existed."""

from __future__ import annotations

import json

import pytest
from jules_contracts import (
    OrderRequest,
    OrderSide,
    OrderType,
    SignalDirection,
    SignalGenerated,
    TimeInForce,
    decode_event,
    encode_event,
)
from pydantic import ValidationError

T0 = 1_700_000_000_000_000_000


def order_signal(request: OrderRequest, **fields: object) -> SignalGenerated:
    values: dict[str, object] = {
        "event_id": "0b9f4a0e-5b8c-4d2a-9f5e-3c1d2e3f4a5b",
        "source": "signal",
        "event_time": T0,
        "instrument_id": "BTCUSD.COINBASE",
        "strategy_id": "dip",
        "direction": SignalDirection.LONG,
        "target_weight": 0.0,
        "order": request,
    }
    return SignalGenerated.model_validate(values | fields)


def test_an_order_signal_round_trips_with_its_terms() -> None:
    request = OrderRequest(
        side=OrderSide.BUY,
        quantity=0.5,
        order_type=OrderType.STOP_LIMIT,
        limit_price=101.0,
        stop_price=100.5,
        time_in_force=TimeInForce.GTD,
        expire_time=T0 + 60_000_000_000,
        reduce_only=True,
    )
    signal = order_signal(request)

    assert decode_event(encode_event(signal)) == signal


def test_a_target_signal_is_written_without_an_order_field() -> None:
    signal = order_signal(OrderRequest(side=OrderSide.BUY, quantity=1.0)).model_copy(
        update={"order": None, "target_weight": 0.5}
    )
    assert "order" not in json.loads(encode_event(signal))


@pytest.mark.parametrize(
    ("terms", "words"),
    [
        ({"order_type": OrderType.LIMIT}, "limit_price is required"),
        ({"stop_price": 99.0}, "stop_price is not allowed"),
        ({"time_in_force": TimeInForce.GTD}, "expire_time is required"),
        ({"quantity": 0.0}, "greater than 0"),
    ],
)
def test_an_order_with_terms_that_disagree_is_refused_naming_them(
    terms: dict[str, object], words: str
) -> None:
    with pytest.raises(ValidationError, match=words):
        OrderRequest.model_validate({"side": OrderSide.BUY, "quantity": 1.0} | terms)


@pytest.mark.parametrize(
    ("side", "direction", "weight"),
    [
        (OrderSide.SELL, SignalDirection.LONG, 0.0),  # a sell is SHORT
        (OrderSide.BUY, SignalDirection.LONG, 0.5),  # an order carries no target
    ],
)
def test_an_order_signals_direction_is_its_side_and_its_target_zero(
    side: OrderSide, direction: SignalDirection, weight: float
) -> None:
    with pytest.raises(ValidationError, match="a signal with an order has direction"):
        order_signal(
            OrderRequest(side=side, quantity=1.0), direction=direction, target_weight=weight
        )
