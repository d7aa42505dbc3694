"""The router engine's state as entities, restored into a new engine (round trips)."""

from __future__ import annotations

from jules_contracts.enums import OrderSide, OrderType
from jules_order_router.engine import OrderRouterEngine
from jules_order_router.engine.state import restore_router_state, router_state
from jules_runtime.bus.state_codec import dumps_state, loads_state

from .helpers import (  # type: ignore[import-not-found]
    ETH,
    approve,
    make_bar,
    make_engine,
)


def _through_json(engine: OrderRouterEngine) -> dict[str, object]:
    return {key: loads_state(dumps_state(value)) for key, value in router_state(engine).items()}


def _encoded(engine: OrderRouterEngine) -> dict[str, bytes]:
    return {key: dumps_state(value) for key, value in router_state(engine).items()}


def _restored(engine: OrderRouterEngine, **config: object) -> OrderRouterEngine:
    fresh: OrderRouterEngine = make_engine(**config)
    restore_router_state(fresh, _through_json(engine))
    return fresh


def test_positions_and_partially_filled_working_orders_survive_a_round_trip() -> None:
    config = {"max_participation": 0.1}
    engine = make_engine(**config)
    engine.on_decision(approve("big", OrderSide.BUY, 500, at=make_bar(0, 100).event_time))
    engine.on_decision(
        approve("limit", OrderSide.SELL, 3, at=0, order_type=OrderType.LIMIT, limit=150)
    )
    engine.on_decision(approve("eth", OrderSide.BUY, 2, at=0, instrument=ETH))
    engine.on_market(make_bar(1, 100, volume=1_000))
    engine.on_market(make_bar(1, 10, volume=1_000, instrument=ETH))
    partial = engine.order(approve("big", OrderSide.BUY, 500, at=0).client_order_id)
    assert partial is not None
    assert 0 < partial.filled_quantity < partial.quantity

    restored = _restored(engine, **config)

    assert _encoded(restored) == _encoded(engine)
    assert restored.working_orders == engine.working_orders
    assert restored.positions == engine.positions
    assert restored.cash == engine.cash
    later = [make_bar(2, 101, volume=1_000), make_bar(3, 151, volume=1_000)]
    for bar in later:
        assert restored.on_market(bar) == engine.on_market(bar)
    assert _encoded(restored) == _encoded(engine)


def test_a_finished_order_stays_known_and_a_repeated_decision_gets_its_first_reply() -> None:
    engine = make_engine()
    decision = approve("once", OrderSide.BUY, 1, at=0)
    first = engine.on_decision(decision)
    engine.on_market(make_bar(1, 100))
    assert not engine.working_orders
    state = router_state(engine)
    assert not any(key.startswith("order/") for key in state)
    assert any(key.startswith("done/") for key in state)

    restored = _restored(engine)

    assert restored.on_decision(decision) == engine.on_decision(decision) == first
    again = approve("again", OrderSide.BUY, 1, at=2, coid=decision.client_order_id)
    assert restored.on_decision(again) == engine.on_decision(again)
