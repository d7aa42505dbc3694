"""The service's handler on the in-memory bus: routing by topic, snapshots after bars, and
inputs delivered twice (one order, one reply; the same reply when publishing had failed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from jules_contracts import (
    Bar,
    CancelOrder,
    Event,
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderSide,
    OrderType,
    PortfolioSnapshot,
    RiskReason,
    decode_event,
)
from jules_contracts.topics import ORDERS_EVENTS, PORTFOLIO
from jules_order_router.engine import OrderRouterEngine
from jules_order_router.handlers import INPUT_TOPICS, RouterHandler
from jules_runtime.bus import InMemoryBus, OutboundMessage

from .helpers import (  # type: ignore[import-not-found]
    BTC,
    ETH,
    SECOND,
    approve,
    bar_time,
    make_bar,
    make_book,
    make_engine,
    make_quote,
    make_trade,
    position_of,
    root_id,
)

BUY = OrderSide.BUY
SELL = OrderSide.SELL


class FlakyBus(InMemoryBus):
    """An in-memory bus whose next publication of order events fails once (broker down)."""

    fail_next_order_events = False

    async def send(self, messages: Sequence[OutboundMessage]) -> None:
        if self.fail_next_order_events and any(m.topic == ORDERS_EVENTS.name for m in messages):
            self.fail_next_order_events = False
            raise ConnectionError("broker unavailable")
        await super().send(messages)


async def router_bus(
    bus: InMemoryBus | None = None, **config: Any
) -> tuple[InMemoryBus, RouterHandler]:
    """A started bus with the router's handler subscribed as the service does."""
    bus = bus or InMemoryBus("order-router")
    handler = RouterHandler(make_engine(**config))
    bus.subscribe(INPUT_TOPICS, handler.handle, on_outputs_published=handler.acknowledged)
    await bus.start()
    return bus, handler


async def deliver(bus: InMemoryBus, *events: Event) -> None:
    await bus.publish(*events)
    await bus.drain()


def published(bus: InMemoryBus, topic: str) -> list[Event]:
    return [decode_event(record.value) for record in bus.records(topic)]


def reference(engine: OrderRouterEngine, inputs: Sequence[Event]) -> tuple[list[Event], ...]:
    """The engine run in process: order events and a snapshot after each bar."""
    orders: list[Event] = []
    snapshots: list[Event] = []
    for event in inputs:
        if isinstance(event, CancelOrder):
            orders += engine.on_cancel(event)
        elif isinstance(event, OrderApproved | OrderDenied):
            orders += engine.on_decision(event)
        else:
            orders += engine.on_market(event)  # type: ignore[arg-type]
            if isinstance(event, Bar):
                snapshots.append(engine.snapshot(event.event_time, event))
    return orders, snapshots


async def test_a_decision_delivered_twice_creates_one_order_and_one_reply() -> None:
    bus, handler = await router_bus()
    decision = approve("a", BUY, 2, at=bar_time(0))

    await deliver(bus, make_bar(0, 100.0), decision)
    await deliver(bus, decision)  # a producer retry, or a redelivery after a rebalance
    await deliver(bus, make_bar(1, 101.0), decision)

    events = published(bus, ORDERS_EVENTS.name)
    assert [type(e) for e in events] == [OrderAccepted, OrderFilled]
    assert events[1].last_quantity == 2.0  # type: ignore[attr-defined]
    assert position_of(handler.engine).quantity == 2.0
    assert [o.client_order_id for o in handler.engine.working_orders] == []
    order = handler.engine.order(decision.client_order_id)
    assert order is not None
    assert order.filled_quantity == 2.0
    expected_orders, _ = reference(
        make_engine(), [make_bar(0, 100.0), decision, make_bar(1, 101.0)]
    )
    assert events == expected_orders


async def test_a_decision_read_again_after_a_failed_publication_gets_the_same_reply() -> None:
    bus, handler = await router_bus(FlakyBus("order-router"))
    decision = approve("a", BUY, 2, at=bar_time(0))
    assert isinstance(bus, FlakyBus)
    bus.fail_next_order_events = True

    await bus.publish(decision)
    with pytest.raises(ConnectionError):
        await bus.drain()  # not committed: the decision is read again
    await bus.drain()

    [accepted] = published(bus, ORDERS_EVENTS.name)
    assert accepted == make_engine().on_decision(decision)[0]
    assert len(handler.engine.working_orders) == 1
    assert handler.engine.working_orders[0].venue_order_id == "SIM-00000001"


async def test_the_outputs_equal_the_engine_run_in_process_with_a_snapshot_after_each_bar() -> None:
    buy = approve("b", BUY, 3, at=bar_time(1))
    sell = approve("s", SELL, 1, at=bar_time(3), instrument=ETH)
    inputs: list[Event] = [
        make_bar(0, 100.0),
        make_bar(0, 10.0, instrument=ETH),
        make_bar(1, 101.0),
        buy,
        make_bar(1, 11.0, instrument=ETH),
        make_bar(2, 103.0, 104.0, 99.0, 100.0),
        make_bar(2, 12.0, instrument=ETH),
        make_bar(3, 99.0),
        sell,
        make_bar(3, 11.5, instrument=ETH),
        make_bar(4, 98.0),
        make_bar(4, 11.0, instrument=ETH),
    ]
    bus, _ = await router_bus(fees={"taker_bps": 5.0})

    await deliver(bus, *inputs)

    orders, snapshots = reference(make_engine(fees={"taker_bps": 5.0}), inputs)
    assert published(bus, ORDERS_EVENTS.name) == orders
    assert published(bus, PORTFOLIO.name) == snapshots
    assert len(snapshots) == 10
    assert [type(e).__name__ for e in orders] == [
        "OrderAccepted",
        "OrderFilled",
        "OrderAccepted",
        "OrderFilled",
    ]
    last = snapshots[-1]
    assert isinstance(last, PortfolioSnapshot)
    assert {p.instrument_id: p.quantity for p in last.positions} == {BTC: 3.0, ETH: -1.0}


