"""The risk service over Kafka: one risk engine behind the bus.

Inputs, and what the service does with each:

* ``md.bars.v1``, ``md.quotes.v1``, ``md.trades.v1`` → ``engine.on_market`` (reference
  prices, ATR, returns; may exit a position whose stop triggers);
* ``portfolio.v1`` → ``engine.on_portfolio``; the latest snapshot of the service's account is
  kept and passed with every signal and intent;
* ``signals.v1`` → ``engine.on_signal(signal, latest snapshot)``: a sized ``SubmitOrder`` and
  its decision. Before the first snapshot of the account a signal cannot be sized and gets
  the ``SIZING_UNAVAILABLE`` alert the engine gives a signal with no equity;
* ``orders.intents.v1`` → ``engine.on_intent`` for ``SubmitOrder`` commands made elsewhere
  (an operator's order). Risk publishes its own orders on that topic, so commands whose
  ``source`` is ``risk`` are skipped; ``CancelOrder`` commands are for the order-router.
  Before the first snapshot of the account an intent is not decided (so never approved): a
  ``PORTFOLIO_UNAVAILABLE`` alert says so;
* ``orders.events.v1`` → ``engine.on_order_event`` (working orders, fills, used ids);
* ``control.v1`` → ``engine.on_control`` for commands whose ``target`` is ``risk`` or ``*``:
  kill switch, configuration changes. Control has its own consumer, so a kill switch never
  waits behind a backlog of market data or signals.

Every output goes to its topic: ``SubmitOrder`` and ``CancelOrder`` to ``orders.intents.v1``,
decisions to ``orders.decisions.v1``, alerts to ``risk.alerts.v1``.

An input delivered again (Kafka delivers at least once) is recognised by its ``event_id``: it
gets its first outputs again if they were never acknowledged, nothing otherwise (see
``RiskService``).

The engine's state lives in memory. A restarted service first applies again the control
commands its consumer group had processed (kill switch, configuration changes; their outputs
are not published again), then resumes from its committed offsets; market knowledge, working
orders and loss halts start afresh. ``control.v1`` must keep its messages for this (long
retention or compaction by key would lose older commands of the same target).

Besides ``/health``, ``/ready`` and ``/metrics``, the service answers ``GET /kill-switch``
with ``{"state": "ACTIVE" | "REDUCING" | "HALTED"}`` (``?instrument=<id>``: the state in force
for that instrument). Domain metrics: ``jules_risk_kill_switch_state`` (0 active, 1 reducing,
2 halted), ``jules_risk_denial_reasons_total{reason}`` and ``jules_risk_alerts_total{code}``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from faststream.asgi import AsgiFastStream, AsgiResponse, HttpHandler, get
from jules_contracts import (
    Bar,
    CancelOrder,
    DecodeError,
    EngageKillSwitch,
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    PortfolioSnapshot,
    Quote,
    ReleaseKillSwitch,
    RiskAlert,
    SignalGenerated,
    SubmitOrder,
    Trade,
    decode_event,
)
from jules_contracts.control import ChangeConfig, SwapModel
from jules_contracts.enums import AlertSeverity, KillSwitchState
from jules_contracts.topics import (
    CONTROL,
    MD_BARS,
    MD_QUOTES,
    MD_TRADES,
    ORDERS_EVENTS,
    ORDERS_INTENTS,
    PORTFOLIO,
    SIGNALS,
)
from jules_runtime.bus import Bus, InboundRecord
from jules_runtime.logging import logger
from jules_runtime.service import ServiceRuntime, create_service_app, run_lockstep
from prometheus_client import CollectorRegistry, Counter, Gauge

from jules_risk.config import KILL_SWITCH_PATH, RiskSettings
from jules_risk.engine import SOURCE, RiskEngine
from jules_risk.lockstep import RiskDriver

__all__ = [
    "CONTROL_TOPICS",
    "INPUT_TOPICS",
    "KILL_SWITCH_PATH",
    "RiskService",
    "create_app",
    "kill_switch_endpoint",
    "read_processed_control",
    "subscribe",
]

INPUT_TOPICS = (MD_BARS, MD_QUOTES, MD_TRADES, PORTFOLIO, SIGNALS, ORDERS_INTENTS, ORDERS_EVENTS)
"""Topics of the main consumer (one consumer: the engine sees them in the order consumed)."""

CONTROL_TOPICS = (CONTROL,)
"""Topics of the control consumer."""

KILL_SWITCH_LEVEL = {
    KillSwitchState.ACTIVE: 0,
    KillSwitchState.REDUCING: 1,
    KillSwitchState.HALTED: 2,
}
"""Value of the ``jules_risk_kill_switch_state`` gauge per state."""

_MAX_MESSAGE = 1024


class RiskService:
    """Routes each input event to the risk engine and returns the events it causes.

    The engine is synchronous: every method reads and updates its state without awaiting,
    so the two consumers (inputs and control) never interleave inside one engine call.

    Kafka delivers at least once, and producers may publish an event twice, so an input is
    recognised by its ``event_id``:

    * read again because publishing its outputs failed, it gets the same outputs (same ids and
      values) without reaching the engine a second time;
    * delivered again after its outputs were acknowledged, it publishes nothing (a bar counted
      twice would skew the ATR and returns, a signal decided twice would be denied as a
      duplicate client order id).

    The last ``dedup_window`` acknowledged ids are remembered.

    Args:
        engine: The one engine of the service.
        dedup_window: How many acknowledged input ids are remembered.
    """

    def __init__(self, engine: RiskEngine, *, dedup_window: int = 100_000) -> None:
        if dedup_window < 1:
            raise ValueError(f"dedup_window must be at least 1, not {dedup_window}")
        self.engine = engine
        self.portfolio: PortfolioSnapshot | None = None
        """The latest snapshot of the engine's account (``None`` before the first)."""
        self._window = dedup_window
        self._pending: OrderedDict[str, list[Event]] = OrderedDict()
        self._acknowledged: OrderedDict[str, None] = OrderedDict()

    @property
    def account_id(self) -> str:
        """The account the engine trades."""
        return self.engine.config.account_id

    async def handle(self, event: Event) -> Sequence[Event]:
        """The bus handler: the events ``event`` causes (possibly none)."""
        return self.process(event)

    def acknowledged(self, record: InboundRecord, event: Event, outputs: Sequence[Event]) -> None:
        """The bus hook: ``event``'s outputs are on their topics (before its offset commits)."""
        self._pending.pop(event.event_id, None)
        self._acknowledged[event.event_id] = None
        if len(self._acknowledged) > self._window:
            self._acknowledged.popitem(last=False)

    def restore(self, commands: Sequence[Event]) -> int:
        """Apply control commands a previous run of the service already processed.

        Their outputs were published then, so they are discarded; the commands count as
        acknowledged (read again, they publish nothing).

        Returns:
            How many commands were for risk.
        """
        applied = 0
        for command in commands:
            if isinstance(command, EngageKillSwitch | ReleaseKillSwitch | ChangeConfig) and (
                command.target in (SOURCE, "*")
            ):
                self.engine.on_control(command)
                applied += 1
            self._acknowledged[command.event_id] = None
        while len(self._acknowledged) > self._window:
            self._acknowledged.popitem(last=False)
        return applied

    def process(self, event: Event) -> list[Event]:
        """Give ``event`` to the engine; return what it causes (possibly nothing)."""
        if event.event_id in self._acknowledged:
            return []
        outputs = self._pending.get(event.event_id)
        if outputs is None:
            outputs = self._route(event)
            self._pending[event.event_id] = outputs
            if len(self._pending) > self._window:
                self._pending.popitem(last=False)
        return list(outputs)

    def _route(self, event: Event) -> list[Event]:
        if isinstance(event, Bar | Quote | Trade):
            return self.engine.on_market(event)
        if isinstance(event, PortfolioSnapshot):
            return self._on_portfolio(event)
        if isinstance(event, SignalGenerated):
            return self._on_signal(event)
        if isinstance(event, SubmitOrder):
            return self._on_intent(event)
        if isinstance(
            event,
            OrderAccepted
            | OrderPartiallyFilled
            | OrderFilled
            | OrderCanceled
            | OrderRejected
            | OrderExpired,
        ):
            return self.engine.on_order_event(event)
        if isinstance(event, EngageKillSwitch | ReleaseKillSwitch | ChangeConfig):
            if event.target not in (SOURCE, "*"):
                return []
            return self.engine.on_control(event)
        if isinstance(event, CancelOrder | SwapModel):
            return []  # the order-router's and the signal service's commands
        logger.warning("event not for risk ignored", event_type=event.event_type)
        return []

    def _on_portfolio(self, snapshot: PortfolioSnapshot) -> list[Event]:
        latest = self.portfolio
        if snapshot.account_id == self.account_id and (
            latest is None or snapshot.event_time >= latest.event_time
        ):
            self.portfolio = snapshot
        return self.engine.on_portfolio(snapshot)

    def _on_signal(self, signal: SignalGenerated) -> list[Event]:
        if self.portfolio is None:
            kind = self.engine.config.sizing.kind
            return [
                _alert(
                    signal,
                    "SIZING_UNAVAILABLE",
                    f"signal for {signal.instrument_id} not sized ({kind}): no portfolio "
                    f"snapshot of account {self.account_id} yet",
                    signal.instrument_id,
                )
            ]
        return self.engine.on_signal(signal, self.portfolio)

    def _on_intent(self, order: SubmitOrder) -> list[Event]:
        if order.source == SOURCE:
            return []  # risk's own order, decided when it was made
        if self.portfolio is None:
            return [
                _alert(
                    order,
                    "PORTFOLIO_UNAVAILABLE",
                    f"order {order.client_order_id} for {order.instrument_id} not decided: no "
                    f"portfolio snapshot of account {self.account_id} yet",
                    order.instrument_id,
                )
            ]
        return self.engine.on_intent(order, self.portfolio)


