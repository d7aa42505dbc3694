"""The signal service over Kafka: bars and feature vectors in, signals out.

A strategy decides on a feature vector *and* the bar it was computed from (the bar's close is
the signal's reference price), so the service consumes ``md.bars.v1`` and ``features.v1``,
pairs each vector with its bar (``jules_signal.engine.pairing``) and runs the strategy on the
pair (``jules_signal.handlers``); signals go to ``signals.v1``, refusals as ``RiskAlert`` to
``risk.alerts.v1``.

The service also consumes ``control.v1``, by broadcast (a consumer group per replica, every
replica reads every command): with a registry model (``MODEL_NAME``) a ``SwapModel`` command
swaps the production version between two pairs or runs a version in shadow mode, its signals
on ``signals.shadow.v1`` (``jules_signal.swap``). The production version in service is kept on
``control-state.v1`` and served again after a restart (``jules_signal.control_state``). With
``lockstep.enabled`` it runs its backtest steps instead (``jules_signal.lockstep``).

This module only wires: the models are loaded by ``jules_signal.models``, and the handler
subscribed on the runtime's bus.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from faststream.asgi import AsgiFastStream
from jules_contracts import BookSnapshot, Quote, SignalGenerated, Topic, Trade
from jules_contracts.topics import (
    CONTROL,
    CONTROL_STATE,
    FEATURES,
    MD_BARS,
    MD_BOOK,
    MD_QUOTES,
    MD_TRADES,
    ORDERS_EVENTS,
    SIGNALS_SHADOW,
)
from jules_runtime.bus import Bus, MessageProcessor
from jules_runtime.bus.processor import BatchDoneHook
from jules_runtime.bus.records import outbound_event
from jules_runtime.lockstep import Replica
from jules_runtime.logging import logger
from jules_runtime.service import ServiceRuntime, create_service_app, run_lockstep

from jules_signal.config import SignalSettings
from jules_signal.control_state import (
    ModelStateWriter,
    control_group,
    restore_model,
    restore_refused_alert,
    startup_entry,
)
from jules_signal.engine import LiveSchema, OnnxPolicy, PythonStrategy, Tick
from jules_signal.handlers import SignalHandler
from jules_signal.lockstep import SignalDriver
from jules_signal.metrics import SignalMetrics
from jules_signal.models import load_models
from jules_signal.serving import ModelRefusedError

__all__ = ["create_app", "subscribe"]


TICK_TOPICS: dict[type[Tick], Topic] = {Quote: MD_QUOTES, Trade: MD_TRADES, BookSnapshot: MD_BOOK}
"""The topic of each kind of tick a user's strategy may ask for."""


def subscribe(
    bus: Bus,
    handler: SignalHandler,
    *,
    control_group: str | None = None,
    on_control_batch: BatchDoneHook | None = None,
) -> MessageProcessor:
    """Subscribe the handler on ``bus``: bars and vectors, and ``control.v1`` for model swaps.

    A user's strategy with tick hooks gets the ticks it asks for too (``md.quotes.v1`` for
    ``on_quote``, ``md.trades.v1`` for ``on_trade``, ``md.book.v1`` for ``on_book``, whose
    book snapshots it sees), and one with ``on_fill`` the order events (``orders.events.v1``),
    whose fills it sees. A command's outputs, once published, are acknowledged to the
    handler, so a ``SwapModel`` delivered again changes and publishes nothing.

    Args:
        bus: The bus.
        handler: The handler.
        control_group: The control consumer's group (default: the bus's, shared with the
            inputs); one per replica reads ``control.v1`` by broadcast.
        on_control_batch: Awaited after each control batch, before its commit.

    Returns:
        The control consumer's processor.
    """
    bus.subscribe([MD_BARS, FEATURES], handler)
    strategy = handler.strategy
    if isinstance(strategy, PythonStrategy) and strategy.market_kinds:
        asked = [topic for kind, topic in TICK_TOPICS.items() if kind in strategy.market_kinds]
        bus.subscribe(asked, handler)
    if isinstance(strategy, PythonStrategy) and strategy.asks_fills:
        bus.subscribe([ORDERS_EVENTS], handler)
    return bus.subscribe(
        [CONTROL],
        handler,
        group=control_group,
        on_outputs_published=handler.acknowledged,
        on_batch_done=on_control_batch,
    )


