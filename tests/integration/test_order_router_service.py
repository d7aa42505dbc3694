"""The order-router service as its own process on the real broker: for real Coinbase minute
bars and a few approved orders, the same order events and portfolio snapshots as the engine run
in process; a decision published twice gives one order; health, readiness, metrics, SIGTERM and
an invalid setting.

Why the test waits between inputs: Kafka keeps the order of messages within a partition, not
between topics. The router reads decisions and cancels on other topics than bars, so a decision
published together with the bars after it could be processed after them: a different input
sequence than the one the in-process engine sees, with different (equally valid) fills. The
test therefore makes its sequence unambiguous: it publishes bars and waits until the router has
published their snapshots, then publishes a decision and waits for its ``OrderAccepted``, and
so on. (A distributed backtest orders the router's inputs by event time with watermarks.)
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from jules_contracts import (
    Bar,
    CancelOrder,
    Event,
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderSide,
    OrderType,
    PortfolioSnapshot,
    SubmitOrder,
    TimeInForce,
    decode_event,
)
from jules_contracts.ids import client_order_id
from jules_contracts.topics import MD_BARS, ORDERS_DECISIONS, ORDERS_EVENTS, PORTFOLIO
from jules_market_data.loaders import load
from jules_order_router.engine import (
    BarCloseSlippage,
    FeeSchedule,
    OrderRouterEngine,
    RouterConfig,
)
from jules_runtime.bus import KafkaBus
from jules_runtime.settings import KafkaSettings

from .bus_helpers import create_scoped_topics, new_scope
from .service_process import ServiceProcess, http_status, http_text, start_service

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
BARS = "QuantConnect_Lean/Data/crypto/coinbase/minute/{}/20180405_trade.zip"
BTC, ETH = "BTCUSD.COINBASE", "ETHUSD.COINBASE"
ACCOUNT = "paper-01"
STRATEGY = "it-router"
MINUTES = 60
MINUTE = 60_000_000_000
DAY_START = 1_522_886_400_000_000_000  # 2018-04-05T00:00:00Z, the day of both files

SETTINGS = {
    "ACCOUNT_ID": ACCOUNT,
    "CURRENCY": "USD",
    "STARTING_CASH": "1000000",
    "ENGINE__FILL_MODEL__KIND": "bar_close_slippage",
    "ENGINE__FILL_MODEL__SLIPPAGE_BPS": "2.5",
    "ENGINE__FEES__TAKER_BPS": "5",
    "ENGINE__FEES__MIN_FEE": "1",
    "ENGINE__LATENCY_NS": "1000000",
    "ENGINE__MAX_PARTICIPATION": "0.25",
    "ENGINE__INSTRUMENTS": json.dumps([BTC, ETH]),
}
CONFIG = RouterConfig(  # what SETTINGS say, for the engine run in process
    account_id=ACCOUNT,
    currency="USD",
    starting_cash=1_000_000.0,
    fill_model=BarCloseSlippage(slippage_bps=2.5),
    fees=FeeSchedule(taker_bps=5.0, min_fee=1.0),
    latency_ns=1_000_000,
    max_participation=0.25,
    instruments=(BTC, ETH),
)


def real_bars(minutes: int) -> list[Bar]:
    """The first ``minutes`` minute bars of BTC and ETH on Coinbase, in event-time order."""
    bars = [
        event
        for instrument, symbol in ((BTC, "btcusd"), (ETH, "ethusd"))
        for event in load(DATA_DIR / BARS.format(symbol), instrument_id=instrument)
        if isinstance(event, Bar) and event.start_time < DAY_START + minutes * MINUTE
    ]
    return sorted(bars, key=lambda bar: (bar.event_time, bar.instrument_id))


def order(bar: Bar, side: OrderSide, quantity: float, **fields: Any) -> OrderApproved:
    """Risk's approval of an order decided on ``bar`` (its intent derived from the bar)."""
    intent = SubmitOrder.derive(
        bar,
        source="risk",
        client_order_id=client_order_id(STRATEGY, bar.event_id),
        account_id=ACCOUNT,
        instrument_id=bar.instrument_id,
        side=side,
        quantity=quantity,
        strategy_id=STRATEGY,
        **fields,
    )
    return OrderApproved.derive(
        intent,
        source="risk",
        client_order_id=intent.client_order_id,
        instrument_id=intent.instrument_id,
        quantity=quantity,
        order=intent,
    )


