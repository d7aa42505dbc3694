"""Users' strategies answering with orders (``Strategy.order``): the order's type from its
prices, its signal (the side's direction, no target), one signal per order, its fills told as
the strategy's own, and the LimitDip example's orders."""

from __future__ import annotations

from typing import Any

import pytest
from jules_contracts import OrderSide, OrderType, SignalDirection, TimeInForce
from jules_contracts.ids import client_order_id
from jules_signal.engine import PythonStrategy, StrategyQuarantinedError
from jules_signal.examples.limit_dip import LimitDip, LimitDipParams
from jules_signal.sdk import Bar, Features, Fill, Params, Strategy

from .builders import BTC, make_bar, make_features
from .test_fill_hook import MINUTE, ROW, decide, fill


class Orders(Strategy[Params]):
    """Places the orders of ``self.plan`` on each bar."""

    plan: list[dict[str, Any]]

    def on_start(self) -> None:
        self.plan = []

    def on_bar(self, bar: Bar, features: Features) -> None:
        for terms in self.plan:
            terms = dict(terms)
            quantity = terms.pop("quantity")
            assert isinstance(quantity, float)
            self.order(bar.instrument_id, quantity, **terms)

    def on_fill(self, fill: Fill) -> None:
        self.mine = self.is_mine(fill)


def strategy_with(*plan: dict[str, object]) -> PythonStrategy:
    strategy = PythonStrategy(Orders(Params()), "orders")
    strategy.on_features(make_features(make_bar(0), ROW), make_bar(0))  # on_start, no plan
    user = strategy.strategy
    assert isinstance(user, Orders)
    user.plan = list(plan)
    return strategy


@pytest.mark.parametrize(
    ("terms", "order_type"),
    [
        ({}, OrderType.MARKET),
        ({"limit_price": 99.0}, OrderType.LIMIT),
        ({"stop_price": 98.0}, OrderType.STOP),
        ({"limit_price": 97.5, "stop_price": 98.0}, OrderType.STOP_LIMIT),
    ],
)
def test_an_orders_type_follows_the_prices_given(
    terms: dict[str, object], order_type: OrderType
) -> None:
    strategy = strategy_with({"quantity": -0.25, **terms})
    [signal] = decide(strategy, 1, close=100.0)

    assert signal.order is not None
    assert signal.order.order_type is order_type
    assert (signal.order.side, signal.order.quantity) == (OrderSide.SELL, 0.25)
    assert (signal.direction, signal.target_weight) == (SignalDirection.SHORT, 0.0)
    assert signal.reference_price == 100.0
    assert strategy.strategy.position(BTC) == 0.0  # an order is not a target


def test_each_order_is_its_own_signal_after_the_targets_and_its_fills_are_mine() -> None:
    strategy = strategy_with(
        {"quantity": 1.0, "limit_price": 99.0, "time_in_force": "gtd", "expire_time": 7},
        {"quantity": 1.0, "limit_price": 99.0, "time_in_force": "GTD", "expire_time": 7},
    )
    first, second = decide(strategy, 1)

    assert first.event_id != second.event_id  # the same order twice is two orders
    assert first.order == second.order
    assert first.order is not None
    assert first.order.time_in_force is TimeInForce.GTD
    own = client_order_id("orders", second.event_id)
    strategy.on_fill(fill(2, own, OrderSide.BUY, 1.0, 99.0))
    assert strategy.strategy.mine is True  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("terms", "words"),
    [
        ({"quantity": 0.0}, "is not a number"),
        ({"quantity": 1.0, "time_in_force": "GTD"}, "expire_time is required"),
        ({"quantity": 1.0, "time_in_force": "SOMETIME"}, "SOMETIME"),
    ],
)
def test_an_order_that_cannot_be_placed_quarantines_the_strategy(
    terms: dict[str, object], words: str
) -> None:
    strategy = strategy_with(terms)
    with pytest.raises(StrategyQuarantinedError, match=words):
        decide(strategy, 1)
    assert decide(strategy, 2) == []


def test_limit_dip_bids_under_the_close_then_offers_above_its_fill() -> None:
    params = LimitDipParams(quantity=0.5, dip=0.002, bid_minutes=5, take_profit=0.003)
    strategy = PythonStrategy(LimitDip(params), "dip")
    [bid] = decide(strategy, 0, close=1000.0)
    assert bid.order is not None
    assert (bid.order.order_type, bid.order.limit_price) == (OrderType.LIMIT, 998.0)
    assert bid.order.expire_time == bid.event_time + 5 * MINUTE
    assert decide(strategy, 1, close=990.0) == []  # the bid still works

    [offer] = strategy.on_fill(
        fill(2, client_order_id("dip", bid.event_id), OrderSide.BUY, 0.5, 998.0)
    )
    assert offer.order is not None
    assert (offer.order.side, offer.order.quantity) == (OrderSide.SELL, 0.5)
    assert (offer.order.limit_price, offer.order.reduce_only) == (1000.99, True)