def _alert(cause: Event, code: str, message: str, instrument_id: str | None) -> RiskAlert:
    """An alert as the engine makes them (id derived from the cause and the code)."""
    return RiskAlert.derive(
        cause,
        key=code,
        source=SOURCE,
        severity=AlertSeverity.WARNING,
        code=code,
        message=message[:_MAX_MESSAGE],
        instrument_id=instrument_id,
    )


class RiskMetrics:
    """Domain metrics of the risk service, counted once a message's outputs are published."""

    def __init__(self, service: RiskService, registry: CollectorRegistry) -> None:
        self.kill_switch = Gauge(
            "jules_risk_kill_switch_state",
            "Book-wide kill switch: 0 active, 1 reducing, 2 halted.",
            registry=registry,
        )
        self.kill_switch.set_function(lambda: KILL_SWITCH_LEVEL[service.engine.kill_switch_state()])
        self.denial_reasons = Counter(
            "jules_risk_denial_reasons",
            "Reason codes of denied orders (an order denied for two reasons counts twice).",
            ["reason"],
            registry=registry,
        )
        self.alerts = Counter(
            "jules_risk_alerts", "Risk alerts published, by code.", ["code"], registry=registry
        )

    def outputs_published(
        self, record: InboundRecord, event: Event, outputs: Sequence[Event]
    ) -> None:
        """Count denial reasons and alert codes among a message's published outputs."""
        for output in outputs:
            if isinstance(output, OrderDenied):
                for reason in output.reasons:
                    self.denial_reasons.labels(reason=reason.value).inc()
            elif isinstance(output, RiskAlert):
                self.alerts.labels(code=output.code).inc()


