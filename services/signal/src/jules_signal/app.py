"""The signal service over Kafka: bars and feature vectors in, signals out.

A strategy decides on a feature vector *and* the bar it was computed from (the bar's close is
the signal's reference price), so the service consumes ``md.bars.v1`` and ``features.v1`` and
pairs them: the features service derives each vector from its bar, so ``vector.causation_id ==
bar.event_id``. Whichever of the two arrives first waits for the other, per instrument:

* pairs complete in bar order per instrument (both topics keep per-instrument order, and a pair
  completes when the later of its two events arrives), so the strategy sees exactly the sequence
  the embedded node gives it and publishes the same signals with the same ids;
* a vector waiting for its bar is dropped with a warning once ``pairing.stale_after`` newer bars
  of its instrument have arrived (the bar will not come any more), and a bar waiting for its
  vector once as many newer vectors have; at most ``pairing.max_pending`` bars and as many
  vectors wait per instrument, beyond that the oldest is dropped with a warning;
* an event whose pair was already settled (a redelivery after a restart or a rebalance) is
  ignored; the ids of the last ``pairing.max_pending`` pairs per instrument are remembered.

A feature vector of another schema than the live one (``feature_schema_id``, and its feature
names) is refused: not processed, logged, and reported as a ``RiskAlert`` with code
``FEATURE_SCHEMA_MISMATCH`` on ``risk.alerts.v1``. A model output the policy cannot use
(``ModelOutputError``) is reported the same way with code ``MODEL_OUTPUT_INVALID``.

With a registry model (``MODEL_NAME``) the service also consumes ``control.v1``: a ``SwapModel``
command swaps the production version between two pairs or runs a version in shadow mode, its
signals on ``signals.shadow.v1``; a version that cannot serve is refused with a ``RiskAlert``
``MODEL_REJECTED`` (``jules_signal.serving``).

The buffers and the strategy's state live in memory: after a restart the strategy warms up
again, and a bar or vector that waited across the restart is dropped as above.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Generic, Literal, TypeVar

from faststream.asgi import AsgiFastStream
from jules_contracts import AlertSeverity, Bar, Event, FeatureVector, RiskAlert, SignalGenerated
from jules_contracts.control import SwapModel
from jules_contracts.enums import ModelStage
from jules_contracts.topics import CONTROL, FEATURES, MD_BARS, SIGNALS_SHADOW
from jules_runtime.bus.records import outbound_event
from jules_runtime.errors import ConfigError
from jules_runtime.lockstep import Replica
from jules_runtime.logging import logger
from jules_runtime.service import ServiceRuntime, create_service_app, run_lockstep
from jules_runtime.settings import env_prefix
from prometheus_client import CollectorRegistry, Counter, Gauge

from jules_signal.config import PairingSettings, SignalSettings
from jules_signal.engine import (
    ModelLoadError,
    ModelOutputError,
    OnnxPolicy,
    Strategy,
    build_strategy,
)
from jules_signal.engine.strategy import SOURCE, direction_of
from jules_signal.lockstep import SignalDriver
from jules_signal.model_store import ModelStore, ModelStoreError
from jules_signal.serving import (
    MODEL_REJECTED,
    ModelRefusedError,
    ModelSource,
    ServingMetrics,
    model_rejected_alert,
    shadow_refused_alert,
)

__all__ = [
    "FEATURE_SCHEMA_MISMATCH",
    "MODEL_OUTPUT_INVALID",
    "MODEL_REJECTED",
    "LiveSchema",
    "LoadedModels",
    "SignalHandler",
    "SignalMetrics",
    "create_app",
    "load_models",
    "load_strategy",
]

FEATURE_SCHEMA_MISMATCH = "FEATURE_SCHEMA_MISMATCH"
"""Alert code of a refused feature vector (another feature schema than the live one)."""
MODEL_OUTPUT_INVALID = "MODEL_OUTPUT_INVALID"
"""Alert code of a model output the policy cannot turn into a target weight."""

_MAX_ALERT_MESSAGE = 1024  # RiskAlert.message
_REMEMBERED_COMMANDS = 1024  # ids of control commands handled, to ignore redeliveries
Kind = Literal["bar", "vector"]
E = TypeVar("E", Bar, FeatureVector)
ShadowSink = Callable[[Sequence[SignalGenerated]], Awaitable[None]]
"""Publishes a shadow model's signals (on ``signals.shadow.v1``)."""


