"""Domain metrics of the signal service (``jules_signal_…``), beside the runtime's."""

from __future__ import annotations

from jules_contracts import SignalDirection
from jules_contracts.enums import ModelStage
from prometheus_client import CollectorRegistry, Counter, Gauge, Summary

__all__ = ["ServingMetrics", "SignalMetrics"]


class SignalMetrics:
    """Domain metrics of the signal service: signals, refusals, pairing and model serving.

    Args:
        registry: Where the metrics are registered.
    """

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


class ServingMetrics:
    """Metrics of model serving (``jules_signal_model_…``, ``jules_signal_shadow_…``).

    Args:
        registry: Where the metrics are registered.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.model_info = Gauge(
            "jules_signal_model_info",
            "The model versions loaded: 1 per (model, version, stage) in use.",
            ["model_name", "model_version", "stage"],
            registry=registry,
        )
        self.swaps = Counter(
            "jules_signal_model_swaps",
            "SwapModel commands handled, by stage and result (swapped, unchanged, rejected).",
            ["stage", "result"],
            registry=registry,
        )
        self.rejected = Counter(
            "jules_signal_models_rejected",
            "Models refused (a MODEL_REJECTED alert was published), by reason.",
            ["reason"],
            registry=registry,
        )
        self.shadow_comparisons = Counter(
            "jules_signal_shadow_comparisons",
            "Decisions compared between production and shadow (a vector on which either "
            "emitted a signal, both having a target in force), by direction of each.",
            ["instrument_id", "production_direction", "shadow_direction"],
            registry=registry,
        )
        self.shadow_agreements = Counter(
            "jules_signal_shadow_agreements",
            "Compared decisions on which production and shadow want the same direction.",
            ["instrument_id"],
            registry=registry,
        )
        self.shadow_difference = Summary(
            "jules_signal_shadow_target_difference",
            "Absolute difference of the production and shadow targets at compared decisions.",
            ["instrument_id"],
            registry=registry,
        )
        self.shadow_unpublished = Counter(
            "jules_signal_shadow_unpublished",
            "Shadow signals that could not be published (production is not held up by them).",
            registry=registry,
        )
        self._loaded: dict[ModelStage, tuple[str, str]] = {}

    def loaded(self, stage: ModelStage, model: tuple[str, str] | None) -> None:
        """Record the model ``(name, version)`` now in ``stage`` (``None``: none)."""
        previous = self._loaded.pop(stage, None)
        if previous is not None:
            self.model_info.remove(*previous, stage.value)
        if model is not None:
            self._loaded[stage] = model
            self.model_info.labels(*model, stage.value).set(1)

    def compared(
        self,
        instrument_id: str,
        production: float,
        shadow: float,
        directions: tuple[SignalDirection, SignalDirection],
    ) -> None:
        """Count one compared decision: both targets in force and their directions."""
        first, second = directions
        self.shadow_comparisons.labels(instrument_id, first.value, second.value).inc()
        if first == second:
            self.shadow_agreements.labels(instrument_id).inc()
        self.shadow_difference.labels(instrument_id).observe(abs(production - shadow))