def subscribe(bus: Bus, service: RiskService, metrics: RiskMetrics | None = None) -> None:
    """Subscribe the service's two consumers (inputs, control) on ``bus``."""

    def published(record: InboundRecord, event: Event, outputs: Sequence[Event]) -> None:
        service.acknowledged(record, event, outputs)
        if metrics is not None:
            metrics.outputs_published(record, event, outputs)

    bus.subscribe(INPUT_TOPICS, service.handle, on_outputs_published=published)
    bus.subscribe(CONTROL_TOPICS, service.handle, on_outputs_published=published)


def kill_switch_endpoint(service: RiskService) -> HttpHandler:
    """``GET /kill-switch``: ``{"state": ...}`` of the book (or ``?instrument=<id>``)."""

    @get(description="Kill-switch state of the book, or of one instrument (?instrument=<id>).")
    async def kill_switch(scope: Any) -> AsgiResponse:
        query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
        instruments = query.get("instrument")
        instrument = instruments[0] if instruments else None
        body: dict[str, str] = {"state": service.engine.kill_switch_state(instrument).value}
        if instrument is not None:
            body["instrument_id"] = instrument
        return AsgiResponse(
            json.dumps(body).encode(), 200, headers={"content-type": "application/json"}
        )

    return kill_switch


async def read_processed_control(settings: RiskSettings) -> list[Event]:
    """The control commands the service's consumer group has already processed, in order.

    Reads ``control.v1`` (within the run scope) from its beginning up to the group's committed
    offsets, without joining the group. Messages that are not valid control commands (they
    were dead-lettered) are left out.
    """
    topic = CONTROL.scoped(settings.run_scope)
    kafka = settings.kafka
    connection = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "client_id": f"{settings.client_id}-restore",
        "request_timeout_ms": kafka.request_timeout_ms,
        "retry_backoff_ms": kafka.retry_backoff_ms,
        "metadata_max_age_ms": kafka.metadata_max_age_ms,
        "connections_max_idle_ms": kafka.connections_max_idle_ms,
    }
    deadline = time.monotonic() + kafka.request_timeout_ms / 1000
    admin = AIOKafkaAdminClient(**connection)
    await admin.start()
    try:
        while True:
            try:
                committed = await admin.list_consumer_group_offsets(settings.consumer_group)
                break
            except KafkaError as error:  # no coordinator yet on a new cluster: retriable
                if not error.retriable or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(kafka.retry_backoff_ms / 1000)
    finally:
        await admin.close()
    ends = {tp: meta.offset for tp, meta in committed.items() if tp.topic == topic}
    todo = sorted(tp for tp, end in ends.items() if end > 0)
    if not todo:
        return []
    consumer = AIOKafkaConsumer(
        **connection,
        group_id=None,
        enable_auto_commit=False,
        isolation_level=kafka.isolation_level,
    )
    await consumer.start()
    try:
        consumer.assign(todo)
        await consumer.seek_to_beginning(*todo)
        commands: list[Event] = []
        while todo:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic} could not be read up to offsets {ends}")
            batch = await consumer.getmany(*todo, timeout_ms=500)
            for tp, records in sorted(batch.items()):
                for record in records:
                    if record.offset >= ends[tp]:
                        break
                    try:
                        commands.append(
                            decode_event(record.value or b"", allowed=CONTROL.event_types)
                        )
                    except DecodeError:
                        continue
            todo = [tp for tp in todo if await consumer.position(tp) < ends[tp]]
        return commands
    finally:
        await consumer.stop()


