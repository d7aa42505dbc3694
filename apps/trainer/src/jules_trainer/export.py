"""Export a trained policy to ONNX (with its model card) and TorchScript, and validate both.

``export_policy`` writes ``model.onnx`` (the card as JSON in the ONNX metadata under
``jules.model_card``) and ``model.pt`` (TorchScript) and fails loudly, with an ``ExportError``
naming the cause, unless

* the card is complete: it validates as a ``ModelCard``, every provenance field is set, the
  normalisation covers exactly the features and the metrics are not empty;
* the module reads ``card.input_width`` values and outputs as many as the card's action says
  (one score per class for ``discrete``, one value for ``target_weight``);
* the ONNX graph passes ``onnx.checker`` (full check, with shape inference) and the card read
  back from the written file equals the card;
* onnxruntime (with the serving session options) and the TorchScript module both reproduce the
  torch outputs on the sample batch within ``PARITY_TOLERANCE`` (absolute, float32);
* the signal service's ``OnnxPolicy`` loads the file against the card's feature schema.

On failure the files written so far are removed, so an invalid model is never left behind.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from jules_contracts import JulesError
from jules_signal.engine import (
    MODEL_CARD_KEY,
    DiscreteAction,
    ModelCard,
    ModelLoadError,
    OnnxPolicy,
)
from jules_signal.engine.onnx_policy import session_options
from numpy.typing import NDArray
from pydantic import ValidationError

__all__ = [
    "ONNX_FILE",
    "ONNX_OPSET",
    "PARITY_TOLERANCE",
    "TORCHSCRIPT_FILE",
    "ExportError",
    "ExportedModel",
    "check_card",
    "export_policy",
]

PARITY_TOLERANCE = 1e-5
"""Largest absolute difference allowed between torch and the exported models (float32)."""
ONNX_OPSET = 17
"""ONNX operator set the models are exported with."""
ONNX_FILE = "model.onnx"
TORCHSCRIPT_FILE = "model.pt"


class ExportError(JulesError):
    """An export failed validation; the message names what failed."""


@dataclass(frozen=True)
class ExportedModel:
    """A validated export.

    Attributes:
        onnx_path: The ONNX model with the card in its metadata.
        torchscript_path: The TorchScript module.
        card: The card written into the ONNX metadata.
        max_abs_diff: Largest absolute difference between torch and onnxruntime on the sample.
    """

    onnx_path: Path
    torchscript_path: Path
    card: ModelCard
    max_abs_diff: float


def check_card(card: ModelCard) -> ModelCard:
    """Check that a card is complete enough to ship a model with.

    Args:
        card: The card (possibly built without validation).

    Returns:
        The card, re-validated.

    Raises:
        ExportError: The card is invalid or incomplete (names the field at fault).
    """
    try:
        checked = ModelCard.model_validate(card.model_dump(mode="json"))
    except ValidationError as error:
        raise ExportError(f"incomplete model card: {error}") from error
    if not checked.metrics:
        raise ExportError("incomplete model card: metrics is empty (no evaluation recorded)")
    for field in ("model_name", "model_version", "training_data_hash", "code_version"):
        if not getattr(checked, field):
            raise ExportError(f"incomplete model card: {field} is empty")
    return checked


def export_policy(
    module: torch.nn.Module, *, card: ModelCard, out_dir: Path, sample: NDArray[np.float32]
) -> ExportedModel:
    """Export ``module`` with ``card`` to ``out_dir`` and validate the result.

    Args:
        module: Maps float32 ``[batch, card.input_width]`` (standardised features, then the
            position when the card reads it) to the card's action output.
        card: The model card to embed.
        out_dir: Folder for ``model.onnx`` and ``model.pt`` (created if missing).
        sample: A float32 batch ``[n, card.input_width]`` of typical inputs for the checks.

    Returns:
        The paths, the card and the measured torch/onnxruntime difference.

    Raises:
        ExportError: Any check failed (see the module docstring); the message names it.
    """
    card = check_card(card)
    batch = _check_sample(sample, card)
    module = module.eval()
    with torch.no_grad():
        expected = module(torch.from_numpy(batch)).detach().numpy()
    _check_output(expected, card)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / ONNX_FILE
    torchscript_path = out_dir / TORCHSCRIPT_FILE
    try:
        _write_onnx(module, batch, card, onnx_path)
        diff = _check_onnx(onnx_path, batch, expected, card)
        _write_torchscript(module, batch, torchscript_path)
        _check_torchscript(torchscript_path, batch, expected)
    except BaseException:
        onnx_path.unlink(missing_ok=True)
        torchscript_path.unlink(missing_ok=True)
        raise
    return ExportedModel(
        onnx_path=onnx_path, torchscript_path=torchscript_path, card=card, max_abs_diff=diff
    )


def _output_width(card: ModelCard) -> int:
    action = card.action
    return len(action.target_weights) if isinstance(action, DiscreteAction) else 1


def _check_sample(sample: NDArray[np.float32], card: ModelCard) -> NDArray[np.float32]:
    batch = np.ascontiguousarray(sample, dtype=np.float32)
    if batch.ndim != 2 or batch.shape[0] < 1 or batch.shape[1] != card.input_width:
        raise ExportError(
            f"sample batch has shape {list(batch.shape)}, expected [n >= 1, "
            f"{card.input_width}] for the card's {len(card.feature_names)} features"
            + (" plus the position" if card.position_input else "")
        )
    if not np.all(np.isfinite(batch)):
        raise ExportError("sample batch holds non-finite values")
    return batch


def _check_output(expected: NDArray[np.float32], card: ModelCard) -> None:
    width = _output_width(card)
    if expected.ndim != 2 or expected.shape[1] != width:
        raise ExportError(
            f"module output has shape {list(expected.shape)}, expected [batch, {width}] for the "
            f"card's {card.action.kind!r} action"
        )
    if not np.all(np.isfinite(expected)):
        raise ExportError("module output on the sample batch is not finite")


def _write_onnx(
    module: torch.nn.Module, batch: NDArray[np.float32], card: ModelCard, path: Path
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter's deprecation notice
        torch.onnx.export(
            module,
            (torch.from_numpy(batch),),
            str(path),
            dynamo=False,
            opset_version=ONNX_OPSET,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
            do_constant_folding=True,
        )
    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, {MODEL_CARD_KEY: card.model_dump_json()})
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as error:
        raise ExportError(f"onnx.checker rejected the exported graph: {error}") from error
    onnx.save(model, str(path))


def _check_onnx(
    path: Path, batch: NDArray[np.float32], expected: NDArray[np.float32], card: ModelCard
) -> float:
    model_bytes = path.read_bytes()
    session = ort.InferenceSession(
        model_bytes, sess_options=session_options(), providers=["CPUExecutionProvider"]
    )
    metadata = session.get_modelmeta().custom_metadata_map
    try:
        read_back = ModelCard.from_metadata(metadata)
    except ModelLoadError as error:
        raise ExportError(f"model card not readable from the written model: {error}") from error
    if read_back != card:
        raise ExportError("model card read back from the written model differs from the card")
    (actual,) = session.run(["y"], {"x": batch})
    diff = _max_abs_diff(expected, np.asarray(actual))
    if not diff <= PARITY_TOLERANCE:
        raise ExportError(
            f"parity failure: onnxruntime output differs from torch by {diff:.3g} on the sample "
            f"batch (tolerance {PARITY_TOLERANCE:g})"
        )
    try:
        OnnxPolicy.from_bytes(
            model_bytes,
            live_schema_id=card.feature_schema_id,
            live_feature_names=card.feature_names,
        )
    except ModelLoadError as error:
        raise ExportError(f"the signal service's OnnxPolicy refuses the model: {error}") from error
    return diff


def _write_torchscript(module: torch.nn.Module, batch: NDArray[np.float32], path: Path) -> None:
    with torch.no_grad():
        traced = torch.jit.trace(  # type: ignore[no-untyped-call]
            module, (torch.from_numpy(batch),), check_trace=False
        )
    torch.jit.save(traced, str(path))  # type: ignore[no-untyped-call]


def _check_torchscript(
    path: Path, batch: NDArray[np.float32], expected: NDArray[np.float32]
) -> None:
    loaded = torch.jit.load(str(path))  # type: ignore[no-untyped-call]
    with torch.no_grad():
        actual = loaded(torch.from_numpy(batch)).numpy()
    diff = _max_abs_diff(expected, actual)
    if not diff <= PARITY_TOLERANCE:
        raise ExportError(
            f"parity failure: TorchScript output differs from torch by {diff:.3g} on the sample "
            f"batch (tolerance {PARITY_TOLERANCE:g})"
        )


def _max_abs_diff(expected: NDArray[np.float32], actual: NDArray[np.floating]) -> float:
    if actual.shape != expected.shape:
        return float("inf")
    return float(np.max(np.abs(expected.astype(np.float64) - actual.astype(np.float64))))