@dataclass(frozen=True)
class LiveSchema:
    """The feature schema the features service publishes: its id and its names, in order."""

    schema_id: str
    names: tuple[str, ...]

    def problem_with(self, vector: FeatureVector) -> str | None:
        """Say why ``vector`` does not follow this schema, or ``None`` when it does."""
        if vector.feature_schema_id != self.schema_id:
            return (
                f"feature vector of schema {vector.feature_schema_id!r} refused: the live "
                f"feature schema is {self.schema_id!r}"
            )
        names = tuple(vector.features)
        if names != self.names:
            return (
                f"feature vector of schema {vector.feature_schema_id!r} refused: its features "
                f"{list(names)} are not the configured live features {list(self.names)}"
            )
        return None


class SignalMetrics:
    """Domain metrics of the signal service (``jules_signal_…``), beside the runtime's."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.signals = Counter(
            "jules_signal_signals",
            "Signals published, by strategy and direction.",
            ["strategy_id", "direction"],
            registry=registry,
        )
        self.refused = Counter(
            "jules_signal_refused_vectors",
            "Feature vectors refused (a RiskAlert was published), by alert code.",
            ["code"],
            registry=registry,
        )
        self.dropped = Counter(
            "jules_signal_unpaired_dropped",
            "Bars and vectors dropped without their partner, by kind and reason.",
            ["kind", "reason"],
            registry=registry,
        )
        self.duplicates = Counter(
            "jules_signal_duplicates",
            "Bars and vectors ignored because their pair was already settled, by kind.",
            ["kind"],
            registry=registry,
        )
        self.pending = Gauge(
            "jules_signal_pending",
            "Bars and vectors waiting for their partner, by kind.",
            ["kind"],
            registry=registry,
        )
        self.serving = ServingMetrics(registry)


@dataclass
class _Waiting(Generic[E]):
    """A bar or vector waiting for its partner; ``newer`` counts newer events of the other kind."""

    event: E
    newer: int = 0


@dataclass
class _InstrumentBuffer:
    """What waits for one instrument (keyed by bar id, oldest first) and the settled bar ids."""

    bars: dict[str, _Waiting[Bar]] = field(default_factory=dict)
    vectors: dict[str, _Waiting[FeatureVector]] = field(default_factory=dict)
    settled: dict[str, None] = field(default_factory=dict)


class SignalHandler:
    """Pairs bars with their feature vectors and runs the strategy on each pair.

    Call it with every event of ``md.bars.v1`` and ``features.v1``, and of ``control.v1`` for
    model swaps; it returns the events to publish. The decisions and the swaps are synchronous,
    so a swap always falls between two pairs, whatever the subscriptions' interleaving. Not
    thread-safe, like the engines.

    Args:
        strategy: A rule strategy or an ONNX policy (the production one).
        schema: The live feature schema.
        pairing: Bounds of the waiting buffers.
        metrics: Where to count what happens (optional).
        source: The registry model the service serves (``MODEL_NAME``); without it, swaps are
            refused.
        shadow: A policy to run beside production on every pair (shadow mode).
        shadow_sink: Publishes the shadow's signals when the handler is called as a bus
            handler; without it they wait in ``take_shadow``.
    """

    def __init__(
        self,
        strategy: Strategy,
        schema: LiveSchema,
        pairing: PairingSettings | None = None,
        metrics: SignalMetrics | None = None,
        *,
        source: ModelSource | None = None,
        shadow: OnnxPolicy | None = None,
        shadow_sink: ShadowSink | None = None,
    ) -> None:
        self._strategy = strategy
        self._schema = schema
        self._pairing = pairing or PairingSettings()
        self._metrics = metrics
        self._buffers: dict[str, _InstrumentBuffer] = {}
        self._source = source
        self._shadow = shadow
        self._shadow_sink = shadow_sink
        self._shadow_outbox: list[SignalGenerated] = []
        self._production_targets: dict[str, float] = {}
        self._shadow_targets: dict[str, float] = {}
        self._commands: dict[str, None] = {}
        if metrics is not None:
            kinds: tuple[Kind, ...] = ("bar", "vector")
            for kind in kinds:
                metrics.pending.labels(kind=kind).set_function(partial(self.pending, kind))
            metrics.serving.loaded(ModelStage.PRODUCTION, _model_of(strategy))
            metrics.serving.loaded(ModelStage.SHADOW, _model_of(shadow))

    @property
    def strategy(self) -> Strategy:
        """The strategy deciding production signals now."""
        return self._strategy

    @property
    def shadow(self) -> OnnxPolicy | None:
        """The policy running in shadow mode, if any."""
        return self._shadow

    async def __call__(self, event: Event) -> Sequence[Event]:
        """Handle one event of ``md.bars.v1``, ``features.v1`` or ``control.v1``.

        The shadow's signals go to ``shadow_sink`` before the production outputs are returned;
        other events (another service's commands) are ignored.
        """
        if isinstance(event, Bar):
            outputs = self.on_bar(event)
        elif isinstance(event, FeatureVector):
            outputs = self.on_features(event)
        elif isinstance(event, SwapModel):
            return self.on_swap(event)
        else:
            return []
        if self._shadow_sink is not None and self._shadow_outbox:
            signals = self.take_shadow()
            try:
                await self._shadow_sink(signals)
            except Exception as error:  # shadow signals only inform: production goes on
                logger.error(
                    "shadow signals not published",
                    count=len(signals),
                    error=f"{type(error).__name__}: {error}",
                )
                if self._metrics is not None:
                    self._metrics.serving.shadow_unpublished.inc(len(signals))
        return outputs

    def take_shadow(self) -> list[SignalGenerated]:
        """Return the shadow signals decided since the last call, and forget them."""
        signals, self._shadow_outbox = self._shadow_outbox, []
        return signals

    def on_swap(self, command: SwapModel) -> list[Event]:
        """Load the version a ``SwapModel`` names into its stage, or refuse it with an alert.

        A command for another service, a command already handled (a redelivery) and a
        version already in its stage change nothing.
        """
        if command.target not in {"*", SOURCE} or command.event_id in self._commands:
            return []
        self._commands[command.event_id] = None
        while len(self._commands) > _REMEMBERED_COMMANDS:
            del self._commands[next(iter(self._commands))]
        stage = ModelStage(command.stage)
        model = (command.model_name, command.model_version)
        current = _model_of(self._strategy if stage is ModelStage.PRODUCTION else self._shadow)
        if model == current:
            logger.info(
                "model swap: the version already serves in its stage",
                model_name=command.model_name,
                model_version=command.model_version,
                stage=stage.value,
                operator=command.operator,
            )
            self._count_swap(stage, "unchanged")
            return []
        try:
            policy = self._load(command, stage)
        except ModelRefusedError as error:
            return [self._refuse_model(command, error)]
        # No await from the load above to here: the swap falls between two decisions.
        if stage is ModelStage.PRODUCTION:
            previous = _model_of(self._strategy)
            self._strategy = policy
            if _model_of(self._shadow) == model:  # the shadow was promoted: its run is over
                self._set_shadow(None)
        else:
            previous = _model_of(self._shadow)
            self._set_shadow(policy)
        if self._metrics is not None:
            self._metrics.serving.loaded(stage, model)
        logger.info(
            "model swapped",
            model_name=command.model_name,
            model_version=command.model_version,
            previous_version=previous[1] if previous else None,
            stage=stage.value,
            operator=command.operator,
        )
        self._count_swap(stage, "swapped")
        return []

    def pending(self, kind: Kind) -> int:
        """How many bars (``"bar"``) or vectors (``"vector"``) wait, over all instruments."""
        return sum(
            len(buffer.bars if kind == "bar" else buffer.vectors)
            for buffer in self._buffers.values()
        )

    def on_bar(self, bar: Bar) -> list[Event]:
        """Pair a bar with its waiting vector and decide, or let the bar wait for it."""
        buffer = self._buffer(bar.instrument_id)
        if bar.event_id in buffer.settled or bar.event_id in buffer.bars:
            self._duplicate("bar", bar)
            return []
        self._expire(buffer.vectors, bar.event_time, "vector")
        waiting = buffer.vectors.get(bar.event_id)
        if waiting is None:
            buffer.bars[bar.event_id] = _Waiting(bar)
            self._bound(buffer.bars, "bar")
            return []
        outputs = self._decide(waiting.event, bar)
        del buffer.vectors[bar.event_id]
        self._settle(buffer, bar.event_id)
        return outputs

    def on_features(self, vector: FeatureVector) -> list[Event]:
        """Refuse a vector of another schema; else pair it with its bar and decide, or wait."""
        buffer = self._buffer(vector.instrument_id)
        bar_id = vector.causation_id
        problem = self._schema.problem_with(vector)
        if problem is not None:
            if bar_id is not None:
                buffer.bars.pop(bar_id, None)
                self._settle(buffer, bar_id)
            return [self._refuse(vector, FEATURE_SCHEMA_MISMATCH, problem)]
        if bar_id is None:
            logger.warning(
                "feature vector dropped: it names no bar (no causation_id) to pair it with",
                instrument_id=vector.instrument_id,
                vector_id=vector.event_id,
            )
            self._count_drop("vector", "no_cause")
            return []
        if bar_id in buffer.settled or bar_id in buffer.vectors:
            self._duplicate("vector", vector)
            return []
        self._expire(buffer.bars, vector.event_time, "bar")
        waiting = buffer.bars.get(bar_id)
        if waiting is None:
            buffer.vectors[bar_id] = _Waiting(vector)
            self._bound(buffer.vectors, "vector")
            return []
        outputs = self._decide(vector, waiting.event)
        del buffer.bars[bar_id]
        self._settle(buffer, bar_id)
        return outputs

    # --- internals ------------------------------------------------------------------------

    def _buffer(self, instrument_id: str) -> _InstrumentBuffer:
        buffer = self._buffers.get(instrument_id)
        if buffer is None:
            buffer = self._buffers[instrument_id] = _InstrumentBuffer()
        return buffer

    def _decide(self, vector: FeatureVector, bar: Bar) -> list[Event]:
        """Run production (and the shadow) on a pair (state is settled by the caller)."""
        outputs: list[Event] = []
        try:
            signal = self._strategy.on_features(vector, bar)
        except ModelOutputError as error:
            signal = None
            outputs.append(self._refuse(vector, MODEL_OUTPUT_INVALID, str(error)))
        if signal is not None:
            self._note_signal(signal)
            self._production_targets[signal.instrument_id] = signal.target_weight
            outputs.append(signal)
        if self._shadow is None:
            return outputs
        try:
            shadow = self._shadow.on_features(vector, bar)
        except ModelOutputError as error:
            shadow = None
            outputs.append(
                self._refuse(vector, MODEL_OUTPUT_INVALID, str(error), self._shadow.strategy_id)
            )
        if shadow is not None:
            self._note_signal(shadow)
            self._shadow_targets[shadow.instrument_id] = shadow.target_weight
            self._shadow_outbox.append(shadow)
        if signal is not None or shadow is not None:
            self._compare(vector.instrument_id)
        return outputs

    def _compare(self, instrument_id: str) -> None:
        """Count a decision of production or shadow: the targets both have in force now."""
        production = self._production_targets.get(instrument_id)
        shadow = self._shadow_targets.get(instrument_id)
        if production is None or shadow is None or self._metrics is None:
            return
        directions = (direction_of(production), direction_of(shadow))
        self._metrics.serving.compared(instrument_id, production, shadow, directions)

    def refuse_recorded_shadow(self, error: ModelRefusedError) -> RiskAlert:
        """Report the registry's shadow version refused at start-up: log, count, alert.

        Returns:
            The ``MODEL_REJECTED`` alert to publish.
        """
        logger.error(
            "shadow model refused at start-up, running without a shadow",
            code=MODEL_REJECTED,
            model_name=error.model_name,
            model_version=error.model_version,
            reason=error.reason,
            problem=error.detail,
        )
        if self._metrics is not None:
            self._metrics.serving.rejected.labels(reason=error.reason).inc()
        return shadow_refused_alert(error, time.time_ns())

    def _set_shadow(self, policy: OnnxPolicy | None) -> None:
        self._shadow = policy
        self._shadow_targets = {}
        if self._metrics is not None and policy is None:
            self._metrics.serving.loaded(ModelStage.SHADOW, None)

    def _load(self, command: SwapModel, stage: ModelStage) -> OnnxPolicy:
        if self._source is None:
            raise ModelRefusedError(
                command.model_name,
                command.model_version,
                "NO_REGISTRY",
                "the service serves a fixed strategy (STRATEGY or MODEL_PATH); swapping "
                "models needs MODEL_NAME and MODEL_REGISTRY",
            )
        if stage is ModelStage.SHADOW:
            return self._source.load(command.model_name, command.model_version, shadow=True)
        targets = self._strategy.targets if isinstance(self._strategy, OnnxPolicy) else None
        return self._source.load(command.model_name, command.model_version, targets=targets)

    def _refuse_model(self, command: SwapModel, error: ModelRefusedError) -> RiskAlert:
        logger.error(
            "model refused, the running model keeps serving",
            code=MODEL_REJECTED,
            model_name=error.model_name,
            model_version=error.model_version,
            stage=command.stage.value,
            reason=error.reason,
            problem=error.detail,
            operator=command.operator,
        )
        if self._metrics is not None:
            self._metrics.serving.rejected.labels(reason=error.reason).inc()
        self._count_swap(ModelStage(command.stage), "rejected")
        return model_rejected_alert(command, error)

    def _count_swap(self, stage: ModelStage, result: str) -> None:
        if self._metrics is not None:
            self._metrics.serving.swaps.labels(stage=stage.value, result=result).inc()

    def _note_signal(self, signal: SignalGenerated) -> None:
        logger.info(
            "signal",
            strategy_id=signal.strategy_id,
            instrument_id=signal.instrument_id,
            direction=signal.direction.value,
            target_weight=signal.target_weight,
            signal_id=signal.event_id,
        )
        if self._metrics is not None:
            self._metrics.signals.labels(
                strategy_id=signal.strategy_id, direction=signal.direction.value
            ).inc()

    def _refuse(
        self, vector: FeatureVector, code: str, problem: str, strategy_id: str | None = None
    ) -> RiskAlert:
        logger.error(
            "feature vector refused",
            code=code,
            problem=problem,
            instrument_id=vector.instrument_id,
            vector_id=vector.event_id,
            vector_schema_id=vector.feature_schema_id,
            live_schema_id=self._schema.schema_id,
            vector_features=",".join(vector.features),
            live_features=",".join(self._schema.names),
        )
        if self._metrics is not None:
            self._metrics.refused.labels(code=code).inc()
        return RiskAlert.derive(
            vector,
            key=code if strategy_id is None else f"{code}:{strategy_id}",
            source=SOURCE,
            severity=AlertSeverity.CRITICAL,
            code=code,
            message=f"{strategy_id or self._strategy.strategy_id}: {problem}"[:_MAX_ALERT_MESSAGE],
            instrument_id=vector.instrument_id,
        )

    def _expire(self, waiting: dict[str, _Waiting[E]], event_time: int, kind: Kind) -> None:
        """Age what waits for an event of the other kind at ``event_time``; drop the stale."""
        stale = []
        for key, item in waiting.items():  # oldest first
            if item.event.event_time >= event_time:
                break
            item.newer += 1
            if item.newer >= self._pairing.stale_after:
                stale.append(key)
        for key in stale:
            self._drop(waiting.pop(key).event, kind, "stale")

    def _bound(self, waiting: dict[str, _Waiting[E]], kind: Kind) -> None:
        while len(waiting) > self._pairing.max_pending:
            self._drop(waiting.pop(next(iter(waiting))).event, kind, "overflow")

    def _settle(self, buffer: _InstrumentBuffer, bar_id: str) -> None:
        buffer.settled[bar_id] = None
        while len(buffer.settled) > self._pairing.max_pending:
            del buffer.settled[next(iter(buffer.settled))]

    def _drop(self, event: Bar | FeatureVector, kind: Kind, reason: str) -> None:
        other = "feature vector" if kind == "bar" else "bar"
        if reason == "stale":
            why = f"{self._pairing.stale_after} newer {other}s came but not its {other}"
        else:
            why = f"more than {self._pairing.max_pending} {kind}s wait for their {other}"
        name = "bar" if kind == "bar" else "feature vector"
        bar_id = event.event_id if isinstance(event, Bar) else event.causation_id
        logger.warning(
            f"{name} dropped without its {other}: {why}",
            instrument_id=event.instrument_id,
            event_time=event.event_time,
            bar_id=bar_id,
            dropped_id=event.event_id,
            reason=reason,
        )
        self._count_drop(kind, reason)

    def _count_drop(self, kind: Kind, reason: str) -> None:
        if self._metrics is not None:
            self._metrics.dropped.labels(kind=kind, reason=reason).inc()

    def _duplicate(self, kind: Kind, event: Bar | FeatureVector) -> None:
        logger.debug(
            f"{kind} ignored: its pair is already settled or waiting (a redelivery)",
            instrument_id=event.instrument_id,
            duplicate_id=event.event_id,
        )
        if self._metrics is not None:
            self._metrics.duplicates.labels(kind=kind).inc()


def _model_of(strategy: Strategy | None) -> tuple[str, str] | None:
    """``(model name, version)`` of an ONNX policy, ``None`` for a rule strategy or none."""
    if isinstance(strategy, OnnxPolicy):
        return strategy.card.model_name, strategy.card.model_version
    return None


@dataclass(frozen=True)
class LoadedModels:
    """What the service serves from start-up.

    Attributes:
        strategy: The production strategy.
        source: The registry model (``MODEL_NAME``), or ``None`` for a fixed strategy.
        shadow: The registry's shadow version, when one is recorded and loads.
        shadow_refused: Why the recorded shadow version was refused, if it was.
    """

    strategy: Strategy
    source: ModelSource | None = None
    shadow: OnnxPolicy | None = None
    shadow_refused: ModelRefusedError | None = None


def load_strategy(settings: SignalSettings) -> Strategy:
    """Build the configured strategy; an ONNX model is read and checked here, once.

    Raises:
        ConfigError: The model cannot be read, or is refused (its card does not match the
            live feature schema, or it is not a usable policy); the message names the
            setting (``JULES_SIGNAL__MODEL_PATH``, or ``MODEL_NAME`` and ``MODEL_REGISTRY``)
            and gives the reason.
    """
    return load_models(settings).strategy


def load_models(settings: SignalSettings) -> LoadedModels:
    """Build the production strategy, and the registry's shadow version if one is recorded.

    A shadow version that cannot serve does not stop the service: it runs without a shadow
    and ``shadow_refused`` says why (the service reports it once started).

    Raises:
        ConfigError: The production model is missing or refused (see ``load_strategy``).
    """
    if settings.strategy is not None:
        return LoadedModels(build_strategy(settings.strategy))
    if settings.model_name is not None and settings.model_registry is not None:
        return _load_registry_models(settings, settings.model_name, settings.model_registry)
    path = settings.model_path
    if path is None:  # the settings validate that one of the three is set
        raise ConfigError(settings.service_name, ["no strategy and no model configured"])
    variable = f"{env_prefix(settings.service_name)}MODEL_PATH={str(path)!r}"
    try:
        model = path.read_bytes()
    except OSError as error:
        raise ConfigError(
            settings.service_name, [f"{variable}: cannot read the model: {error}"]
        ) from error
    try:
        return LoadedModels(
            OnnxPolicy.from_bytes(
                model,
                live_schema_id=settings.feature_schema_id,
                live_feature_names=settings.features,
                config=settings.policy,
            )
        )
    except ModelLoadError as error:
        raise ConfigError(settings.service_name, [f"{variable}: {error}"]) from error


def _load_registry_models(settings: SignalSettings, name: str, registry: Path) -> LoadedModels:
    prefix = env_prefix(settings.service_name)
    where = f"{prefix}MODEL_NAME={name!r} in {prefix}MODEL_REGISTRY={str(registry)!r}"
    source = ModelSource(
        ModelStore(registry),
        name,
        settings.feature_schema_id,
        settings.features,
        settings.policy,
    )
    try:
        production = source.store.production_version(name)
        shadow_version = source.store.shadow_version(name)
    except ModelStoreError as error:
        raise ConfigError(settings.service_name, [f"{where}: {error}"]) from error
    if production is None:
        raise ConfigError(
            settings.service_name,
            [
                f"{where}: model {name!r} has no production version in the registry "
                f"{str(registry)!r}; promote one (jules-train models promote) or set "
                f"{prefix}MODEL_PATH"
            ],
        )
    try:
        strategy = source.load(name, production)
    except ModelRefusedError as error:
        raise ConfigError(
            settings.service_name,
            [f"{where}: production version {production!r} refused, {error.detail}"],
        ) from error
    if shadow_version is None:
        return LoadedModels(strategy, source)
    try:
        return LoadedModels(strategy, source, source.load(name, shadow_version, shadow=True))
    except ModelRefusedError as error:
        return LoadedModels(strategy, source, shadow_refused=error)


def create_app(settings: SignalSettings) -> AsgiFastStream:
    """Build the signal service (consumer group ``jules-signal``).

    The strategy is built first, so a refused model stops the service before it connects.
    In live mode the service consumes ``md.bars.v1`` and ``features.v1``, and ``control.v1``
    for model swaps (``jules_signal.serving``); a shadow model's signals go to
    ``signals.shadow.v1``. With ``lockstep.enabled`` the service runs its backtest steps
    instead (``jules_signal.lockstep``), with the production strategy only.

    Raises:
        ConfigError: The model is refused (see ``load_strategy``).
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
                SignalDriver(handler),
                replica=Replica(lockstep.replica_index, lockstep.replicas),
            )

        return create_service_app(settings, wire_lockstep)

    def wire(runtime: ServiceRuntime) -> None:
        bus = runtime.bus

        async def publish_shadow(signals: Sequence[SignalGenerated]) -> None:
            await bus.send(
                [outbound_event(signal, bus.scope, SIGNALS_SHADOW) for signal in signals]
            )

        metrics = SignalMetrics(runtime.registry)
        handler = SignalHandler(
            strategy,
            schema,
            settings.pairing,
            metrics,
            source=models.source,
            shadow=models.shadow,
            shadow_sink=publish_shadow,
        )
        bus.subscribe([MD_BARS, FEATURES], handler)
        bus.subscribe([CONTROL], handler)

        async def announce() -> None:
            card = strategy.card if isinstance(strategy, OnnxPolicy) else None
            logger.info(
                "strategy loaded",
                strategy_id=strategy.strategy_id,
                required_features=",".join(strategy.required_features),
                feature_schema_id=schema.schema_id,
                model_name=card.model_name if card else None,
                model_version=card.model_version if card else None,
                shadow_version=models.shadow.card.model_version if models.shadow else None,
            )

        async def report_refused_shadow() -> None:
            if models.shadow_refused is not None:
                await bus.publish(handler.refuse_recorded_shadow(models.shadow_refused))

        runtime.on_startup.append(announce)
        runtime.after_startup.append(report_refused_shadow)

    return create_service_app(settings, wire)
