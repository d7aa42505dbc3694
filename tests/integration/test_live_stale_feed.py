"""A live feed gone silent halts new orders for its instrument, on the real broker.

``jules-market-data run`` live against the fake Binance exchange (replaying its recording at
real-time pace) and ``jules-risk run`` as their own processes. The trade stream is made
stale on the fake: market-data's heartbeat (``watermarks.v1``) keeps risk's clock going, so
an order intent for the silent instrument is denied ``STALE_MARKET_DATA`` once its last trade
is older than ``limits.stale_market_data_max_age_ns``; once the stream is back, approved.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from jules_contracts import (
    Event,
    OrderApproved,
    OrderDenied,
    OrderSide,
    OrderType,
    PortfolioSnapshot,
    RiskReason,
    SubmitOrder,
    Trade,
    Watermark,
    decode_event,
    derive_event_id,
    is_market_heartbeat,
)
from jules_contracts.topics import MD_TRADES, ORDERS_DECISIONS, WATERMARKS
from jules_runtime.bus import KafkaBus
from jules_runtime.settings import KafkaSettings
from jules_venues.fake import FakeExchange, FaultUpdate, Market, load_feed
from jules_venues.fake.faults import Stale

from .bus_helpers import create_scoped_topics, new_scope, wait_until
from .service_process import ServiceProcess, http_text, start_service
from .test_risk_service import processed

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
RECORDING = DATA_DIR / "hftbacktest" / "examples" / "spot" / "btcusdt_20240808.gz"
BTC = "BTCUSDT.BINANCE"
ACCOUNT = "it-stale"
MAX_AGE_NS = 3_000_000_000
TOPICS = (MD_TRADES, WATERMARKS, ORDERS_DECISIONS)


class Tail:
    """Every event of ``TOPICS`` in a run scope, read as it comes (no consumer group)."""

    def __init__(self, bootstrap: str, scope: str) -> None:
        self.names = {topic.name: topic.scoped(scope) for topic in TOPICS}
        self.events: dict[str, list[Event]] = {name: [] for name in self.names}
        self._consumer = AIOKafkaConsumer(
            *self.names.values(),
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Tail]:
        await self._consumer.start()
        task = asyncio.create_task(self._read())
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self._consumer.stop()

    async def _read(self) -> None:
        topics = {scoped: name for name, scoped in self.names.items()}
        async for record in self._consumer:
            self.events[topics[record.topic]].append(decode_event(record.value))

    def trades(self) -> list[Trade]:
        return [e for e in self.events[MD_TRADES.name] if isinstance(e, Trade)]

    def last_trade_time(self) -> int:
        return max((t.event_time for t in self.trades()), default=0)

    def heartbeats(self) -> list[Watermark]:
        return [
            e
            for e in self.events[WATERMARKS.name]
            if isinstance(e, Watermark) and is_market_heartbeat(e)
        ]

    def decision(self, client_order_id: str) -> Event | None:
        return next(
            (
                e
                for e in self.events[ORDERS_DECISIONS.name]
                if getattr(e, "client_order_id", None) == client_order_id
            ),
            None,
        )


async def caught_up(risk: ServiceProcess, tail: Tail, scope: str) -> None:
    """Until risk processed every trade and heartbeat published so far."""
    wanted = {
        MD_TRADES.scoped(scope): len(tail.events[MD_TRADES.name]),
        WATERMARKS.scoped(scope): len(tail.events[WATERMARKS.name]),
    }

    def done() -> bool:
        seen = processed(risk)
        return all(seen.get(topic, 0) >= count for topic, count in wanted.items())

    await wait_until(done, 30)


async def decide(bus: KafkaBus, tail: Tail, name: str, at: int) -> Event:
    """Publish an order intent made at market time ``at``; the decision risk published on it."""
    order = SubmitOrder(
        event_id=derive_event_id("it-stale-order", name),
        source="it-operator",
        event_time=at,
        client_order_id=f"it-stale-{name}",
        account_id=ACCOUNT,
        instrument_id=BTC,
        side=OrderSide.BUY,
        quantity=0.01,
        order_type=OrderType.MARKET,
        strategy_id="operator",
    )
    await bus.publish(order)
    await wait_until(lambda: tail.decision(order.client_order_id) is not None, 30)
    decision = tail.decision(order.client_order_id)
    assert decision is not None
    return decision


@asynccontextmanager
async def services(
    kafka: Any, log_dir: Path, scope: str
) -> AsyncIterator[tuple[FakeExchange, ServiceProcess]]:
    """The fake exchange (paused), market-data live on it and risk, both ready."""
    async with FakeExchange(Market(load_feed((RECORDING,))), ping_interval=5.0) as fake:
        ccxt = fake.ccxt_config()
        venue = {"name": "binance", "instruments": {BTC: "BTC/USDT"}, "rate_limit_ms": 0}
        venue |= {"urls": ccxt["urls"], "options": ccxt.get("options", {})}
        live = {"streams": ["trades"], "stale_after_s": 60, "heartbeat_s": 0.2}
        market_data = start_service(
            "market-data",
            kafka.bootstrap,
            scope,
            log_dir,
            venues=json.dumps([venue]),
            live=json.dumps(live),
        )
        risk = start_service(
            "risk",
            kafka.bootstrap,
            scope,
            log_dir,
            account_id=ACCOUNT,
            engine__limits__stale_market_data_max_age_ns=str(MAX_AGE_NS),
        )
        try:
            for service in (market_data, risk):
                await asyncio.to_thread(service.wait_ready)
            await wait_until(lambda: fake.context.subscriptions["btcusdt@trade"] > 0, 60)
            yield fake, risk
        finally:
            for service in (market_data, risk):
                status = await asyncio.to_thread(service.terminate)
                assert status == 0, service.log.read_text()[-3000:]


async def test_a_stale_live_feed_denies_new_orders_until_it_resumes(kafka, tmp_path):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    async with (
        services(kafka, tmp_path, scope) as (fake, risk),
        Tail(kafka.bootstrap, scope).running() as tail,
        KafkaBus("it-operator", settings, scope) as bus,
    ):
        fake.market.set_speed(1.0)  # the recording at real-time pace
        await wait_until(lambda: bool(tail.trades() and tail.heartbeats()), 30)
        first = tail.trades()[0]
        await bus.publish(
            PortfolioSnapshot.derive(
                first, source="order-router", account_id=ACCOUNT, cash=1e6, equity=1e6
            )
        )
        await caught_up(risk, tail, scope)
        fresh = await decide(bus, tail, "fresh", tail.last_trade_time())

        await fake.set_faults(FaultUpdate(stale=Stale(streams=("btcusdt@trade",))))
        await wait_until(
            lambda: any(
                beat.watermark > tail.last_trade_time() + MAX_AGE_NS for beat in tail.heartbeats()
            ),
            30,
        )
        silent_since = tail.last_trade_time()
        await caught_up(risk, tail, scope)
        stale = await decide(bus, tail, "stale", silent_since)

        await fake.set_faults(FaultUpdate(clear=True))
        await wait_until(lambda: tail.last_trade_time() > silent_since, 30)
        await caught_up(risk, tail, scope)
        resumed = await decide(bus, tail, "resumed", tail.last_trade_time())
        counted = await asyncio.to_thread(http_text, risk.base_url + "/metrics")

    assert isinstance(fresh, OrderApproved), fresh
    assert isinstance(stale, OrderDenied), stale
    assert RiskReason.STALE_MARKET_DATA in stale.reasons
    assert tail.last_trade_time() > silent_since
    assert isinstance(resumed, OrderApproved), resumed
    assert 'jules_risk_denial_reasons_total{reason="STALE_MARKET_DATA"} 1.0' in counted
