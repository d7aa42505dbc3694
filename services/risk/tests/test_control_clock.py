"""Control commands do not move the engine's market clock.

An operator's command carries the wall-clock time it was sent, which during a replay of older
data lies far past the market. The command is applied at once and its outputs keep its time,
but ages are still measured against market time: after a release, trading resumes.
"""

from __future__ import annotations

from collections.abc import Sequence

from jules_contracts import (
    CancelOrder,
    ChangeConfig,
    Event,
    KillSwitchState,
    OrderApproved,
    OrderDenied,
    OrderSide,
    RiskAlert,
    RiskReason,
    derive_event_id,
    parse_utc_nanos,
)

from .helpers import (
    MINUTE,
    SECOND,
    T0,
    accepted,
    bar,
    canceled,
    decide,
    engage,
    intent,
    make_engine,
    release,
    signal,
    snapshot,
)

WALL = parse_utc_nanos("2026-03-02T15:04:05Z")
"""When the operator sends the commands: long after the replayed market (``T0``)."""


def _decision(events: Sequence[Event]) -> OrderApproved | OrderDenied:
    decision = events[-1]
    assert isinstance(decision, OrderApproved | OrderDenied)
    return decision


def test_orders_after_a_release_sent_at_wall_clock_time_are_approved_again():
    engine = make_engine()
    portfolio = snapshot(T0)
    engine.on_market(bar(T0, 100.0))

    engaged = engine.on_control(engage(WALL))
    engine.on_market(bar(T0 + MINUTE, 101.0))
    during = _decision(engine.on_signal(signal(T0 + MINUTE, 0.5), portfolio))
    released = engine.on_control(release(WALL + MINUTE))
    after = _decision(engine.on_signal(signal(T0 + MINUTE, 0.5, key=1), portfolio))
    engine.on_market(bar(T0 + 2 * MINUTE, 102.0))
    later = _decision(engine.on_signal(signal(T0 + 2 * MINUTE, -0.5), portfolio))

    assert isinstance(during, OrderDenied)
    assert during.reasons == (RiskReason.KILL_SWITCH_HALTED,)
    assert isinstance(after, OrderApproved)
    assert isinstance(later, OrderApproved)
    assert engine.now == T0 + 2 * MINUTE
    alerts = [e for e in (*engaged, *released) if isinstance(e, RiskAlert)]
    assert [(a.code, a.event_time) for a in alerts] == [
        ("KILL_SWITCH_ENGAGED", WALL),
        ("KILL_SWITCH_RELEASED", WALL + MINUTE),
    ]


def test_an_order_canceled_by_a_halt_sent_at_wall_clock_time_leaves_the_clock():
    engine = make_engine()
    portfolio = snapshot(T0)
    engine.on_market(bar(T0, 100.0))
    working = decide(engine, intent(T0, OrderSide.BUY, 1.0), portfolio)
    assert isinstance(working, OrderApproved)
    engine.on_order_event(accepted(working.order, T0))

    _, cancel = engine.on_control(engage(WALL, KillSwitchState.HALTED))
    engine.on_order_event(canceled(working.order, WALL))  # the venue's report, at the cancel's time
    still_working = engine.book.working_orders()
    engine.on_control(release(WALL + SECOND))
    after = decide(engine, intent(T0 + SECOND, OrderSide.BUY, 1.0), portfolio)

    assert isinstance(cancel, CancelOrder)
    assert cancel.event_time == WALL
    assert still_working == []
    assert engine.now == T0 + SECOND
    assert isinstance(after, OrderApproved)


def test_a_config_change_sent_at_wall_clock_time_leaves_the_clock():
    engine = make_engine()
    engine.on_market(bar(T0, 100.0))
    change = ChangeConfig(
        event_id=derive_event_id("test-change-at-wall-clock"),
        source="test",
        event_time=WALL,
        target="risk",
        key="limits.max_order_quantity",
        value=5,
        operator="risk-officer",
    )

    (alert,) = engine.on_control(change)
    within = decide(engine, intent(T0, OrderSide.BUY, 5.0))

    assert isinstance(alert, RiskAlert)
    assert (alert.code, alert.event_time) == ("CONFIG_CHANGED", WALL)
    assert engine.now == T0
    assert isinstance(within, OrderApproved)
