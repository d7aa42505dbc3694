"""The risk service as its own process on the real broker: the same orders, decisions and alerts
as the risk engine run in process on the same input; the kill switch engaged and released with
``jules-risk kill``; health/readiness/metrics endpoints, graceful shutdown on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from jules_contracts import (
    Bar,
    CancelOrder,
    EngageKillSwitch,
    Event,
    OrderAccepted,
    OrderApproved,
    OrderDenied,
    OrderFilled,
    OrderSide,
    OrderType,
    PortfolioSnapshot,
    Position,
    Quote,
    ReleaseKillSwitch,
    RiskAlert,
    RiskReason,
    SignalGenerated,
    SubmitOrder,
    Trade,
    decode_event,
    derive_event_id,
    direction_of,
)
from jules_contracts.topics import (
    CONTROL,
    MD_BARS,
    ORDERS_DECISIONS,
    ORDERS_INTENTS,
    RISK_ALERTS,
    Topic,
    topic_for,
)
from jules_market_data.loaders import load
from jules_risk.config import KILL_SWITCH_PATH
from jules_risk.engine import RiskConfig, RiskEngine, RiskLimits, SizingConfig, StopsConfig
from jules_runtime.bus import KafkaBus
from jules_runtime.settings import KafkaSettings

from .bus_helpers import create_scoped_topics, new_scope, read_topic, wait_until
from .service_process import BIN, ServiceProcess, http_status, http_text, start_service

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
BARS_FILE = "QuantConnect_Lean/Data/crypto/coinbase/minute/ethusd/20180405_trade.zip"
ETH = "ETHUSD.COINBASE"
ACCOUNT = "it-account"
STRATEGY = "it-sma"
SETTINGS = {
    "ACCOUNT_ID": ACCOUNT,
    "ENGINE__SIZING__FRACTION": "0.5",
    "ENGINE__LIMITS__MAX_ORDER_NOTIONAL": "30000",
    "ENGINE__LIMITS__MAX_OPEN_ORDERS": "5",
    "ENGINE__STOPS__STOP_LOSS_ATR_MULTIPLE": "3",
}
CONFIG = RiskConfig(
    account_id=ACCOUNT,
    sizing=SizingConfig(fraction=0.5),
    limits=RiskLimits(max_order_notional=30_000.0, max_open_orders=5),
    stops=StopsConfig(stop_loss_atr_multiple=3.0),
)
OUTPUT_TOPICS = (ORDERS_INTENTS, ORDERS_DECISIONS, RISK_ALERTS)


def real_bars(count: int) -> list[Bar]:
    bars = [e for e in load(DATA_DIR / BARS_FILE, instrument_id=ETH) if isinstance(e, Bar)]
    return bars[:count]


def snapshot(
    at: Bar, equity: float, quantity: float = 0.0, price: float = 0.0
) -> PortfolioSnapshot:
    positions = (
        (Position(instrument_id=ETH, quantity=quantity, average_price=price, last_price=at.close),)
        if quantity
        else ()
    )
    return PortfolioSnapshot.derive(
        at,
        source="order-router",
        account_id=ACCOUNT,
        cash=equity - quantity * at.close,
        equity=equity,
        positions=positions,
    )


def signal(at: Bar, weight: float) -> SignalGenerated:
    return SignalGenerated.derive(
        at,
        source="signal",
        instrument_id=ETH,
        strategy_id=STRATEGY,
        direction=direction_of(weight),
        target_weight=weight,
        reference_price=at.close,
    )


def operator_order(at: Bar, quantity: float) -> SubmitOrder:
    return SubmitOrder(
        event_id=derive_event_id("it-operator-order", at.event_id),
        source="it-operator",
        event_time=at.event_time,
        client_order_id="op-it-1",
        account_id=ACCOUNT,
        instrument_id=ETH,
        side=OrderSide.BUY,
        quantity=quantity,
        order_type=OrderType.MARKET,
        strategy_id="operator",
        reference_price=at.close,
    )


def fill(approved: OrderApproved, at: Bar) -> list[Event]:
    accepted = OrderAccepted.derive(
        approved,
        source="order-router",
        event_time=at.event_time,
        client_order_id=approved.client_order_id,
        instrument_id=ETH,
        venue_order_id="sim-1",
    )
    filled = OrderFilled.derive(
        accepted,
        source="order-router",
        client_order_id=approved.client_order_id,
        instrument_id=ETH,
        venue_order_id="sim-1",
        side=approved.order.side,
        fill_id="sim-fill-1",
        last_quantity=approved.quantity,
        last_price=at.open,
        cumulative_quantity=approved.quantity,
        leaves_quantity=0.0,
        average_price=at.open,
    )
    return [accepted, filled]


class Reference:
    """The risk engine in process, fed as the service feeds it."""

    def __init__(self) -> None:
        self.engine = RiskEngine(CONFIG)
        self.portfolio: PortfolioSnapshot | None = None
        self.outputs: list[Event] = []

    def feed(self, event: Event) -> list[Event]:
        engine = self.engine
        out: list[Event]
        if isinstance(event, Bar | Quote | Trade):
            out = engine.on_market(event)
        elif isinstance(event, PortfolioSnapshot):
            self.portfolio = event
            out = engine.on_portfolio(event)
        elif isinstance(event, SignalGenerated):
            assert self.portfolio is not None
            out = engine.on_signal(event, self.portfolio)
        elif isinstance(event, SubmitOrder):
            assert self.portfolio is not None
            out = engine.on_intent(event, self.portfolio)
        elif isinstance(event, OrderAccepted | OrderFilled):
            out = engine.on_order_event(event)
        else:
            assert isinstance(event, EngageKillSwitch | ReleaseKillSwitch)
            out = engine.on_control(event)
        self.outputs.extend(out)
        return out


class Feed:
    """Publishes one topic's events at a time and waits until the service processed them."""

    def __init__(self, bus: KafkaBus, service: ServiceProcess, reference: Reference, scope: str):
        self.bus = bus
        self.service = service
        self.reference = reference
        self.scope = scope
        self.sent: dict[str, int] = {}

    async def step(self, events: Sequence[Event]) -> list[Event]:
        topics = {topic_for(event) for event in events}
        assert len(topics) == 1, "one topic per step keeps the order the engine sees them in"
        outputs = [out for event in events for out in self.reference.feed(event)]
        await self.bus.publish(*events)
        self.count(next(iter(topics)), len(events))
        await self.wait()
        return outputs

    def count(self, topic: Topic, number: int) -> None:
        name = topic.scoped(self.scope)
        self.sent[name] = self.sent.get(name, 0) + number

    async def wait(self) -> None:
        """Until every message sent (and every order risk sent itself) has been processed."""
        own = sum(isinstance(e, SubmitOrder | CancelOrder) for e in self.reference.outputs)
        expected = dict(self.sent)
        intents = ORDERS_INTENTS.scoped(self.scope)
        if own:
            expected[intents] = expected.get(intents, 0) + own
        deadline = time.monotonic() + 30
        while (seen := processed(self.service)) != expected:
            if time.monotonic() > deadline:
                log = self.service.log.read_text()[-3000:]
                raise AssertionError(f"processed {seen}, expected {expected}\n{log}")
            await asyncio.sleep(0.02)


