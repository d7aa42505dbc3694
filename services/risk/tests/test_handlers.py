"""The handlers around the engine, on the in-memory bus: routing by topic, the latest snapshot,
risk's own orders not decided twice, control targets, inputs delivered twice, restored control
commands and the domain metrics."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from jules_contracts import (
    Bar,
    CancelOrder,
    ChangeConfig,
    EngageKillSwitch,
    Event,
    KillSwitchState,
    OrderApproved,
    OrderDenied,
    OrderSide,
    PortfolioSnapshot,
    Quote,
    ReleaseKillSwitch,
    RiskAlert,
    RiskReason,
    SignalGenerated,
    SubmitOrder,
    SwapModel,
    Trade,
    decode_event,
    derive_event_id,
)
from jules_contracts.topics import (
    ORDERS_DECISIONS,
    ORDERS_INTENTS,
    RISK_ALERTS,
    Topic,
)
from jules_risk.handlers import RiskService, subscribe
from jules_risk.metrics import RiskMetrics
from jules_runtime.bus import InMemoryBus, OutboundMessage
from prometheus_client import CollectorRegistry

from .helpers import (
    ACCOUNT,
    BTC,
    ETH,
    MINUTE,
    T0,
    accepted,
    bar,
    engage,
    filled,
    intent,
    make_engine,
    quote,
    release,
    signal,
    snapshot,
    trade,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def change(t: int, target: str, value: float) -> ChangeConfig:
    return ChangeConfig(
        event_id=derive_event_id("svc-change", t, target, repr(value)),
        source="test",
        event_time=t,
        target=target,
        key="limits.max_order_notional",
        value=value,
        operator="bob",
    )


def published(bus: InMemoryBus, topic: Topic) -> list[Event]:
    return [decode_event(record.value) for record in bus.records(topic.name)]


async def run(events: Sequence[Event], service: RiskService | None = None) -> InMemoryBus:
    """Publish ``events`` and let the service consume until nothing is left."""
    bus = InMemoryBus("risk")
    subscribe(bus, service or RiskService(make_engine(max_order_notional=5_000.0)))
    await bus.start()
    await bus.publish(*events)
    await bus.drain()
    return bus


def story() -> list[Event]:
    """Market data, snapshots, signals, an operator's order, fills and control commands."""
    first = signal(T0 + MINUTE, 0.02)  # 2,000 of 100,000 at 100: 20 BTC
    order = SubmitOrder.derive(
        first,
        key="another",
        source="risk",
        client_order_id="will-not-be-decided-again",
        account_id=ACCOUNT,
        instrument_id=BTC,
        side=BUY,
        quantity=1.0,
        strategy_id="s",
    )
    operator = intent(T0 + MINUTE, SELL, 80.0, reference_price=100.0)  # 8,000: denied
    return [
        snapshot(T0),
        bar(T0, 100.0),
        quote(T0, 99.9, 100.1, instrument=ETH),
        trade(T0, 50.0, instrument=ETH),
        bar(T0 + MINUTE, 100.0),
        first,
        order,  # as if risk had published it: skipped
        operator,
        change(T0 + MINUTE, "signal", 1.0),  # not for risk
        change(T0 + MINUTE, "*", 10_000.0),
        signal(T0 + MINUTE, 0.06, instrument=ETH, price=50.0),  # 120 ETH, 6,000: approved now
        snapshot(T0 + MINUTE, 99_000.0),
        bar(T0 + 2 * MINUTE, 101.0),
        signal(T0 + 2 * MINUTE, 0.05),
        engage(T0 + 2 * MINUTE),
        signal(T0 + 2 * MINUTE, -0.05, key="after-halt"),
        release(T0 + 3 * MINUTE),
    ]


def in_process(events: Sequence[Event]) -> list[Event]:
    """What the engine gives for ``events`` fed as the service feeds them."""
    engine = make_engine(max_order_notional=5_000.0)
    latest: PortfolioSnapshot | None = None
    outputs: list[Event] = []
    for event in events:
        if isinstance(event, PortfolioSnapshot):
            latest = event
            outputs += engine.on_portfolio(event)
        elif isinstance(event, Bar | Quote | Trade):
            outputs += engine.on_market(event)
        elif isinstance(event, SignalGenerated):
            assert latest is not None
            outputs += engine.on_signal(event, latest)
        elif isinstance(event, SubmitOrder):
            assert latest is not None
            if event.source != "risk":
                outputs += engine.on_intent(event, latest)
        else:
            assert isinstance(event, EngageKillSwitch | ReleaseKillSwitch | ChangeConfig)
            outputs += engine.on_control(event)
    return outputs


def by_topic(events: Sequence[Event], topic: Topic) -> list[Event]:
    return [e for e in events if type(e) in topic.event_types]


