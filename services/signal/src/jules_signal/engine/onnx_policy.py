"""An ONNX policy as a strategy: features in, target weight out.

The model is loaded once into an onnxruntime session tuned for one decision at a time on a
shared CPU: one intra-op and one inter-op thread, no spinning, sequential execution, CPU
provider, deterministic compute. Its model card (``model_card.ModelCard``) must match the live
feature schema, or the model is refused.

Per feature vector the policy

1. refuses to act (returns ``None``) until every feature the model reads is defined;
2. standardises the features in card order, ``(x - mean) / std``, appends the instrument's
   current target weight when the card says the model reads it (``position_input``), and runs
   the model on a batch of one;
3. maps the output to a target weight: for a ``target_weight`` model, the output clipped to
   [-1, 1], flat when ``|y| <= dead_band``, strength ``|y|``; for a ``discrete`` model, the
   weight of the best-scoring class, strength its softmax probability;
4. emits a signal only when the target changes: the first target for an instrument, a change of
   direction, or a move of at least ``min_weight_change`` from the last target emitted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from jules_contracts import Bar, FeatureVector, SignalGenerated
from jules_contracts.base import Identifier
from numpy.typing import NDArray
from pydantic import TypeAdapter

if TYPE_CHECKING:
    import onnxruntime as ort

from jules_signal.engine.config import OnnxPolicyConfig
from jules_signal.engine.errors import (
    ModelLoadError,
    ModelOutputError,
    ModelRejectionReason,
    ModelSchemaMismatchError,
)
from jules_signal.engine.model_card import ActionSemantics, DiscreteAction, ModelCard
from jules_signal.engine.strategy import (
    TargetMemory,
    check_same_instrument,
    make_signal,
    read_features,
)

__all__ = ["OnnxPolicy", "output_to_target", "session_options"]

_INPUT_DTYPES: dict[str, type[np.floating[Any]]] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
}
_IDENTIFIER: TypeAdapter[str] = TypeAdapter(Identifier)


def session_options() -> ort.SessionOptions:
    """Return the session options of every policy: single-threaded, no spinning, sequential."""
    import onnxruntime as ort  # imported by the ONNX policies only, not with the rule strategies

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.use_deterministic_compute = True
    options.log_severity_level = 3  # errors only: the service logs what matters itself
    return options


class OnnxPolicy:
    """A strategy backed by an ONNX model with a model card; build it with ``from_bytes``."""

    def __init__(
        self,
        session: ort.InferenceSession,
        card: ModelCard,
        *,
        strategy_id: str,
        config: OnnxPolicyConfig,
        targets: Mapping[str, float] | None = None,
    ) -> None:
        self._session = session
        self._card = card
        self._strategy_id = strategy_id
        self._config = config
        self._input_name, self._input_dtype = _check_input(session, card.input_width)
        self._output_name, self._output_size = _check_output(session, card)
        self._mean = np.array([card.normalisation[n].mean for n in card.feature_names])
        self._std = np.array([card.normalisation[n].std for n in card.feature_names])
        self._width = len(card.feature_names)
        self._row = np.zeros((1, card.input_width), dtype=self._input_dtype)  # reused input
        self._outputs = [self._output_name]
        self._targets = TargetMemory(config.min_weight_change, targets)

    @classmethod
    def from_bytes(
        cls,
        model_bytes: bytes,
        *,
        live_schema_id: str | None,
        live_feature_names: Sequence[str] | None = None,
        strategy_id: str | None = None,
        config: OnnxPolicyConfig | None = None,
        targets: Mapping[str, float] | None = None,
    ) -> OnnxPolicy:
        """Load a model, check its card against the live feature schema, and build the policy.

        Args:
            model_bytes: The serialised ONNX model.
            live_schema_id: The feature schema id the features service publishes (``None``:
                the model's own; the caller checks its vectors' schema).
            live_feature_names: The live feature names in schema order, when known; they
                sharpen the mismatch message and must include every feature the model reads.
            strategy_id: Id written into signals; defaults to the card's ``model_name``.
            config: How outputs become signals; defaults to ``OnnxPolicyConfig()``.
            targets: The targets in force per instrument, when this policy takes over from
                another (``old.targets``): it emits only what changes them.

        Returns:
            The policy, with its session created once.

        Raises:
            ModelSchemaMismatchError: The card's ``feature_schema_id`` is not the live one, or
                the live features lack some the model reads.
            ModelLoadError: The bytes are not a model (``INVALID_MODEL``), the card is missing
                or invalid, or the model's inputs or outputs do not fit the card.
        """
        import onnxruntime as ort

        try:
            session = ort.InferenceSession(
                model_bytes, sess_options=session_options(), providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own unrelated exception types
            raise ModelLoadError(
                ModelRejectionReason.INVALID_MODEL, f"onnxruntime cannot load the model: {error}"
            ) from error
        card = ModelCard.from_metadata(session.get_modelmeta().custom_metadata_map)
        live_names = None if live_feature_names is None else tuple(live_feature_names)
        live_schema_id = live_schema_id or card.feature_schema_id
        if card.feature_schema_id != live_schema_id or (
            live_names is not None and not set(card.feature_names) <= set(live_names)
        ):
            raise ModelSchemaMismatchError(
                model_schema_id=card.feature_schema_id,
                live_schema_id=live_schema_id,
                model_features=card.feature_names,
                live_features=live_names,
            )
        return cls(
            session,
            card,
            strategy_id=_IDENTIFIER.validate_python(strategy_id or card.model_name),
            config=config or OnnxPolicyConfig(),
            targets=targets,
        )

    @property
    def strategy_id(self) -> str:
        """Id written into every signal."""
        return self._strategy_id

    @property
    def required_features(self) -> tuple[str, ...]:
        """The features the model reads, in input order."""
        return self._card.feature_names

    @property
    def targets(self) -> dict[str, float]:
        """The last target emitted per instrument (a copy)."""
        return self._targets.snapshot()

    @property
    def card(self) -> ModelCard:
        """The model card read from the model's metadata."""
        return self._card

    @property
    def session_options(self) -> ort.SessionOptions:
        """The options the session actually runs with."""
        return self._session.get_session_options()

    @property
    def providers(self) -> list[str]:
        """The execution providers of the session."""
        return list(self._session.get_providers())

    def predict(self, values: Sequence[float], position: float = 0.0) -> NDArray[np.float64]:
        """Standardise raw feature values and run the model on them.

        Args:
            values: One value per feature, in card order.
            position: The current target weight, read by a model with ``position_input``
                (ignored otherwise).

        Returns:
            The model's output for this one input, flattened.

        Raises:
            ValueError: The number of values is not the number of features.
        """
        if len(values) != self._width:
            raise ValueError(
                f"the model reads {self._width} features {list(self._card.feature_names)}, "
                f"got {len(values)} values"
            )
        row = self._row
        row[0, : self._width] = (np.array(values, dtype=np.float64) - self._mean) / self._std
        if self._card.position_input:
            row[0, self._width] = position
        (output,) = self._session.run(self._outputs, {self._input_name: row})
        return np.asarray(output, dtype=np.float64).reshape(-1)

    def decide(self, values: Sequence[float], position: float = 0.0) -> tuple[float, float]:
        """The ``(target_weight, strength)`` the model wants for defined feature values.

        Raises:
            ModelOutputError: The model's output is not finite or has the wrong size.
        """
        output = self.predict(values, position)
        if output.size != self._output_size or not all(map(math.isfinite, output.tolist())):
            raise ModelOutputError(
                f"model {self._card.model_name!r} {self._card.model_version!r} output "
                f"{output.tolist()}: expected {self._output_size} finite values"
            )
        return output_to_target(self._card.action, output, self._config.dead_band)

    def on_features(self, features: FeatureVector, bar: Bar) -> list[SignalGenerated]:
        """Run the model on a feature vector and emit a signal when the target changes.

        Args:
            features: The instrument's feature vector; its schema must be the card's.
            bar: The bar the features were computed from.

        Returns:
            The signal when the target changes, else nothing (also while a feature the model
            reads is undefined).

        Raises:
            ModelSchemaMismatchError: The vector follows another feature schema.
            ModelOutputError: The model's output is not finite or has the wrong size.
            ValueError: ``features`` and ``bar`` are about different instruments.
        """
        check_same_instrument(features, bar)
        if features.feature_schema_id != self._card.feature_schema_id:
            raise ModelSchemaMismatchError(
                model_schema_id=self._card.feature_schema_id,
                live_schema_id=features.feature_schema_id,
                model_features=self._card.feature_names,
                live_features=tuple(features.features),
            )
        values = read_features(features, self._card.feature_names, self._strategy_id)
        defined = [value for value in values if value is not None]
        if len(defined) != len(values):
            return []
        position = self._targets.last(features.instrument_id) or 0.0
        target, strength = self.decide(defined, position)
        if not self._targets.update(features.instrument_id, target):
            return []
        signal = make_signal(
            features,
            bar,
            strategy_id=self._strategy_id,
            target_weight=target,
            strength=strength,
            model_version=self._card.model_version,
        )
        return [signal]


