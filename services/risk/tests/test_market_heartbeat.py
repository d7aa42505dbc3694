"""Live market-data's heartbeat moves the engine's clock (``on_clock``), so a silent feed ages.

Live, the engine's clock is the venues' time of the events it is given; an instrument whose
feed stalls would never grow old without the heartbeat (a ``Watermark`` of ``market-data`` on
``watermarks.v1``), which ``RiskService`` turns into ``engine.on_clock``.
"""

from __future__ import annotations

from jules_contracts import (
    OrderApproved,
    OrderDenied,
    OrderSide,
    RiskReason,
    Watermark,
    market_heartbeat,
)
from jules_risk.engine import RiskEngine
from jules_risk.engine.state import risk_state
from jules_risk.handlers import RiskService
from jules_risk.state import restore_service_state, service_state
from jules_runtime.bus.state_codec import dumps_state, loads_state

from .helpers import BTC, ETH, SECOND, T0, bar, decide, intent, make_engine, snapshot

MAX_AGE = 30 * SECOND


def _engine() -> RiskEngine:
    return make_engine(reference_max_age_ns=None, stale_market_data_max_age_ns=MAX_AGE)


def _heartbeat(t: int, **other: str) -> Watermark:
    """Market-data's heartbeat at ``t``; with ``other`` fields, another service's watermark."""
    return market_heartbeat(t).model_copy(update=other)


def _decision(engine: RiskEngine, side: OrderSide, quantity: float, key: str) -> object:
    """An intent made at the last market time the engine was given (as a strategy's is)."""
    portfolio = snapshot(T0, positions={BTC: 5.0})
    return decide(engine, intent(T0, side, quantity, client_order_id=key), portfolio)


def test_the_clock_only_moves_forward() -> None:
    engine = _engine()
    engine.on_clock(T0 + 10 * SECOND)
    engine.on_clock(T0)
    assert engine.now == T0 + 10 * SECOND
    engine.on_market(bar(T0 + 5 * SECOND, 100.0))
    assert engine.now == T0 + 10 * SECOND


def test_a_silent_instrument_is_stale_once_the_clock_passes_its_limit() -> None:
    engine = _engine()
    engine.on_market(bar(T0, 100.0))
    engine.on_market(bar(T0, 10.0, instrument=ETH))
    fresh = _decision(engine, OrderSide.BUY, 1.0, "before")

    engine.on_clock(T0 + MAX_AGE + 1)
    increasing = _decision(engine, OrderSide.BUY, 1.0, "silent-buy")
    reducing = _decision(engine, OrderSide.SELL, 1.0, "silent-sell")
    engine.on_market(bar(T0 + MAX_AGE + 2, 10.0, instrument=ETH))  # the other feed goes on
    still = _decision(engine, OrderSide.BUY, 1.0, "still-silent")
    engine.on_market(bar(T0 + MAX_AGE + 3, 101.0))  # the feed is back
    resumed = _decision(engine, OrderSide.BUY, 1.0, "resumed")

    assert isinstance(fresh, OrderApproved)
    assert isinstance(increasing, OrderDenied)
    assert RiskReason.STALE_MARKET_DATA in increasing.reasons
    assert isinstance(reducing, OrderApproved)
    assert isinstance(still, OrderDenied)
    assert isinstance(resumed, OrderApproved)


def test_within_the_limit_the_clock_denies_nothing() -> None:
    engine = _engine()
    engine.on_market(bar(T0, 100.0))
    engine.on_clock(T0 + MAX_AGE)
    assert isinstance(_decision(engine, OrderSide.BUY, 1.0, "at-limit"), OrderApproved)


def test_the_service_moves_the_clock_on_market_datas_heartbeat_only() -> None:
    service = RiskService(_engine())
    service.process(bar(T0, 100.0))
    for other in (
        _heartbeat(T0 + 99 * SECOND, service="order-router"),
        _heartbeat(T0 + 99 * SECOND, stream="md.bars.v1"),
    ):
        assert service.process(other) == []
    assert service.engine.now == T0

    beat = _heartbeat(T0 + MAX_AGE + 1)
    assert service.process(beat) == []
    assert service.engine.now == T0 + MAX_AGE + 1
    service.process(snapshot(T0))
    [decision] = service.process(intent(T0, OrderSide.BUY, 1.0))
    assert isinstance(decision, OrderDenied)
    assert RiskReason.STALE_MARKET_DATA in decision.reasons


def test_a_heartbeat_read_again_changes_nothing_and_is_not_remembered_as_an_input() -> None:
    service = RiskService(_engine(), dedup_window=1)
    service.process(bar(T0, 100.0))
    service.process(snapshot(T0))
    order = intent(T0, OrderSide.BUY, 1.0)
    assert len(service.process(order)) == 1
    service.acknowledged(None, order, [])  # type: ignore[arg-type]
    beat = _heartbeat(T0 + SECOND)
    for _ in range(2):
        assert service.process(beat) == []
        service.acknowledged(None, beat, [])  # type: ignore[arg-type]
    assert service.engine.now == T0 + SECOND
    assert service.process(order) == []  # still remembered: the heartbeats took no slot


def test_the_clock_a_heartbeat_moved_is_restored_with_the_state() -> None:
    service = RiskService(_engine())
    service.process(bar(T0, 100.0))
    service.process(_heartbeat(T0 + MAX_AGE + 1))
    encoded = {key: dumps_state(value) for key, value in service_state(service).items()}

    restored = RiskService(_engine())
    restore_service_state(restored, {key: loads_state(raw) for key, raw in encoded.items()})
    restored.process(_heartbeat(T0 + SECOND))  # an older heartbeat read again after the restart
    restored.process(snapshot(T0))
    [decision] = restored.process(intent(T0, OrderSide.BUY, 1.0))

    assert restored.engine.now == T0 + MAX_AGE + 1
    assert risk_state(restored.engine)["clock"] == T0 + MAX_AGE + 1
    assert isinstance(decision, OrderDenied)
    assert RiskReason.STALE_MARKET_DATA in decision.reasons
