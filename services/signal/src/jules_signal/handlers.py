"""The signal service's handler: bars, feature vectors and model swaps in, events out.

The bus decodes each message; the handler pairs every bar with the feature vector derived from
it (``jules_signal.engine.pairing``), runs the production strategy (and a shadow policy, see
``jules_signal.swap``) on each pair, and returns the events to publish. It logs and counts
what the pairing drops or ignores.

A feature vector of another schema than the live one (``feature_schema_id``, and its feature
names) is refused: not processed, logged, and reported as a ``RiskAlert`` with code
``AlertCode.FEATURE_SCHEMA_MISMATCH`` on ``risk.alerts.v1``. A model output the policy cannot
use (``ModelOutputError``) is reported the same way with code ``AlertCode.MODEL_OUTPUT_INVALID``,
and a user's strategy that raised (``StrategyQuarantinedError``) with
``AlertCode.STRATEGY_QUARANTINED``: it decides nothing more, the service goes on.

The buffers and the strategy's state live in memory: after a restart the strategy warms up
again, and a bar or vector that waited across the restart is dropped as a stale one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

from jules_contracts import (
    AlertCode,
    AlertSeverity,
    Bar,
    BookSnapshot,
    Event,
    FeatureVector,
    OrderFilled,
    OrderPartiallyFilled,
    Quote,
    RiskAlert,
    SignalGenerated,
    Trade,
)
from jules_contracts.control import ModelInService, SwapModel
from jules_runtime.bus import InboundRecord
from jules_runtime.logging import logger

from jules_signal.config import PairingSettings
from jules_signal.engine import (
    Dropped,
    LiveSchema,
    ModelOutputError,
    OnnxPolicy,
    Pairing,
    PairingOutcome,
    PythonStrategy,
    Strategy,
    StrategyQuarantinedError,
    Tick,
    quarantine_alert,
)
from jules_signal.engine.pairing import Kind
from jules_signal.engine.strategy import SOURCE
from jules_signal.metrics import SignalMetrics
from jules_signal.serving import ModelSource
from jules_signal.swap import ModelSwapper

__all__ = ["ShadowSink", "SignalHandler"]

_Cause = FeatureVector | Tick | OrderFilled | OrderPartiallyFilled
"""What a strategy's hook runs on."""