def create_app(settings: SignalSettings) -> AsgiFastStream:
    """Build the signal service (consumer group ``jules-signal``).

    The strategy is built first, so a refused model stops the service before it connects.
    In live mode the service consumes ``md.bars.v1`` and ``features.v1``, and ``control.v1``
    for model swaps (group ``jules-signal-control-<replica>``: every replica reads every
    command); a shadow model's signals go to ``signals.shadow.v1``. With a registry model,
    the production version in service is restored from ``control-state.v1`` before
    consuming, and written to it at start-up and after each swap, before the swap's commit
    (``jules_signal.control_state``). With ``lockstep.enabled`` the service runs its
    backtest steps instead, with the production strategy only.

    Raises:
        ConfigError: The model is refused (see ``jules_signal.models.load_strategy``).
    """
    models = load_models(settings)
    strategy = models.strategy
    schema = LiveSchema(settings.feature_schema_id, settings.features)
    lockstep = settings.lockstep
    if lockstep.enabled:

        def wire_lockstep(runtime: ServiceRuntime) -> None:
            handler = SignalHandler(
                strategy, schema, settings.pairing, SignalMetrics(runtime.registry)
            )
            run_lockstep(
                runtime,
                SignalDriver(handler, ticks=lockstep.ticks),
                replica=Replica(lockstep.replica_index, lockstep.replicas),
            )

        return create_service_app(settings, wire_lockstep)

    def wire(runtime: ServiceRuntime) -> None:
        bus = runtime.bus

        async def publish_shadow(signals: Sequence[SignalGenerated]) -> None:
            await bus.send(
                [outbound_event(signal, bus.scope, SIGNALS_SHADOW) for signal in signals]
            )

        handler = SignalHandler(
            strategy,
            schema,
            settings.pairing,
            SignalMetrics(runtime.registry),
            source=models.source,
            shadow=models.shadow,
            shadow_sink=publish_shadow,
            in_service=None if models.production is None else startup_entry(models.production),
        )
        writer = None
        if models.source is not None:
            writer = ModelStateWriter(
                bus,
                CONTROL_STATE.scoped(settings.run_scope),
                models.source.model_name,
                lambda: handler.models.in_service,
            )
        control = subscribe(
            bus,
            handler,
            control_group=control_group(settings),
            on_control_batch=None if writer is None else writer.batch_done,
        )
        restore_refused: list[ModelRefusedError] = []

        async def restore() -> None:
            if writer is not None:
                refused = await restore_model(settings, handler.models, writer, control)
                restore_refused.extend([] if refused is None else [refused])

        async def announce() -> None:
            serving = handler.strategy
            card = serving.card if isinstance(serving, OnnxPolicy) else None
            logger.info(
                "strategy loaded",
                strategy_id=serving.strategy_id,
                required_features=",".join(serving.required_features),
                feature_schema_id=schema.schema_id,
                model_name=card.model_name if card else None,
                model_version=card.model_version if card else None,
                shadow_version=handler.shadow.card.model_version if handler.shadow else None,
            )

        async def report_refused() -> None:
            if models.shadow_refused is not None:
                await bus.publish(
                    handler.models.refuse_recorded_shadow(models.shadow_refused, time.time_ns())
                )
            for error in restore_refused:
                await bus.publish(restore_refused_alert(error, time.time_ns()))
            if writer is not None:
                await writer.write()  # the model in service at start-up

        runtime.on_startup.extend([restore, announce])
        runtime.after_startup.append(report_refused)

    return create_service_app(settings, wire)