def script(bars: list[Bar]) -> list[Bar | OrderApproved | CancelOrder]:
    """Bars with decisions and a cancel in between, each decided on the bar before it."""
    btc = [b for b in bars if b.instrument_id == BTC]
    eth = [b for b in bars if b.instrument_id == ETH]
    buy_btc = order(btc[9], OrderSide.BUY, 12.0)  # several bars' volume: partial fills
    rest_eth = order(
        eth[14], OrderSide.BUY, 20.0, order_type=OrderType.LIMIT, limit_price=370.0
    )  # below the market: works until canceled
    cancel_eth = CancelOrder.derive(
        eth[24],
        source="risk",
        client_order_id=rest_eth.client_order_id,
        instrument_id=ETH,
        reason="signal reversed",
    )
    sell_eth = order(eth[29], OrderSide.SELL, 10.0, time_in_force=TimeInForce.IOC)
    sell_btc = order(btc[44], OrderSide.SELL, 12.0)
    after: dict[str, list[OrderApproved | CancelOrder]] = {
        btc[9].event_id: [buy_btc],
        eth[14].event_id: [rest_eth],
        eth[24].event_id: [cancel_eth],
        eth[29].event_id: [sell_eth],
        btc[44].event_id: [sell_btc],
    }
    steps: list[Bar | OrderApproved | CancelOrder] = []
    for bar in bars:
        steps.append(bar)
        steps.extend(after.get(bar.event_id, []))
    return steps


def run_in_process(steps: Iterable[Event]) -> tuple[list[Event], list[Event]]:
    """The engine on the same sequence: order events, and a snapshot after each bar."""
    engine = OrderRouterEngine(CONFIG)
    orders: list[Event] = []
    snapshots: list[Event] = []
    for step in steps:
        if isinstance(step, OrderApproved):
            orders += engine.on_decision(step)
        elif isinstance(step, CancelOrder):
            orders += engine.on_cancel(step)
        elif isinstance(step, Bar):
            orders += engine.on_market(step)
            snapshots.append(engine.snapshot(step.event_time, step))
    return orders, snapshots


class Outputs:
    """Reads the router's order events and snapshots as they arrive."""

    def __init__(self, bootstrap: str, scope: str) -> None:
        self.topics: dict[str, list[Event]] = {
            ORDERS_EVENTS.scoped(scope): [],
            PORTFOLIO.scoped(scope): [],
        }
        self.consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.orders: list[Event] = self.topics[ORDERS_EVENTS.scoped(scope)]
        self.snapshots: list[Event] = self.topics[PORTFOLIO.scoped(scope)]

    def has_snapshots(self, count: int) -> bool:
        """Whether ``count`` snapshots arrived (the router processed that many bars)."""
        return len(self.snapshots) == count

    def answered(self, cause: str) -> bool:
        """Whether an order event caused by ``cause`` arrived."""
        return any(event.causation_id == cause for event in self.orders)

    async def until(self, condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"not within {timeout_s}s: {len(self.orders)} order events, "
                    f"{len(self.snapshots)} snapshots"
                )
            batch = await self.consumer.getmany(timeout_ms=100)
            for records in batch.values():
                for record in records:
                    self.topics[record.topic].append(decode_event(record.value))


def processed(service: ServiceProcess, topic: str) -> int:
    """How many messages of ``topic`` the service has processed (outputs acknowledged)."""
    metrics = http_text(service.base_url + "/metrics")
    pattern = rf'jules_order_router_processing_seconds_count{{topic="{re.escape(topic)}"}} (\S+)'
    found = re.search(pattern, metrics)
    return int(float(found.group(1))) if found else 0


