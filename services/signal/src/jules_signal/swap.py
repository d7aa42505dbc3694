"""Model swaps and shadow mode: which models decide, changed by ``SwapModel`` commands.

A ``SwapModel`` command on ``control.v1`` (target ``signal`` or ``*``) loads another version of
the registered model the service serves (``jules_signal.serving.ModelSource``):

* ``PRODUCTION`` replaces the serving policy between two messages: the new policy is read,
  checked against the live feature schema and built first, then put in place in one step, so
  every pair is decided by exactly one version. Bars and vectors waiting for their partner stay
  where they are, and the new policy starts from the targets the old one left in force per
  instrument, so it does not repeat them. Promoting the version that runs in shadow ends the
  shadow run.
* ``SHADOW`` runs the version beside production on every pair; its signals (strategy id
  ``<model name>.shadow``) go to ``signals.shadow.v1``, which risk does not read.

A model that cannot serve (missing from the registry, unreadable, not a valid policy, trained on
another feature schema, another model name than the configured one, or a service that serves a
fixed strategy) is refused: the running models keep serving and a ``RiskAlert`` with code
``MODEL_REJECTED`` names the model, the version and the reason. A swap to the version already in
its stage changes nothing. A command delivered again changes nothing either: before its outputs
are acknowledged it gives the same outputs (the same alert, or nothing), after that nothing
(``jules_runtime.bus.Redelivery``).

The swap is not written back to the registry (``jules-train models promote`` records a stage
change) but to the control state: the production version in service (``in_service``) is
written to ``control-state.v1`` and served again after a restart (``jules_signal.control_state``).
The shadow run is not: after a restart the registry's shadow version, if any, runs again.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from jules_contracts import AlertCode, Event, RiskAlert, SignalGenerated, direction_of
from jules_contracts.control import ModelInService, SwapModel
from jules_contracts.enums import ModelStage
from jules_runtime.bus import InboundRecord, Redelivery
from jules_runtime.logging import logger

from jules_signal.engine import OnnxPolicy, Strategy
from jules_signal.engine.strategy import SOURCE
from jules_signal.metrics import ServingMetrics
from jules_signal.model_store import ModelStoreError
from jules_signal.serving import (
    ModelRefusedError,
    ModelSource,
    ServedModel,
    model_rejected_alert,
    served_entry,
    shadow_refused_alert,
)

__all__ = ["ModelSwapper"]

_REMEMBERED_COMMANDS = 1024  # swap commands handled, to ignore redeliveries
_TARGETS = frozenset({"*", SOURCE})  # the SwapModel targets this service obeys


class ModelSwapper:
    """The models deciding now (production, and a shadow beside it), swapped by commands.

    It also keeps the targets each of the two has in force per instrument, to compare them.
    Not thread-safe, like the engines.

    Args:
        strategy: The production strategy (a rule strategy or an ONNX policy).
        source: The registry model the service serves (``MODEL_NAME``); without it, swaps are
            refused.
        shadow: A policy to run beside production (shadow mode).
        metrics: Where to count swaps, refusals and comparisons (optional).
        in_service: The control-state entry of ``strategy`` (a registry version).
    """

    def __init__(
        self,
        strategy: Strategy,
        *,
        source: ModelSource | None = None,
        shadow: OnnxPolicy | None = None,
        metrics: ServingMetrics | None = None,
        in_service: ModelInService | None = None,
    ) -> None:
        self._strategy = strategy
        self._shadow = shadow
        self._source = source
        self._metrics = metrics
        self._in_service = in_service
        self._production_targets: dict[str, float] = {}
        self._shadow_targets: dict[str, float] = {}
        self._commands = Redelivery(_REMEMBERED_COMMANDS)
        if metrics is not None:
            metrics.loaded(ModelStage.PRODUCTION, _model_of(strategy))
            metrics.loaded(ModelStage.SHADOW, _model_of(shadow))

    @property
    def strategy(self) -> Strategy:
        """The strategy deciding production signals now."""
        return self._strategy

    @property
    def shadow(self) -> OnnxPolicy | None:
        """The policy running in shadow mode, if any."""
        return self._shadow

    @property
    def source(self) -> ModelSource | None:
        """The registry model the service serves, if any."""
        return self._source

    @property
    def in_service(self) -> ModelInService | None:
        """The control-state entry of the production version serving (``None``: no entry)."""
        return self._in_service

    def on_swap(self, command: SwapModel) -> list[Event]:
        """Load the version a ``SwapModel`` names into its stage, or refuse it with an alert.

        A command for another service and a version already in its stage change nothing; a
        command delivered again gives its first delivery's outputs until ``acknowledge``,
        then nothing.
        """
        if command.target not in _TARGETS:
            return []
        return self._commands.outputs(command.event_id, partial(self._swap, command))

    def acknowledge(self, command: SwapModel, record: InboundRecord | None = None) -> None:
        """The command's outputs are on their topics: a later delivery gives nothing.

        ``record`` is where the command was read: the entry of the version it put in service
        records it.
        """
        if command.target not in _TARGETS:
            return
        self._commands.acknowledge(command.event_id)
        entry = self._in_service
        if record is not None and entry is not None and entry.swap_id == command.event_id:
            self._in_service = entry.model_copy(
                update={
                    "topic": record.topic,
                    "partition": record.partition,
                    "offset": record.offset,
                }
            )

    def keep_read_position(self, entry: ModelInService) -> None:
        """Keep where ``entry``'s swap was read in the entry in service, when it has none.

        The registry's production version serving instead of a swap restored (a later
        promotion, a refusal) still reflects that swap: a new replica need not read it.
        Only for an entry of the model served.
        """
        current = self._in_service
        if (
            current is not None
            and current.offset is None
            and entry.offset is not None
            and entry.model_name == current.model_name
        ):
            self._in_service = current.model_copy(
                update={"topic": entry.topic, "partition": entry.partition, "offset": entry.offset}
            )

    def restore(self, served: ServedModel, entry: ModelInService) -> None:
        """Serve the version the control state holds in service (at start-up, before consuming).

        Args:
            served: The version, read and checked.
            entry: Its control-state entry (kept as the entry in service).
        """
        previous = self._serve(served.policy, entry)
        logger.info(
            "model in service restored from the control state",
            model_name=entry.model_name,
            model_version=entry.model_version,
            registry_production=previous[1] if previous else None,
            swap_id=entry.swap_id,
            operator=entry.operator,
        )

    def refuse_restored(self, entry: ModelInService, error: ModelRefusedError) -> ModelRefusedError:
        """Report the version in service before the restart refused: log and count.

        Returns:
            ``error`` (the service publishes its alert once started).
        """
        serving = _model_of(self._strategy)
        logger.error(
            "the model in service before the restart cannot serve, the registry's production "
            "version serves instead",
            code=AlertCode.MODEL_REJECTED,
            model_name=error.model_name,
            model_version=error.model_version,
            reason=error.reason,
            problem=error.detail,
            swap_id=entry.swap_id,
            serving_version=serving[1] if serving else None,
        )
        if self._metrics is not None:
            self._metrics.rejected.labels(reason=error.reason).inc()
        return error

    def decided(
        self, production: Sequence[SignalGenerated], shadow: Sequence[SignalGenerated]
    ) -> None:
        """Note the signals production and the shadow emitted on one pair, and compare them.

        A comparison counts, per instrument either emitted a signal for, when both have a
        target in force for it.
        """
        for signal in production:
            self._production_targets[signal.instrument_id] = signal.target_weight
        if self._shadow is None:
            return
        for signal in shadow:
            self._shadow_targets[signal.instrument_id] = signal.target_weight
        for instrument_id in dict.fromkeys(s.instrument_id for s in (*production, *shadow)):
            self._compare(instrument_id)

    def refuse_recorded_shadow(self, error: ModelRefusedError, event_time: int) -> RiskAlert:
        """Report the registry's shadow version refused at start-up: log, count, alert.

        Args:
            error: Why the shadow version was refused.
            event_time: When (the service's start-up, UTC ns): the alert's event time.

        Returns:
            The ``MODEL_REJECTED`` alert to publish.
        """
        logger.error(
            "shadow model refused at start-up, running without a shadow",
            code=AlertCode.MODEL_REJECTED,
            model_name=error.model_name,
            model_version=error.model_version,
            reason=error.reason,
            problem=error.detail,
        )
        if self._metrics is not None:
            self._metrics.rejected.labels(reason=error.reason).inc()
        return shadow_refused_alert(error, event_time)

    # --- internals ------------------------------------------------------------------------

    def _swap(self, command: SwapModel) -> list[Event]:
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
            served = self._load(command, stage)
        except ModelRefusedError as error:
            return [self._refuse(command, error)]
        # No await from the load above to here: the swap falls between two decisions.
        if stage is ModelStage.PRODUCTION:
            entry = served_entry(
                served,
                registry_production=self._registry_production(command.model_name),
                since=command.event_time,
                swap=command,
            )
            previous = self._serve(served.policy, entry)
        else:
            previous = _model_of(self._shadow)
            self._set_shadow(served.policy)
            if self._metrics is not None:
                self._metrics.loaded(stage, model)
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

    def _serve(self, policy: OnnxPolicy, entry: ModelInService) -> tuple[str, str] | None:
        """Put ``policy`` in production (its control-state ``entry``); return the previous model.

        Promoting the version that runs in shadow ends its shadow run.
        """
        previous = _model_of(self._strategy)
        model = _model_of(policy)
        self._strategy = policy
        self._in_service = entry
        if _model_of(self._shadow) == model:
            self._set_shadow(None)
        if self._metrics is not None:
            self._metrics.loaded(ModelStage.PRODUCTION, model)
        return previous

    def _load(self, command: SwapModel, stage: ModelStage) -> ServedModel:
        if self._source is None:
            raise ModelRefusedError(
                command.model_name,
                command.model_version,
                "NO_REGISTRY",
                "the service serves a fixed strategy (STRATEGY or MODEL_PATH); swapping "
                "models needs MODEL_NAME and MODEL_REGISTRY",
            )
        if stage is ModelStage.SHADOW:
            return self._source.read(command.model_name, command.model_version, shadow=True)
        targets = self._strategy.targets if isinstance(self._strategy, OnnxPolicy) else None
        return self._source.read(command.model_name, command.model_version, targets=targets)

    def _registry_production(self, model_name: str) -> str | None:
        """The registry's production version now (the last one known if unreadable)."""
        known = None if self._in_service is None else self._in_service.registry_production
        if self._source is None:
            return known
        try:
            return self._source.store.production_version(model_name)
        except ModelStoreError as error:
            logger.warning("registry stages unreadable", model_name=model_name, error=str(error))
            return known

    def _refuse(self, command: SwapModel, error: ModelRefusedError) -> RiskAlert:
        logger.error(
            "model refused, the running model keeps serving",
            code=AlertCode.MODEL_REJECTED,
            model_name=error.model_name,
            model_version=error.model_version,
            stage=command.stage.value,
            reason=error.reason,
            problem=error.detail,
            operator=command.operator,
        )
        if self._metrics is not None:
            self._metrics.rejected.labels(reason=error.reason).inc()
        self._count_swap(ModelStage(command.stage), "rejected")
        return model_rejected_alert(command, error)

    def _count_swap(self, stage: ModelStage, result: str) -> None:
        if self._metrics is not None:
            self._metrics.swaps.labels(stage=stage.value, result=result).inc()

    def _set_shadow(self, policy: OnnxPolicy | None) -> None:
        self._shadow = policy
        self._shadow_targets = {}
        if self._metrics is not None and policy is None:
            self._metrics.loaded(ModelStage.SHADOW, None)

    def _compare(self, instrument_id: str) -> None:
        """Count a decision of production or shadow: the targets both have in force now."""
        production = self._production_targets.get(instrument_id)
        shadow = self._shadow_targets.get(instrument_id)
        if production is None or shadow is None or self._metrics is None:
            return
        directions = (direction_of(production), direction_of(shadow))
        self._metrics.compared(instrument_id, production, shadow, directions)


def _model_of(strategy: Strategy | None) -> tuple[str, str] | None:
    """``(model name, version)`` of an ONNX policy, ``None`` for a rule strategy or none."""
    if isinstance(strategy, OnnxPolicy):
        return strategy.card.model_name, strategy.card.model_version
    return None