ShadowSink = Callable[[Sequence[SignalGenerated]], Awaitable[None]]
"""Publishes a shadow model's signals (on ``signals.shadow.v1``)."""


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
        in_service: The control-state entry of ``strategy`` (``jules_signal.control_state``).
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
        in_service: ModelInService | None = None,
    ) -> None:
        bounds = pairing or PairingSettings()
        self._pairing = Pairing(bounds.stale_after, bounds.max_pending)
        self._schema = schema
        self._metrics = metrics
        self._models = ModelSwapper(
            strategy,
            source=source,
            shadow=shadow,
            metrics=None if metrics is None else metrics.serving,
            in_service=in_service,
        )
        self._shadow_sink = shadow_sink
        self._shadow_outbox: list[SignalGenerated] = []
        if metrics is not None:
            kinds: tuple[Kind, ...] = ("bar", "vector")
            for kind in kinds:
                metrics.pending.labels(kind=kind).set_function(partial(self.pending, kind))

    @property
    def models(self) -> ModelSwapper:
        """The models deciding now, and their swaps."""
        return self._models

    @property
    def strategy(self) -> Strategy:
        """The strategy deciding production signals now."""
        return self._models.strategy

    @property
    def shadow(self) -> OnnxPolicy | None:
        """The policy running in shadow mode, if any."""
        return self._models.shadow

    async def __call__(self, event: Event) -> Sequence[Event]:
        """Handle one event of ``md.bars.v1``, ``features.v1``, ``control.v1``, or a tick.

        A tick reaches a user's strategy that asked for it (``on_tick``).

        The shadow's signals go to ``shadow_sink`` before the production outputs are returned;
        other events (another service's commands) are ignored.
        """
        if isinstance(event, Bar):
            outputs = self.on_bar(event)
        elif isinstance(event, FeatureVector):
            outputs = self.on_features(event)
        elif isinstance(event, Quote | Trade | BookSnapshot):
            outputs = self.on_tick(event)
        elif isinstance(event, OrderFilled | OrderPartiallyFilled):
            outputs = self.on_fill(event)
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

    def acknowledged(self, record: InboundRecord, event: Event, outputs: Sequence[Event]) -> None:
        """The bus hook (``on_outputs_published``): ``event``'s outputs are on their topics.

        A ``SwapModel`` delivered again after this changes and publishes nothing; the entry
        of the version it put in service records where it was read (``record``).
        """
        if isinstance(event, SwapModel):
            self._models.acknowledge(event, record)

    def take_shadow(self) -> list[SignalGenerated]:
        """Return the shadow signals decided since the last call, and forget them."""
        signals, self._shadow_outbox = self._shadow_outbox, []
        return signals

    def on_swap(self, command: SwapModel) -> list[Event]:
        """Swap models as the command says, or refuse it with an alert (``ModelSwapper``)."""
        return self._models.on_swap(command)

    def pending(self, kind: Kind) -> int:
        """How many bars (``"bar"``) or vectors (``"vector"``) wait, over all instruments."""
        return self._pairing.pending(kind)

    def on_bar(self, bar: Bar) -> list[Event]:
        """Pair a bar with its waiting vector and decide, or let the bar wait for it."""
        return self._on_outcome("bar", bar, self._pairing.add_bar(bar))

    def on_features(self, vector: FeatureVector) -> list[Event]:
        """Refuse a vector of another schema; else pair it with its bar and decide, or wait."""
        problem = self._schema.problem_with(vector)
        if problem is not None:
            self._pairing.discard(vector)
            return [self._refuse(vector, AlertCode.FEATURE_SCHEMA_MISMATCH, problem)]
        return self._on_outcome("vector", vector, self._pairing.add_vector(vector))

    def on_tick(self, tick: Tick) -> list[Event]:
        """Run a user's strategy on a quote, trade or book it asked for (``on_quote`` ...).

        Other strategies, and ticks it did not ask for, decide nothing.
        """
        strategy = self._models.strategy
        if not isinstance(strategy, PythonStrategy) or type(tick) not in strategy.market_kinds:
            return []
        return self._user_hook(tick, strategy.on_market)

    def on_fill(self, fill: OrderFilled | OrderPartiallyFilled) -> list[Event]:
        """Run a user's strategy's ``on_fill`` on a fill, when it asks for fills.

        Other strategies decide nothing on a fill.
        """
        strategy = self._models.strategy
        if not isinstance(strategy, PythonStrategy) or not strategy.asks_fills:
            return []
        return self._user_hook(fill, strategy.on_fill)

    # --- internals ------------------------------------------------------------------------

    def _user_hook(
        self, cause: _Cause, hook: Callable[[Any], list[SignalGenerated]]
    ) -> list[Event]:
        """A user's strategy's signals from one of its hooks, or its quarantine alert."""
        try:
            signals = hook(cause)
        except StrategyQuarantinedError as error:
            return [self._quarantined(cause, error)]
        for signal in signals:
            self._note_signal(signal)
        return list(signals)

    def _quarantined(self, cause: _Cause, error: StrategyQuarantinedError) -> Event:
        """A user's strategy raised: it stops, with a ``STRATEGY_QUARANTINED`` alert."""
        logger.error("strategy quarantined", strategy_id=error.strategy_id, error=str(error))
        if self._metrics is not None:
            self._metrics.refused.labels(code=AlertCode.STRATEGY_QUARANTINED).inc()
        return quarantine_alert(cause, error)

    def _on_outcome(
        self, kind: Kind, event: Bar | FeatureVector, outcome: PairingOutcome
    ) -> list[Event]:
        """Report what the pairing did with ``event``; decide on the pair it completed, if any."""
        if outcome.duplicate:
            self._duplicate(kind, event)
            return []
        for dropped in outcome.dropped:
            self._dropped(dropped)
        pair = outcome.pair
        if pair is None:
            return []
        outputs = self._decide(pair.vector, pair.bar)
        self._pairing.settle(pair)
        return outputs

    def _decide(self, vector: FeatureVector, bar: Bar) -> list[Event]:
        """Run production (and the shadow) on a pair."""
        outputs: list[Event] = []
        signals = self._run(self._models.strategy, vector, bar, outputs, shadow=False)
        outputs.extend(signals)
        policy = self._models.shadow
        shadow = [] if policy is None else self._run(policy, vector, bar, outputs, shadow=True)
        self._shadow_outbox.extend(shadow)
        self._models.decided(signals, shadow)
        return outputs

    def _run(
        self,
        strategy: Strategy,
        vector: FeatureVector,
        bar: Bar,
        alerts: list[Event],
        *,
        shadow: bool,
    ) -> list[SignalGenerated]:
        """One strategy's signals on a pair; a model output it cannot use becomes an alert."""
        try:
            signals = strategy.on_features(vector, bar)
        except ModelOutputError as error:
            strategy_id = strategy.strategy_id if shadow else None
            alerts.append(
                self._refuse(vector, AlertCode.MODEL_OUTPUT_INVALID, str(error), strategy_id)
            )
            return []
        except StrategyQuarantinedError as error:  # a user's strategy raised: it stops
            alerts.append(self._quarantined(vector, error))
            return []
        for signal in signals:
            self._note_signal(signal)
        return signals

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
        self, vector: FeatureVector, code: AlertCode, problem: str, strategy_id: str | None = None
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
        serving = strategy_id or self._models.strategy.strategy_id
        return RiskAlert.derive(
            vector,
            key=code if strategy_id is None else f"{code}:{strategy_id}",
            source=SOURCE,
            severity=AlertSeverity.CRITICAL,
            code=code,
            message=f"{serving}: {problem}",
            instrument_id=vector.instrument_id,
        )

    def _dropped(self, dropped: Dropped) -> None:
        event, kind, reason = dropped.event, dropped.kind, dropped.reason
        if reason == "no_cause":
            logger.warning(
                "feature vector dropped: it names no bar (no causation_id) to pair it with",
                instrument_id=event.instrument_id,
                vector_id=event.event_id,
            )
        else:
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
