"""A strategy's own order (``SignalGenerated.order``): risk turns it into that order, unsized,
with the signal's client order id, and checks it with every control (off the lot: denied)."""

from __future__ import annotations

import pytest
from jules_contracts import (
    OrderApproved,
    OrderDenied,
    OrderRequest,
    OrderSide,
    OrderType,
    RiskReason,
    SignalDirection,
    SignalGenerated,
    SubmitOrder,
    TimeInForce,
)
from jules_contracts.ids import client_order_id
from jules_risk.engine import RiskConfig, RiskEngine, SizingConfig
from jules_risk.engine.requests import requested_order

from .helpers import ACCOUNT, MINUTE, T0, bar, signal, snapshot
from .test_instrument_specs import LTC, TABLE


def order_signal(request: OrderRequest, *, instrument: str = LTC) -> SignalGenerated:
    base = signal(T0, 0.0, instrument=instrument, price=222.48)
    buy = request.side is OrderSide.BUY
    return base.model_copy(
        update={
            "order": request,
            "direction": SignalDirection.LONG if buy else SignalDirection.SHORT,
        }
    )


def decide_on(request: OrderRequest) -> tuple[SubmitOrder, OrderApproved | OrderDenied]:
    config = RiskConfig(
        account_id=ACCOUNT, sizing=SizingConfig(kind="fixed_fraction", fraction=0.5)
    )
    engine = RiskEngine(config, TABLE)
    engine.on_market(bar(T0, 222.48, instrument=LTC))
    events = engine.on_signal(order_signal(request), snapshot(T0))
    [order] = [e for e in events if isinstance(e, SubmitOrder)]
    [decision] = [e for e in events if isinstance(e, OrderApproved | OrderDenied)]
    return order, decision


def test_a_strategys_limit_order_is_sent_as_it_stands_not_sized() -> None:
    request = OrderRequest(
        side=OrderSide.BUY,
        quantity=1.5,
        order_type=OrderType.LIMIT,
        limit_price=221.0,
        time_in_force=TimeInForce.GTD,
        expire_time=T0 + 5 * MINUTE,
    )
    order, decision = decide_on(request)

    assert isinstance(decision, OrderApproved)
    assert decision.quantity == 1.5  # fixed_fraction 0.5 of equity would be ~224 LTC
    assert (order.side, order.quantity, order.order_type, order.limit_price) == (
        OrderSide.BUY,
        1.5,
        OrderType.LIMIT,
        221.0,
    )
    assert (order.time_in_force, order.expire_time) == (TimeInForce.GTD, T0 + 5 * MINUTE)
    assert order.size_at_fill is None
    signal_id = order_signal(request).event_id
    assert order.client_order_id == client_order_id(order.strategy_id, signal_id)
    assert order.causation_id == signal_id


def test_a_strategys_order_off_the_lot_is_denied_with_the_reason() -> None:
    _, decision = decide_on(OrderRequest(side=OrderSide.SELL, quantity=0.123456789))

    assert isinstance(decision, OrderDenied)
    assert decision.reasons[0] is RiskReason.INVALID_ORDER
    assert "lot size" in decision.message


def test_a_target_signal_is_not_an_order_request() -> None:
    with pytest.raises(ValueError, match="asks for a target"):
        requested_order(signal(T0, 0.5), ACCOUNT, "risk")
