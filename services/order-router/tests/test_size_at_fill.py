"""Orders sized at the fill price (``SubmitOrder.size_at_fill``): the quantity is set on the
event the order first fills on, from the equity at that price, as backtesting.py sizes a
relative order (``units = floor(fraction * equity / (price * (1 + commission)))``)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from jules_contracts import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderPartiallyFilled,
    OrderResized,
    OrderSide,
    OrderType,
    SizeAtFill,
)
from jules_contracts.instruments import InstrumentSpec
from jules_order_router.engine import FeeSchedule, OrderRouterEngine, RouterConfig
from jules_order_router.engine.resize import size_at_fill

from .helpers import (  # type: ignore[import-not-found]
    ACCOUNT,
    BTC,
    approve,
    bar_time,
    fills,
    make_bar,
    position_of,
    reason_of,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL
CASH = 100_000.0
TAKER_BPS = 10.0  # a commission of 0.1 %
ALL_IN = SizeAtFill(fraction=1.0, step=1.0)
ALL_SHORT = SizeAtFill(fraction=-1.0, step=1.0)
ES = "ESZ4.XCME"
ES_SPEC = InstrumentSpec(
    instrument_id=ES,
    tick_size=0.25,
    lot_size=1.0,
    multiplier=50.0,
    quote_currency="USD",
    fee_per_contract=2.0,
)


def engine(specs: dict[str, InstrumentSpec] | None = None, **overrides: Any) -> OrderRouterEngine:
    fields: dict[str, Any] = {
        "account_id": ACCOUNT,
        "currency": "USDT",
        "starting_cash": CASH,
        "fees": FeeSchedule(taker_bps=TAKER_BPS),
    }
    return OrderRouterEngine(RouterConfig(**(fields | overrides)), specs)


def backtesting_py_units(cash: float, fraction: float, price: float, commission: float) -> int:
    """backtesting.py's size of a relative order: its own arithmetic, on its cash."""
    return int((cash * fraction) // (price + price * commission))


def long_11_at_9000(router: OrderRouterEngine) -> list[Any]:
    """Decided at bar 0 with an estimate of 9, sized and filled at bar 1's open of 9,000."""
    router.on_decision(approve("long", BUY, 9, at=bar_time(0), size_at_fill=ALL_IN))
    return router.on_market(make_bar(1, 9_000, close=9_100))


def test_an_order_is_sized_at_the_open_it_fills_at_before_its_fill() -> None:
    router = engine()

    resized, filled = long_11_at_9000(router)

    units = backtesting_py_units(CASH, 1.0, 9_000.0, TAKER_BPS / 10_000)
    assert units == 11
    assert isinstance(resized, OrderResized)
    assert (resized.quantity, resized.previous_quantity) == (11.0, 9.0)
    assert (resized.price, resized.equity) == (9_000.0, CASH)
    assert resized.event_time == bar_time(1)
    assert isinstance(filled, OrderFilled)
    assert (filled.last_quantity, filled.last_price) == (11.0, 9_000.0)
    assert (filled.cumulative_quantity, filled.leaves_quantity) == (11.0, 0.0)
    assert filled.fee == pytest.approx(99.0)
    assert router.cash == pytest.approx(CASH - 99_000.0 - 99.0)  # all equity, never below 0
    assert router.order(filled.client_order_id).quantity == 11.0  # type: ignore[union-attr]


def test_a_reversal_is_sized_on_the_equity_left_after_closing_the_position() -> None:
    router = engine()
    long_11_at_9000(router)
    router.on_decision(approve("short", SELL, 20, at=bar_time(1), size_at_fill=ALL_SHORT))

    resized, filled = router.on_market(make_bar(2, 10_000))

    cash = CASH - 99.0 + 11 * 1_000.0 - 110.0  # backtesting.py's cash once the long is closed
    assert isinstance(resized, OrderResized)
    assert resized.equity == pytest.approx(cash)
    assert backtesting_py_units(cash, 1.0, 10_000.0, TAKER_BPS / 10_000) == 11
    assert (resized.quantity, resized.previous_quantity) == (22.0, 20.0)
    assert isinstance(filled, OrderFilled)
    assert filled.side is SELL
    assert filled.last_quantity == 22.0
    assert filled.fee == pytest.approx(220.0)
    assert position_of(router).quantity == -11.0
    assert router.equity == pytest.approx(cash - 11 * 10_000.0 * TAKER_BPS / 10_000)


@pytest.mark.parametrize(
    ("sizing", "side"),
    [(ALL_IN, BUY), (SizeAtFill(fraction=0.5, step=1.0), BUY)],
    ids=["already-held", "other-side"],
)
def test_an_order_with_nothing_to_trade_in_its_direction_is_canceled(
    sizing: SizeAtFill, side: OrderSide
) -> None:
    router = engine()
    long_11_at_9000(router)
    approval = approve("again", side, 1, at=bar_time(1), size_at_fill=sizing)
    router.on_decision(approval)

    [canceled] = router.on_market(make_bar(2, 9_000))

    assert isinstance(canceled, OrderCanceled)
    assert reason_of(canceled).startswith("NOTHING_TO_TRADE_AT_FILL: sized at the fill price")
    assert canceled.filled_quantity == 0.0
    assert router.working_orders == ()
    assert position_of(router).quantity == 11.0


def test_the_lot_the_multiplier_and_the_fee_per_contract_size_a_contract() -> None:
    router = engine({ES: ES_SPEC}, starting_cash=1_000_000.0, fees=FeeSchedule(taker_bps=1.0))
    half = SizeAtFill(fraction=0.5)  # no step: the instrument's lot
    router.on_decision(approve("es", BUY, 3, at=bar_time(0), instrument=ES, size_at_fill=half))

    resized, filled = router.on_market(make_bar(1, 4_000, instrument=ES))

    unit = 4_000 * 50 * (1 + 1e-4) + 2.0
    assert math.floor(0.5 * 1_000_000 / unit) == 2
    assert isinstance(resized, OrderResized)
    assert resized.quantity == 2.0
    assert isinstance(filled, OrderFilled)
    assert filled.last_quantity == 2.0
    assert filled.fee == pytest.approx(2 * 4_000 * 50 * 1e-4 + 2 * 2.0)


def test_an_order_below_the_minimum_that_closes_nothing_is_canceled() -> None:
    spec = ES_SPEC.model_copy(update={"min_quantity": 3.0})
    router = engine({ES: spec}, starting_cash=1_000_000.0)
    half = SizeAtFill(fraction=0.5)
    router.on_decision(approve("es", BUY, 3, at=bar_time(0), instrument=ES, size_at_fill=half))

    [canceled] = router.on_market(make_bar(1, 4_000, instrument=ES))

    assert isinstance(canceled, OrderCanceled)
    assert reason_of(canceled).startswith("NOTHING_TO_TRADE_AT_FILL")


def test_a_redelivered_market_event_returns_its_first_events_and_changes_nothing() -> None:
    router, twin = engine(), engine()
    first = long_11_at_9000(router)
    cash, order = router.cash, router.order(first[1].client_order_id)

    again = router.on_market(make_bar(1, 9_000, close=9_100))

    assert again == first
    assert (router.cash, router.order(first[1].client_order_id)) == (cash, order)
    assert position_of(router).quantity == 11.0
    assert long_11_at_9000(twin) == first  # the same inputs give the same events


def test_the_other_working_orders_of_the_instrument_count_as_if_filled() -> None:
    router = engine()
    router.on_decision(approve("sized", BUY, 9, at=bar_time(0), size_at_fill=ALL_IN))
    router.on_decision(approve("plain", BUY, 3, at=bar_time(0)))

    events = router.on_market(make_bar(1, 9_000))

    resized = next(e for e in events if isinstance(e, OrderResized))
    assert resized.quantity == 8.0  # 11 wanted, 3 coming from the plain order
    assert [f.last_quantity for f in fills(events)] == [8.0, 3.0]
    assert position_of(router).quantity == 11.0


def test_a_partial_fill_carries_the_cumulative_and_leaves_of_the_sized_order() -> None:
    router = engine(max_participation=0.005)  # 5 units of a 1,000 volume bar
    router.on_decision(approve("capped", BUY, 9, at=bar_time(0), size_at_fill=ALL_IN))

    events = [e for i in (1, 2, 3) for e in router.on_market(make_bar(i, 9_000))]

    assert isinstance(events[0], OrderResized)
    assert events[0].quantity == 11.0
    parts = fills(events)
    assert [type(f) for f in parts] == [OrderPartiallyFilled, OrderPartiallyFilled, OrderFilled]
    assert [(f.cumulative_quantity, f.leaves_quantity) for f in parts] == [
        (5.0, 6.0),
        (10.0, 1.0),
        (11.0, 0.0),
    ]
    assert sum(isinstance(e, OrderResized) for e in events) == 1  # sized once, at the first


def test_a_limit_order_is_sized_at_the_price_it_fills_at_with_its_fee_rate() -> None:
    router = engine(fees=FeeSchedule(maker_bps=-2.0, taker_bps=TAKER_BPS))
    approval = approve(
        "limit",
        BUY,
        9,
        at=bar_time(0),
        order_type=OrderType.LIMIT,
        limit=8_000,
        size_at_fill=ALL_IN,
    )
    [accepted] = router.on_decision(approval)
    assert isinstance(accepted, OrderAccepted)

    assert router.on_market(make_bar(1, 9_000, low=8_500)) == []  # not filled, not sized
    resized, filled = router.on_market(make_bar(2, 8_200, low=7_900))

    assert isinstance(resized, OrderResized)
    assert resized.price == 8_000.0
    assert resized.quantity == math.floor(CASH / (8_000 * (1 - 2e-4)))
    assert isinstance(filled, OrderFilled)
    assert filled.last_price == 8_000.0


def test_sizing_rounds_the_target_toward_zero_and_needs_positive_equity() -> None:
    def sized(fraction: float, equity: float, position: float = 0.0) -> float:
        sizing = SizeAtFill(fraction=fraction, step=0.5)
        side = BUY if fraction > 0 else SELL
        return size_at_fill(
            sizing, side, 100.0, equity=equity, position=position, working=0.0, fee_bps=0.0
        ).quantity

    assert sized(1.0, 1_075.0) == 10.5
    assert sized(-0.5, 1_075.0) == 5.0  # -5.375 toward zero
    assert sized(1.0, -10.0) == 0.0
    assert sized(-1.0, 1_000.0, position=4.0) == 14.0  # close 4, then short 10


def test_equity_at_a_price_marks_only_that_instrument() -> None:
    router = engine()
    long_11_at_9000(router)

    assert router._portfolio.equity_at(BTC, 9_500.0) == pytest.approx(router.cash + 11 * 9_500.0)
    assert router._portfolio.equity_at("ETHUSDT.BINANCE", 1.0) == pytest.approx(router.equity)
