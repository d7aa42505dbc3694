"""The risk service's handlers: each input event routed to the risk engine, outputs returned.

Inputs, and what the service does with each:

* ``md.bars.v1``, ``md.quotes.v1``, ``md.trades.v1`` → ``engine.on_market`` (reference
  prices, ATR, returns; may exit a position whose stop triggers);
* ``portfolio.v1`` → ``engine.on_portfolio``; the latest snapshot of the service's account is
  kept and passed with every signal and intent;
* ``signals.v1`` → ``engine.on_signal(signal, latest snapshot)``: a sized ``SubmitOrder`` and
  its decision (before the first snapshot of the account, the engine's
  ``SIZING_UNAVAILABLE`` alert);
* ``orders.intents.v1`` → ``engine.on_intent`` for ``SubmitOrder`` commands made elsewhere
  (an operator's order). Risk publishes its own orders on that topic, so commands whose
  ``source`` is ``risk`` are skipped; ``CancelOrder`` commands are for the order-router.
  Before the first snapshot of the account an intent is not decided (so never approved): the
  engine's ``PORTFOLIO_UNAVAILABLE`` alert says so;
* ``orders.events.v1`` → ``engine.on_order_event`` (working orders, fills, used ids);
* ``control.v1`` → ``engine.on_control`` for commands whose ``target`` is ``risk`` or ``*``:
  kill switch, configuration changes. Control has its own consumer, so a kill switch never
  waits behind a backlog of market data or signals;
* ``watermarks.v1`` → ``engine.on_clock`` for live market-data's heartbeat
  (``jules_contracts.market_heartbeat``: the market time now), so that an
  instrument whose feed went silent ages and its orders that add risk are denied
  ``STALE_MARKET_DATA`` past ``limits.stale_market_data_max_age_ns``; other watermarks are
  ignored. A heartbeat only moves the clock forward, so one read twice changes nothing and
  is not remembered as an input. Backtests (lockstep) do not read this topic.

Every output goes to its topic: ``SubmitOrder`` and ``CancelOrder`` to ``orders.intents.v1``,
decisions to ``orders.decisions.v1``, alerts to ``risk.alerts.v1``.

An input delivered again (Kafka delivers at least once) is recognised by its ``event_id``: it
gets its first outputs again if they were never acknowledged, nothing otherwise (see
``RiskService``).

The engine's state lives in memory and on Kafka: after each batch of inputs the service
writes what changed to its compacted changelog, and each control command it applied to the
compacted control-state topic, before the offsets are committed (``jules_risk.state``). A
restarted service restores both before it consumes (``jules_risk.restore``): positions,
working orders, market knowledge, loss halts, limits and the kill switch are as they were,
and the inputs whose effects the restored state holds are not handled again.
"""

from __future__ import annotations

from collections.abc import Sequence

from jules_contracts import (
    Bar,
    CancelOrder,
    EngageKillSwitch,
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderResized,
    PortfolioSnapshot,
    Quote,
    ReleaseKillSwitch,
    SignalGenerated,
    SubmitOrder,
    Trade,
    Watermark,
    is_market_heartbeat,
)
from jules_contracts.control import ChangeConfig, SwapModel
from jules_contracts.topics import (
    CONTROL,
    MD_BARS,
    MD_QUOTES,
    MD_TRADES,
    ORDERS_EVENTS,
    ORDERS_INTENTS,
    PORTFOLIO,
    SIGNALS,
    WATERMARKS,
)
from jules_runtime.bus import Bus, InboundRecord, MessageProcessor, Redelivery
from jules_runtime.bus.processor import BatchDoneHook, OutputsPublishedHook
from jules_runtime.logging import logger

from jules_risk.engine import SOURCE, RiskEngine
from jules_risk.metrics import RiskMetrics

__all__ = [
    "CONTROL_TOPICS",
    "INPUT_TOPICS",
    "RiskCommand",
    "RiskService",
    "control_state_key",
    "subscribe",
]

INPUT_TOPICS = (
    MD_BARS,
    MD_QUOTES,
    MD_TRADES,
    PORTFOLIO,
    SIGNALS,
    ORDERS_INTENTS,
    ORDERS_EVENTS,
    WATERMARKS,
)
"""Topics of the main consumer (one consumer: the engine sees them in the order consumed)."""

CONTROL_TOPICS = (CONTROL,)
"""Topics of the control consumer."""

RiskCommand = EngageKillSwitch | ReleaseKillSwitch | ChangeConfig
"""The control commands risk obeys (when their ``target`` is ``risk`` or ``*``)."""