def create_app(settings: RiskSettings) -> AsgiFastStream:
    """Build the risk service (consumer group ``jules-risk``): one engine, two consumers.

    Before consuming, the control commands the group already processed are applied again
    (``read_processed_control``), so a restarted service keeps its kill switch and the
    configuration changes made at run time. The rest of the engine's state (market, working
    orders, loss halts) starts afresh.

    With ``lockstep.enabled``, the service runs risk's lockstep steps of a topic-replay backtest
    instead (``jules_risk.lockstep``).
    """
    if settings.lockstep.enabled:
        return create_service_app(
            settings,
            lambda runtime: run_lockstep(runtime, RiskDriver(RiskEngine(settings.risk_config))),
        )
    service = RiskService(RiskEngine(settings.risk_config), dedup_window=settings.dedup_window)

    async def restore() -> None:
        applied = service.restore(await read_processed_control(settings))
        logger.info(
            "control commands restored",
            commands=applied,
            kill_switch=service.engine.kill_switch_state().value,
        )

    def wire(runtime: ServiceRuntime) -> None:
        subscribe(runtime.bus, service, RiskMetrics(service, runtime.registry))
        runtime.on_startup.append(restore)

    app = create_service_app(settings, wire)
    app.mount(KILL_SWITCH_PATH, kill_switch_endpoint(service))
    return app