async def test_submit_orders_are_not_routed_and_denials_create_nothing() -> None:
    decision = approve("a", BUY, 2, at=bar_time(0))
    denied = OrderDenied.derive(
        decision.order,
        source="risk",
        client_order_id=decision.client_order_id,
        instrument_id=BTC,
        reasons=(RiskReason.ORDER_NOTIONAL_LIMIT,),
        message="too big",
        order=decision.order,
    )
    bus, handler = await router_bus()

    await deliver(bus, decision.order, denied, make_bar(1, 100.0))

    assert published(bus, ORDERS_EVENTS.name) == []
    assert handler.engine.order(decision.client_order_id) is None
    assert len(published(bus, PORTFOLIO.name)) == 1


async def test_a_cancel_on_the_intents_topic_cancels_a_working_order_once() -> None:
    decision = approve("l", BUY, 1, at=bar_time(0), order_type=OrderType.LIMIT, limit=90.0)
    cancel = CancelOrder.derive(
        decision,
        source="risk",
        client_order_id=decision.client_order_id,
        instrument_id=BTC,
        reason="stale",
    )
    bus, handler = await router_bus()

    await deliver(bus, decision, make_bar(1, 100.0), cancel, cancel)

    events = published(bus, ORDERS_EVENTS.name)
    assert [type(e) for e in events] == [OrderAccepted, OrderCanceled]
    assert events[1].causation_id == cancel.event_id
    assert handler.engine.working_orders == ()


@pytest.mark.parametrize(
    ("fill_model", "market"),
    [
        ({"kind": "l1_quote"}, make_quote(bar_time(0) + SECOND, 99.0, 101.0)),
        ({"kind": "l2_book"}, make_book(bar_time(0) + SECOND, [(99.0, 5.0)], [(101.0, 5.0)])),
        ({"kind": "kyle_lambda", "impact_lambda": 0.0}, make_trade(bar_time(0) + SECOND, 101.0, 9)),
    ],
)
async def test_quotes_books_and_trades_reach_the_engine(
    fill_model: dict[str, Any], market: Event
) -> None:
    decision = approve("q", BUY, 1, at=bar_time(0))
    bus, handler = await router_bus(fill_model=fill_model)

    await deliver(bus, decision, market)

    [_, filled] = published(bus, ORDERS_EVENTS.name)
    assert isinstance(filled, OrderFilled)
    assert filled.last_price == 101.0
    assert position_of(handler.engine).quantity == 1.0
    assert published(bus, PORTFOLIO.name) == []  # snapshots follow bars only


async def test_a_bar_delivered_again_publishes_nothing_more() -> None:
    bus, _ = await router_bus()
    decision = approve("a", BUY, 2, at=bar_time(0))
    first, second = make_bar(1, 100.0), make_bar(2, 101.0)

    await deliver(bus, decision, first, first, second, first)

    assert [type(e) for e in published(bus, ORDERS_EVENTS.name)] == [OrderAccepted, OrderFilled]
    snapshots = published(bus, PORTFOLIO.name)
    assert [s.causation_id for s in snapshots] == [first.event_id, second.event_id]


async def test_a_bar_read_again_before_acknowledgement_gets_its_first_snapshot() -> None:
    handler = RouterHandler(make_engine())
    await handler.handle(approve("a", BUY, 2, at=bar_time(0)))
    await handler.handle(approve("e", BUY, 1, at=bar_time(0), instrument=ETH))
    bar = make_bar(1, 100.0)

    first = await handler.handle(bar)
    await handler.handle(make_bar(1, 50.0, instrument=ETH))  # fills: the account changes
    again = await handler.handle(bar)  # e.g. publishing the first outputs failed

    assert again == first
    assert [type(e) for e in first] == [OrderFilled, PortfolioSnapshot]
    assert handler.engine.snapshot(bar.event_time, bar) != first[-1]  # same id, newer account


async def test_a_late_bar_gets_no_snapshot_and_changes_no_mark() -> None:
    handler = RouterHandler(make_engine())
    await handler.handle(approve("a", BUY, 2, at=bar_time(0)))
    await handler.handle(make_bar(1, 100.0))
    await handler.handle(make_bar(3, 110.0))
    late = Bar.model_validate({**make_bar(2, 90.0).model_dump(), "event_id": root_id("late bar")})

    assert await handler.handle(late) == []
    assert position_of(handler.engine).last_price == 110.0


async def test_a_bar_closed_by_a_trade_read_before_it_gets_a_snapshot_at_the_trade() -> None:
    """Live: the trade that closes a bar is on its topic before the bar is on its own."""
    handler = RouterHandler(make_engine())
    await handler.handle(make_trade(bar_time(1) + 5, 100.0, 1.0))
    bar = make_bar(1, 100.0)

    outputs = await handler.handle(bar)
    again = await handler.handle(make_bar(1, 100.0))  # the same bar delivered again: no second
    late = Bar.model_validate({**make_bar(0, 90.0).model_dump(), "event_id": root_id("late")})

    assert [type(e) for e in outputs] == [PortfolioSnapshot]
    assert outputs[0].event_time == bar_time(1) + 5  # the account as of the trade
    assert outputs[0].causation_id == bar.event_id
    assert again == []
    assert await handler.handle(late) == []