async def test_router_service_process_matches_the_engine_and_routes_a_decision_once(
    kafka, tmp_path
):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    bars = real_bars(MINUTES)
    steps = script(bars)
    expected_orders, expected_snapshots = run_in_process(steps)
    decisions = [s for s in steps if isinstance(s, OrderApproved)]
    first = decisions[0]

    service = start_service("order-router", kafka.bootstrap, scope, tmp_path, **SETTINGS)
    outputs = Outputs(kafka.bootstrap, scope)
    await outputs.consumer.start()
    try:
        service.wait_ready()
        assert http_status(service.base_url + "/health") == 204
        async with KafkaBus("test-feed", settings, scope) as feed:
            published_bars = 0
            for step in steps:
                if isinstance(step, Bar):
                    await feed.publish(step)
                    published_bars += 1
                    continue
                # a decision or cancel: first the bars before it, then it, then its answer
                await outputs.until(partial(outputs.has_snapshots, published_bars))
                if isinstance(step, OrderApproved):
                    await feed.publish(step.order)  # the intent: risk's input, not routed
                await feed.publish(step)
                await outputs.until(partial(outputs.answered, step.event_id))
                if step is first:  # the same decision again: no second order, no second reply
                    await feed.publish(first)
                    await outputs.until(
                        lambda: processed(service, ORDERS_DECISIONS.scoped(scope)) == 2
                    )
            await outputs.until(
                lambda: (
                    len(outputs.snapshots) == len(bars)
                    and len(outputs.orders) == len(expected_orders)
                )
            )
            # the service counts an output once the broker acknowledged it, which can come
            # after a reader already received it
            snapshots = f'_events_out_total{{event_type="portfolio.snapshot"}} {float(len(bars))}'
            await outputs.until(lambda: snapshots in http_text(service.base_url + "/metrics"))
        metrics = http_text(service.base_url + "/metrics")
    finally:
        await outputs.consumer.stop()
        status = service.terminate()

    assert outputs.orders == expected_orders  # same ids, prices, fees and order
    assert outputs.snapshots == expected_snapshots
    accepted = [e for e in outputs.orders if isinstance(e, OrderAccepted)]
    assert [e.client_order_id for e in accepted] == [d.client_order_id for d in decisions]
    kinds = [type(e).__name__ for e in outputs.orders]
    assert kinds.count("OrderPartiallyFilled") > 10  # volume-capped fills over several bars
    assert kinds.count("OrderFilled") == 2
    canceled = [e for e in outputs.orders if isinstance(e, OrderCanceled)]
    reasons = [str(e.reason).partition(":")[0] for e in canceled]
    assert reasons == ["CANCELED_BY_REQUEST", "IOC_REMAINDER"]
    last = outputs.snapshots[-1]
    assert isinstance(last, PortfolioSnapshot)
    assert [(p.instrument_id, p.quantity < 0) for p in last.positions] == [
        (BTC, False),
        (ETH, True),
    ]
    assert last.positions[0].quantity == 0.0
    bars_in = f'jules_order_router_events_in_total{{topic="{MD_BARS.scoped(scope)}"}}'
    assert f"{bars_in} {float(len(bars))}" in metrics
    assert (
        f'jules_order_router_events_in_total{{topic="{ORDERS_DECISIONS.scoped(scope)}"}} 5.0'
        in metrics
    )
    snapshots_out = 'jules_order_router_events_out_total{event_type="portfolio.snapshot"}'
    assert f"{snapshots_out} {float(len(bars))}" in metrics
    assert "jules_order_router_processing_seconds_bucket" in metrics
    assert "jules_order_router_faststream_received_messages_total" in metrics
    assert status == 0, service.log.read_text()[-3000:]
    assert "service started" in service.log.read_text()


async def test_an_invalid_router_setting_stops_the_service_at_start_up(kafka, tmp_path):
    service = start_service(
        "order-router",
        kafka.bootstrap,
        new_scope(),
        tmp_path,
        ACCOUNT_ID=ACCOUNT,
        ENGINE__FILL_MODEL__KIND="magic",
    )
    status = service.process.wait(timeout=60)
    assert status == 2
    assert "JULES_ORDER_ROUTER__ENGINE__FILL_MODEL__KIND='magic'" in service.log.read_text()