def output_to_target(
    action: ActionSemantics, output: NDArray[np.float64], dead_band: float = 0.0
) -> tuple[float, float]:
    """Map a model output to ``(target_weight, strength)`` as the card's action says.

    A ``discrete`` output is one score per class: the best class's weight, strength its softmax
    probability. A ``target_weight`` output is clipped to [-1, 1]; at most ``dead_band`` away
    from zero it means flat. The trainer's environment maps its actions through this same
    function, so a trained agent and the served model trade alike.

    Args:
        action: The card's action semantics.
        output: The model's finite output for one input, flattened.
        dead_band: Flat band of a ``target_weight`` output.
    """
    if isinstance(action, DiscreteAction):
        scores = output.tolist()  # a few classes: plain floats beat numpy's per-call cost
        best = max(range(len(scores)), key=scores.__getitem__)  # the first best, as argmax
        top = scores[best]
        total = math.fsum(math.exp(score - top) for score in scores)
        return action.target_weights[best], min(1.0, 1.0 / total)
    value = min(1.0, max(-1.0, float(output[0])))
    if abs(value) <= dead_band:
        return 0.0, abs(value)
    return value, abs(value)


def _check_input(session: ort.InferenceSession, width: int) -> tuple[str, type[np.floating[Any]]]:
    """Return the name and dtype of the model's single input, shaped ``[batch, width]``."""
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise _io_error(f"the model must have one input, it has {[i.name for i in inputs]}")
    (model_input,) = inputs
    dtype = _INPUT_DTYPES.get(model_input.type)
    if dtype is None:
        raise _io_error(
            f"input {model_input.name!r} is {model_input.type}, expected one of "
            f"{sorted(_INPUT_DTYPES)}"
        )
    shape = list(model_input.shape)
    if (
        len(shape) != 2
        or (isinstance(shape[0], int) and shape[0] != 1)
        or (isinstance(shape[1], int) and shape[1] != width)
    ):
        raise _io_error(
            f"input {model_input.name!r} has shape {shape}, expected [batch, {width}] for the "
            f"card's {width} inputs"
        )
    return model_input.name, dtype


def _check_output(session: ort.InferenceSession, card: ModelCard) -> tuple[str, int]:
    """Return the name of the model's first output and the number of values it must hold."""
    output = session.get_outputs()[0]
    action = card.action
    size = len(action.target_weights) if isinstance(action, DiscreteAction) else 1
    if output.type not in _INPUT_DTYPES:
        raise _io_error(f"output {output.name!r} is {output.type}, expected a float tensor")
    dims = list(output.shape)[1:]
    if all(isinstance(dim, int) for dim in dims) and int(np.prod(dims)) != size:
        raise _io_error(
            f"output {output.name!r} has shape {list(output.shape)}, expected {size} value(s) "
            f"per input for action {action.kind!r}"
        )
    return output.name, size


def _io_error(message: str) -> ModelLoadError:
    return ModelLoadError(ModelRejectionReason.INCOMPATIBLE_MODEL_IO, message)