async def test_outputs_are_the_engines_on_the_same_input_on_their_topics():
    events = story()
    bus = await run(events)
    expected = in_process(events)
    inputs = {event.event_id for event in events}
    for topic in (ORDERS_INTENTS, ORDERS_DECISIONS, RISK_ALERTS):
        outputs = [e for e in published(bus, topic) if e.event_id not in inputs]
        assert by_topic(outputs, topic) == by_topic(expected, topic)
    decisions = published(bus, ORDERS_DECISIONS)
    assert [type(d) for d in decisions] == [
        OrderApproved,
        OrderDenied,
        OrderApproved,
        OrderApproved,
        OrderDenied,
    ]
    assert isinstance(decisions[-1], OrderDenied)
    assert RiskReason.KILL_SWITCH_HALTED in decisions[-1].reasons
    codes = [a.code for a in published(bus, RISK_ALERTS) if isinstance(a, RiskAlert)]
    assert codes == ["CONFIG_CHANGED", "KILL_SWITCH_ENGAGED", "KILL_SWITCH_RELEASED"]


async def test_risk_reads_its_own_orders_and_cancels_back_without_deciding_them():
    first = signal(T0, 0.02)
    events = [snapshot(T0), bar(T0, 100.0), first, engage(T0 + MINUTE)]
    bus = await run(events)
    intents = published(bus, ORDERS_INTENTS)
    assert [type(e) for e in intents] == [SubmitOrder, CancelOrder]
    assert all(e.source == "risk" for e in intents)
    assert bus.committed("jules-risk", ORDERS_INTENTS.name) == 2  # risk read both back
    assert len(published(bus, ORDERS_DECISIONS)) == 1  # and decided its order once


async def test_a_signal_before_any_snapshot_gets_the_engines_sizing_unavailable_alert():
    early = signal(T0, 0.5)
    bus = await run([bar(T0, 100.0), early])
    alerts = published(bus, RISK_ALERTS)
    other = snapshot(T0, account="another-account")  # leaves the engine without equity
    engine_alerts = make_engine().on_signal(early, other)
    assert [a.code for a in engine_alerts if isinstance(a, RiskAlert)] == [
        "ACCOUNT_MISMATCH",
        "SIZING_UNAVAILABLE",
    ]
    assert alerts == engine_alerts[-1:]
    assert published(bus, ORDERS_DECISIONS) == []


async def test_an_intent_before_any_snapshot_is_not_decided_and_says_why():
    order = intent(T0, BUY, 1.0, reference_price=100.0)
    bus = await run(
        [
            bar(T0, 100.0),
            order,
            snapshot(T0),
            order.model_copy(update={"event_id": derive_event_id("again")}),
        ]
    )
    alerts = published(bus, RISK_ALERTS)
    assert [a.code for a in alerts if isinstance(a, RiskAlert)] == ["PORTFOLIO_UNAVAILABLE"]
    assert order.client_order_id in alerts[0].message  # type: ignore[attr-defined]
    decisions = published(bus, ORDERS_DECISIONS)
    assert [type(d) for d in decisions] == [OrderApproved]  # decided once a snapshot came


async def test_the_latest_snapshot_of_the_account_is_kept():
    service = RiskService(make_engine())
    newer, older = snapshot(T0 + MINUTE, 90_000.0), snapshot(T0, 80_000.0)
    service.process(newer)
    assert service.process(older) == []
    mismatch = service.process(snapshot(T0 + 2 * MINUTE, 70_000.0, account="other"))
    assert [a.code for a in mismatch if isinstance(a, RiskAlert)] == ["ACCOUNT_MISMATCH"]
    assert service.portfolio == newer


async def test_control_commands_for_other_services_are_ignored():
    service = RiskService(make_engine())
    assert service.process(engage(T0, target="signal")) == []
    assert service.process(change(T0, "order-router", 1.0)) == []
    swap = SwapModel(
        event_id=derive_event_id("svc-swap"),
        source="test",
        event_time=T0,
        model_name="m",
        model_version="2",
        operator="bob",
    )
    assert service.process(swap) == []
    assert service.engine.kill_switch_state() is KillSwitchState.ACTIVE
    assert service.engine.now == 0  # the engine never saw them
    service.process(engage(T0, target="*", instrument=BTC))
    assert service.engine.kill_switch_state(BTC) is KillSwitchState.HALTED
    assert service.engine.kill_switch_state() is KillSwitchState.ACTIVE


async def test_cancels_and_order_events_update_nothing_but_the_book():
    service = RiskService(make_engine())
    service.process(snapshot(T0))
    service.process(bar(T0, 100.0))
    outputs = service.process(signal(T0, 0.02))
    order = outputs[0]
    assert isinstance(order, SubmitOrder)
    cancel = CancelOrder.derive(
        order, source="signal", client_order_id=order.client_order_id, instrument_id=BTC
    )
    assert service.process(cancel) == []
    assert service.engine.book.open_order_count() == 1
    assert service.process(accepted(order, T0 + 1)) == []
    assert service.process(filled(order, T0 + 2, 100.0)) == []
    assert service.engine.book.open_order_count() == 0
    assert service.engine.book.position(BTC) == order.quantity


