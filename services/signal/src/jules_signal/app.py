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

The buffers and the strategy's state live in memory: after a restart the strategy warms up
again, and a bar or vector that waited across the restart is dropped as above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Generic, Literal, TypeVar

from faststream.asgi import AsgiFastStream
from jules_contracts import AlertSeverity, Bar, Event, FeatureVector, RiskAlert, SignalGenerated
from jules_contracts.topics import FEATURES, MD_BARS
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
from jules_signal.engine.strategy import SOURCE
from jules_signal.lockstep import SignalDriver

__all__ = [
    "FEATURE_SCHEMA_MISMATCH",
    "MODEL_OUTPUT_INVALID",
    "LiveSchema",
    "SignalHandler",
    "SignalMetrics",
    "create_app",
    "load_strategy",
]

FEATURE_SCHEMA_MISMATCH = "FEATURE_SCHEMA_MISMATCH"
"""Alert code of a refused feature vector (another feature schema than the live one)."""
MODEL_OUTPUT_INVALID = "MODEL_OUTPUT_INVALID"
"""Alert code of a model output the policy cannot turn into a target weight."""

_MAX_ALERT_MESSAGE = 1024  # RiskAlert.message
Kind = Literal["bar", "vector"]
E = TypeVar("E", Bar, FeatureVector)


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

    Call it with every event of ``md.bars.v1`` and ``features.v1`` (one subscription, so the
    calls never overlap); it returns the events to publish. Not thread-safe, like the engines.

    Args:
        strategy: A rule strategy or an ONNX policy (built once).
        schema: The live feature schema.
        pairing: Bounds of the waiting buffers.
        metrics: Where to count what happens (optional).
    """

    def __init__(
        self,
        strategy: Strategy,
        schema: LiveSchema,
        pairing: PairingSettings | None = None,
        metrics: SignalMetrics | None = None,
    ) -> None:
        self._strategy = strategy
        self._schema = schema
        self._pairing = pairing or PairingSettings()
        self._metrics = metrics
        self._buffers: dict[str, _InstrumentBuffer] = {}
        if metrics is not None:
            kinds: tuple[Kind, ...] = ("bar", "vector")
            for kind in kinds:
                metrics.pending.labels(kind=kind).set_function(partial(self.pending, kind))

    async def __call__(self, event: Event) -> Sequence[Event]:
        """Handle one event of ``md.bars.v1`` or ``features.v1``; other events are ignored."""
        if isinstance(event, Bar):
            return self.on_bar(event)
        if isinstance(event, FeatureVector):
            return self.on_features(event)
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
        """Run the strategy on a pair (state is settled by the caller only if this returns)."""
        try:
            signal = self._strategy.on_features(vector, bar)
        except ModelOutputError as error:
            return [self._refuse(vector, MODEL_OUTPUT_INVALID, str(error))]
        if signal is None:
            return []
        self._note_signal(signal)
        return [signal]

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

    def _refuse(self, vector: FeatureVector, code: str, problem: str) -> RiskAlert:
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
            key=code,
            source=SOURCE,
            severity=AlertSeverity.CRITICAL,
            code=code,
            message=f"{self._strategy.strategy_id}: {problem}"[:_MAX_ALERT_MESSAGE],
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


def load_strategy(settings: SignalSettings) -> Strategy:
    """Build the configured strategy; an ONNX model is read and checked here, once.

    Raises:
        ConfigError: The model cannot be read, or is refused (its card does not match the
            live feature schema, or it is not a usable policy); the message names
            ``JULES_SIGNAL__MODEL_PATH`` and gives the engine's reason.
    """
    if settings.strategy is not None:
        return build_strategy(settings.strategy)
    path = settings.model_path
    if path is None:  # the settings validate that one of the two is set
        raise ConfigError(settings.service_name, ["no strategy and no model configured"])
    variable = f"{env_prefix(settings.service_name)}MODEL_PATH={str(path)!r}"
    try:
        model = path.read_bytes()
    except OSError as error:
        raise ConfigError(
            settings.service_name, [f"{variable}: cannot read the model: {error}"]
        ) from error
    try:
        return OnnxPolicy.from_bytes(
            model,
            live_schema_id=settings.feature_schema_id,
            live_feature_names=settings.features,
            config=settings.policy,
        )
    except ModelLoadError as error:
        raise ConfigError(settings.service_name, [f"{variable}: {error}"]) from error


def create_app(settings: SignalSettings) -> AsgiFastStream:
    """Build the signal service (consumer group ``jules-signal``).

    The strategy is built first, so a refused model stops the service before it connects.
    With ``lockstep.enabled`` the service runs its backtest steps instead
    (``jules_signal.lockstep``).

    Raises:
        ConfigError: The model is refused (see ``load_strategy``).
    """
    strategy = load_strategy(settings)
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
        handler = SignalHandler(strategy, schema, settings.pairing, SignalMetrics(runtime.registry))
        runtime.bus.subscribe([MD_BARS, FEATURES], handler)

        async def announce() -> None:
            card = strategy.card if isinstance(strategy, OnnxPolicy) else None
            logger.info(
                "strategy loaded",
                strategy_id=strategy.strategy_id,
                required_features=",".join(strategy.required_features),
                feature_schema_id=schema.schema_id,
                model_name=card.model_name if card else None,
                model_version=card.model_version if card else None,
            )

        runtime.on_startup.append(announce)

    return create_service_app(settings, wire)