class RiskService:
    """Routes each input event to the risk engine and returns the events it causes.

    The engine is synchronous: every method reads and updates its state without awaiting,
    so the two consumers (inputs and control) never interleave inside one engine call.

    Kafka delivers at least once, and producers may publish an event twice, so an input is
    recognised by its ``event_id`` (``jules_runtime.bus.Redelivery``):

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
        self.engine = engine
        self.portfolio: PortfolioSnapshot | None = None
        """The latest snapshot of the engine's account (``None`` before the first)."""
        self._redelivery = Redelivery(dedup_window)
        self.control_applied: dict[str, str] = {}
        """Per control-state key (``jules_risk.state.control_state_key``), the id of the last
        command applied: its effects are in the engine (restored with the changelog)."""

    @property
    def account_id(self) -> str:
        """The account the engine trades."""
        return self.engine.config.account_id

    async def handle(self, event: Event) -> Sequence[Event]:
        """The bus handler: the events ``event`` causes (possibly none)."""
        return self.process(event)

    def acknowledged(self, record: InboundRecord, event: Event, outputs: Sequence[Event]) -> None:
        """The bus hook: ``event``'s outputs are on their topics (before its offset commits)."""
        if not isinstance(event, Watermark):
            self._redelivery.acknowledge(event.event_id)

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
        self._redelivery.acknowledge_all(command.event_id for command in commands)
        return applied

    def process(self, event: Event) -> list[Event]:
        """Give ``event`` to the engine; return what it causes (possibly nothing)."""
        if isinstance(event, Watermark):
            if is_market_heartbeat(event):
                self.engine.on_clock(event.watermark)
            return []
        return self._redelivery.outputs(event.event_id, lambda: self._route(event))

    def _route(self, event: Event) -> list[Event]:
        if isinstance(event, Bar | Quote | Trade):
            return self.engine.on_market(event)
        if isinstance(event, PortfolioSnapshot):
            return self._on_portfolio(event)
        if isinstance(event, SignalGenerated):
            return self.engine.on_signal(event, self.portfolio)
        if isinstance(event, SubmitOrder):
            if event.source == SOURCE:
                return []  # risk's own order, decided when it was made
            return self.engine.on_intent(event, self.portfolio)
        if isinstance(
            event,
            OrderAccepted
            | OrderPartiallyFilled
            | OrderFilled
            | OrderCanceled
            | OrderRejected
            | OrderExpired
            | OrderResized,
        ):
            return self.engine.on_order_event(event)
        if isinstance(event, EngageKillSwitch | ReleaseKillSwitch | ChangeConfig):
            if event.target not in (SOURCE, "*"):
                return []
            outputs = self.engine.on_control(event)
            self.control_applied[control_state_key(event)] = event.event_id
            return outputs
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


def control_state_key(command: RiskCommand) -> str:
    """The control-state key of a command: its target and the kill-switch scope or setting."""
    if isinstance(command, ChangeConfig):
        return f"{command.target}/config/{command.key}"
    return f"{command.target}/kill_switch/{command.instrument_id or '*'}"


def subscribe(
    bus: Bus,
    service: RiskService,
    metrics: RiskMetrics | None = None,
    *,
    control_group: str | None = None,
    on_input_batch: BatchDoneHook | None = None,
    on_control_published: OutputsPublishedHook | None = None,
    on_control_batch: BatchDoneHook | None = None,
) -> tuple[MessageProcessor, MessageProcessor]:
    """Subscribe the service's two consumers (inputs, control) on ``bus``.

    Args:
        bus: The bus.
        service: The service.
        metrics: Counts each input's outputs once they are acknowledged.
        control_group: The control consumer's group (default: the bus's, shared with the
            inputs); one per replica reads ``control.v1`` by broadcast.
        on_input_batch: Awaited after each input batch, before its commit (the changelog).
        on_control_published: Told of each control command's acknowledged outputs.
        on_control_batch: Awaited after each control batch, before its commit.

    Returns:
        The input and the control processors.
    """

    def published(record: InboundRecord, event: Event, outputs: Sequence[Event]) -> None:
        service.acknowledged(record, event, outputs)
        if metrics is not None:
            metrics.outputs_published(record, event, outputs)

    def control_published(record: InboundRecord, event: Event, outputs: Sequence[Event]) -> None:
        published(record, event, outputs)
        if on_control_published is not None:
            on_control_published(record, event, outputs)

    inputs = bus.subscribe(
        INPUT_TOPICS, service.handle, on_outputs_published=published, on_batch_done=on_input_batch
    )
    control = bus.subscribe(
        CONTROL_TOPICS,
        service.handle,
        group=control_group,
        on_outputs_published=control_published,
        on_batch_done=on_control_batch,
    )
    return inputs, control