class FlakyBus(InMemoryBus):
    """An in-memory bus whose next publication of decisions fails once (broker down)."""

    fail_next_decision = False

    async def send(self, messages: Sequence[OutboundMessage]) -> None:
        if self.fail_next_decision and any(m.topic == ORDERS_DECISIONS.name for m in messages):
            self.fail_next_decision = False
            raise ConnectionError("broker unavailable")
        await super().send(messages)


async def test_an_input_read_again_after_a_failed_publication_gets_the_same_outputs():
    bus = FlakyBus("risk")
    subscribe(bus, RiskService(make_engine(max_order_notional=1_000.0)))
    await bus.start()
    await bus.publish(snapshot(T0), bar(T0, 100.0), signal(T0, 0.5))
    bus.fail_next_decision = True
    with pytest.raises(ConnectionError):
        await bus.drain()  # not committed: the signal is read again
    await bus.drain()
    decisions = published(bus, ORDERS_DECISIONS)
    assert len(decisions) == 1
    assert isinstance(decisions[0], OrderDenied)
    assert decisions[0].reasons == (RiskReason.ORDER_NOTIONAL_LIMIT,)  # not a duplicate id
    assert len(published(bus, ORDERS_INTENTS)) == 1


async def test_an_input_delivered_again_after_its_outputs_were_acknowledged_publishes_nothing():
    events = [snapshot(T0), bar(T0, 100.0), bar(T0 + MINUTE, 102.0), signal(T0 + MINUTE, 0.5)]
    service = RiskService(make_engine(max_order_notional=5_000.0))
    bus = await run([*events, *events], service)  # a producer that published all twice
    assert len(published(bus, ORDERS_DECISIONS)) == 1
    once = make_engine()
    once.on_market(events[1])  # type: ignore[arg-type]
    once.on_market(events[2])  # type: ignore[arg-type]
    market, expected = service.engine.market(BTC), once.market(BTC)
    assert market is not None
    assert expected is not None
    assert (market.returns, market.atr) == (expected.returns, expected.atr)


def test_the_dedup_window_forgets_the_oldest_ids():
    service = RiskService(make_engine(), dedup_window=2)
    changes = [change(T0 + i * MINUTE, "risk", 10_000.0 + i) for i in range(3)]
    for command in changes:
        assert service.process(command)  # each change is confirmed by a CONFIG_CHANGED alert
        service.acknowledged(None, command, [])  # type: ignore[arg-type]
    assert service.process(changes[2]) == []  # remembered: acknowledged, nothing again
    assert service.process(changes[1]) == []
    again = service.process(changes[0])  # forgotten beyond the window: handled again
    assert [a.code for a in again if isinstance(a, RiskAlert)] == ["CONFIG_CHANGED"]
    with pytest.raises(ValueError, match="at least 1"):
        RiskService(make_engine(), dedup_window=0)


def test_restored_commands_set_the_kill_switch_and_config_and_are_not_applied_again():
    service = RiskService(make_engine(max_order_notional=5_000.0))
    halt, raise_limit = engage(T0), change(T0, "risk", 20_000.0)
    for_signal = engage(T0, target="signal")
    assert service.restore([raise_limit, for_signal, halt]) == 2
    assert service.engine.kill_switch_state() is KillSwitchState.HALTED
    assert service.engine.config.limits.max_order_notional == 20_000.0
    assert service.process(halt) == []  # read again by the control consumer: nothing
    assert service.process(raise_limit) == []
    assert [a.code for a in service.process(release(T0 + MINUTE)) if isinstance(a, RiskAlert)] == [
        "KILL_SWITCH_RELEASED"
    ]


async def test_domain_metrics_count_denial_reasons_alerts_and_show_the_kill_switch():
    registry = CollectorRegistry()
    service = RiskService(make_engine(max_order_notional=1_000.0))
    bus = InMemoryBus("risk")
    subscribe(bus, service, RiskMetrics(service.engine, registry))
    await bus.start()
    await bus.publish(snapshot(T0), bar(T0, 100.0), signal(T0, 0.5), engage(T0 + MINUTE))
    await bus.drain()
    value = registry.get_sample_value
    assert value("jules_risk_denial_reasons_total", {"reason": "ORDER_NOTIONAL_LIMIT"}) == 1.0
    assert value("jules_risk_alerts_total", {"code": "KILL_SWITCH_ENGAGED"}) == 1.0
    assert value("jules_risk_kill_switch_state") == 2.0
    await bus.publish(release(T0 + 2 * MINUTE))
    await bus.drain()
    assert value("jules_risk_kill_switch_state") == 0.0