def processed(service: ServiceProcess) -> dict[str, int]:
    """Messages processed per topic, from the service's ``/metrics``."""
    text = http_text(service.base_url + "/metrics")
    pattern = r'^jules_risk_processing_seconds_count\{topic="([^"]+)"\} (\d+)\.0$'
    return {m[1]: int(m[2]) for m in re.finditer(pattern, text, re.MULTILINE)}


def risk_kill(*args: str, bootstrap: str, scope: str) -> str:
    """Run ``jules-risk kill <args>`` as the operator would; return what it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JULES_")}
    env |= {"JULES_RISK__KAFKA__BOOTSTRAP_SERVERS": bootstrap, "JULES_RISK__RUN_SCOPE": scope}
    outcome = subprocess.run(
        [str(BIN / "jules-risk"), "kill", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert outcome.returncode == 0, outcome.stderr
    return outcome.stdout


def sent_command(output: str, scope: str) -> Event:
    """The control command ``jules-risk kill --engage|--release`` says it published."""
    first, _, body = output.partition("\n")
    assert first == f"published on {CONTROL.scoped(scope)}:"
    return decode_event(body.encode())


async def read_outputs(bootstrap: str, scope: str, expected: list[Event]) -> list[Event]:
    """Every event risk published on its output topics, in the order published."""
    events: list[Event] = []
    for topic in OUTPUT_TOPICS:
        count = sum(topic_for(e) is topic for e in expected)
        if topic is ORDERS_INTENTS:
            count += 1  # the operator's order is there too
        records = await read_topic(bootstrap, topic.scoped(scope), count)
        events.extend(e for e in (decode_event(r.value) for r in records) if e.source == "risk")
    return events


async def test_risk_service_process_decides_as_the_engine_and_obeys_the_kill_switch(
    kafka, tmp_path
):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    bars = real_bars(50)
    reference = Reference()

    async def kill(feed: Feed, *args: str) -> Event:
        output = risk_kill(*args, "--operator", "alice", bootstrap=kafka.bootstrap, scope=scope)
        command = sent_command(output, scope)
        reference.feed(command)
        feed.count(CONTROL, 1)
        await feed.wait()
        return command

    def kill_switch() -> object:
        return json.loads(http_text(service.base_url + "/kill-switch"))

    service = start_service("risk", kafka.bootstrap, scope, tmp_path, **SETTINGS)
    try:
        service.wait_ready()
        assert http_status(service.base_url + "/health") == 204
        assert kill_switch() == {"state": "ACTIVE"}
        async with KafkaBus("test-feed", settings, scope) as bus:
            feed = Feed(bus, service, reference, scope)
            await feed.step([snapshot(bars[0], 100_000.0)])
            await feed.step(bars[0:20])
            bought = await feed.step([signal(bars[19], 0.5)])  # 0.25 of equity: approved
            approved = bought[-1]
            assert isinstance(approved, OrderApproved)
            await feed.step([operator_order(bars[19], 100.0)])  # about 37,800 USD: denied
            await feed.step(fill(approved, bars[20]))
            await feed.step([snapshot(bars[20], 100_000.0, approved.quantity, bars[20].open)])
            await feed.step(
                [
                    Quote.derive(
                        bars[20], source="it", instrument_id=ETH, bid_price=376.0, ask_price=376.5
                    )
                ]
            )
            await feed.step(
                [Trade.derive(bars[20], source="it", instrument_id=ETH, price=376.2, size=2.0)]
            )
            await feed.step(bars[20:40])  # the price falls 3 ATRs below the entry: stop exit
            await feed.step([signal(bars[39], -1.0)])  # short all equity, about 50,000 USD
            await feed.step(bars[40:50])

            engaged = await kill(feed, "--engage", "--reason", "venue outage")
            assert isinstance(engaged, EngageKillSwitch)
            assert kill_switch() == {"state": "HALTED"}
            shown = risk_kill(
                "--status", "--url", service.base_url, bootstrap=kafka.bootstrap, scope=scope
            )
            assert json.loads(shown) == {"state": "HALTED"}
            denied = (await feed.step([signal(bars[49], 0.5)]))[-1]
            assert isinstance(denied, OrderDenied)
            assert RiskReason.KILL_SWITCH_HALTED in denied.reasons

            released = await kill(feed, "--release", "--reason", "venue back")
            assert isinstance(released, ReleaseKillSwitch)
            assert kill_switch() == {"state": "ACTIVE"}

        outputs = await read_outputs(kafka.bootstrap, scope, reference.outputs)
        # counted once acknowledged, which can come after a reader received the outputs
        denials = 'jules_risk_events_out_total{event_type="risk.order_denied"} 3.0'
        await wait_until(lambda: denials in http_text(service.base_url + "/metrics"), 30)
        metrics = http_text(service.base_url + "/metrics")
        assert http_status(service.base_url + "/ready") == 204
    finally:
        status = service.terminate()

    expected = {t: [e for e in reference.outputs if topic_for(e) is t] for t in OUTPUT_TOPICS}
    published = {t: [e for e in outputs if topic_for(e) is t] for t in OUTPUT_TOPICS}
    assert published == expected  # the same ids and values as the engine in process
    reasons = [d.reasons for d in expected[ORDERS_DECISIONS] if isinstance(d, OrderDenied)]
    assert (RiskReason.ORDER_NOTIONAL_LIMIT,) in reasons
    codes = [a.code for a in expected[RISK_ALERTS] if isinstance(a, RiskAlert)]
    assert codes == ["STOP_LOSS", "KILL_SWITCH_ENGAGED", "KILL_SWITCH_RELEASED"]
    cancels = [e for e in expected[ORDERS_INTENTS] if isinstance(e, CancelOrder)]
    assert len(cancels) == 1  # the stop's working exit, canceled by the halt
    assert f'jules_risk_events_in_total{{topic="{MD_BARS.scoped(scope)}"}} 50.0' in metrics
    assert 'jules_risk_events_out_total{event_type="risk.order_denied"} 3.0' in metrics
    assert 'jules_risk_denial_reasons_total{reason="KILL_SWITCH_HALTED"} 1.0' in metrics
    assert 'jules_risk_alerts_total{code="STOP_LOSS"} 1.0' in metrics
    assert "jules_risk_kill_switch_state 0.0" in metrics
    assert "jules_risk_processing_seconds_bucket" in metrics
    assert "jules_risk_faststream_received_messages_total" in metrics
    assert status == 0, service.log.read_text()[-3000:]
    assert "service started" in service.log.read_text()


async def test_a_restarted_service_keeps_its_kill_switch(kafka, tmp_path):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    service = start_service("risk", kafka.bootstrap, scope, tmp_path)
    try:
        service.wait_ready()
        risk_kill(
            "--engage",
            "--reducing",
            "--reason",
            "restart test",
            "--operator",
            "alice",
            bootstrap=kafka.bootstrap,
            scope=scope,
        )
        await wait_until(lambda: kill_switch_state(service) == "REDUCING", timeout_s=30)
    finally:
        assert service.terminate() == 0

    (tmp_path / "restarted").mkdir()
    restarted = start_service("risk", kafka.bootstrap, scope, tmp_path / "restarted")
    try:
        restarted.wait_ready()
        assert kill_switch_state(restarted) == "REDUCING", restarted.log.read_text()[-4000:]
        assert '"message":"control commands restored"' in restarted.log.read_text()
        async with KafkaBus("test-operator", settings, scope) as bus:
            await bus.publish(
                ReleaseKillSwitch(
                    event_id=derive_event_id("it-release", scope),
                    source="it",
                    event_time=time.time_ns(),
                    reason="restart test over",
                    operator="alice",
                )
            )
        await wait_until(lambda: kill_switch_state(restarted) == "ACTIVE", timeout_s=30)
        records = await read_topic(kafka.bootstrap, RISK_ALERTS.scoped(scope), 2)
    finally:
        assert restarted.terminate() == 0
    codes = [a.code for a in (decode_event(r.value) for r in records) if isinstance(a, RiskAlert)]
    assert codes == ["KILL_SWITCH_ENGAGED", "KILL_SWITCH_RELEASED"]  # engaged alert not repeated


def kill_switch_state(service: ServiceProcess) -> str:
    state: str = json.loads(http_text(service.base_url + KILL_SWITCH_PATH))["state"]
    return state


async def test_an_invalid_risk_setting_stops_the_service_at_start_up(kafka, tmp_path):
    service = start_service(
        "risk", kafka.bootstrap, new_scope(), tmp_path, ENGINE__LIMITS__MAX_ORDER_NOTIONAL="-5"
    )
    status = service.process.wait(timeout=60)
    assert status == 2
    assert "JULES_RISK__ENGINE__LIMITS__MAX_ORDER_NOTIONAL='-5'" in service.log.read_text()
