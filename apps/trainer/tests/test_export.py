"""ONNX/TorchScript export: the card round-trips, outputs match, and bad exports fail loudly."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from jules_features.engine import FeatureSchema
from jules_signal.engine import MODEL_CARD_KEY, ModelCard, OnnxPolicy
from jules_trainer.export import PARITY_TOLERANCE, ExportError, export_policy
from jules_trainer.policies import MlpClassifier

FEATURES = ("rsi_14", "sma_10", "logret_1")


def make_card(**changes) -> ModelCard:
    values = {
        "model_name": "mlp-test",
        "model_version": "1",
        "feature_names": list(FEATURES),
        "feature_schema_id": FeatureSchema.from_names(FEATURES).schema_id,
        "normalisation": {
            "rsi_14": {"mean": 50.0, "std": 10.0},
            "sma_10": {"mean": 100.0, "std": 5.0},
            "logret_1": {"mean": 0.0, "std": 0.001},
        },
        "action": {"kind": "discrete", "target_weights": [-1.0, 0.0, 1.0]},
        "training_data_hash": "ab" * 32,
        "code_version": "0123456789abcdef",
        "metrics": {"test.sharpe": 0.5, "test.mean_episode_pnl": 12.5},
        "created_at": "2026-02-01T10:00:00+00:00",
        "position_input": False,
    }
    values.update(changes)
    return ModelCard.model_validate(values)


def sample(width: int, rows: int = 32, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, width)).astype(np.float32)


def mlp(card: ModelCard, classes: int) -> torch.nn.Module:
    torch.manual_seed(3)
    return MlpClassifier(card.input_width, (16, 8), classes).eval()


def test_round_trip_card_parity_and_policy(tmp_path):
    card = make_card()
    module = mlp(card, 3)
    batch = sample(card.input_width)
    exported = export_policy(module, card=card, out_dir=tmp_path, sample=batch)

    assert exported.onnx_path == tmp_path / "model.onnx"
    assert exported.max_abs_diff <= PARITY_TOLERANCE
    model = onnx.load(str(exported.onnx_path))
    metadata = {prop.key: prop.value for prop in model.metadata_props}
    assert ModelCard.model_validate_json(metadata[MODEL_CARD_KEY]) == card
    assert model.opset_import[0].version == 17

    # onnxruntime on a fresh batch (another batch size than the sample) matches torch
    fresh = sample(card.input_width, rows=5, seed=9)
    session = ort.InferenceSession(exported.onnx_path.read_bytes())
    (onnx_out,) = session.run(None, {"x": fresh})
    with torch.no_grad():
        torch_out = module(torch.from_numpy(fresh)).numpy()
    np.testing.assert_allclose(onnx_out, torch_out, atol=PARITY_TOLERANCE, rtol=0)

    # TorchScript reproduces torch
    scripted = torch.jit.load(str(exported.torchscript_path))  # type: ignore[no-untyped-call]
    with torch.no_grad():
        np.testing.assert_allclose(
            scripted(torch.from_numpy(fresh)).numpy(), torch_out, atol=PARITY_TOLERANCE, rtol=0
        )

    # the served policy standardises raw values and gets the torch output
    policy = OnnxPolicy.from_bytes(
        exported.onnx_path.read_bytes(), live_schema_id=card.feature_schema_id
    )
    raw = [55.0, 98.0, 0.002]
    scaled = np.array(
        [
            (v - card.normalisation[n].mean) / card.normalisation[n].std
            for n, v in zip(FEATURES, raw, strict=True)
        ],
        dtype=np.float32,
    )
    with torch.no_grad():
        want = module(torch.from_numpy(scaled.reshape(1, -1))).numpy().reshape(-1)
    np.testing.assert_allclose(policy.predict(raw), want, atol=PARITY_TOLERANCE, rtol=0)


def test_position_input_and_target_weight_action(tmp_path):
    card = make_card(action={"kind": "target_weight"}, position_input=True)
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(card.input_width, 1), torch.nn.Tanh()).eval()
    exported = export_policy(module, card=card, out_dir=tmp_path, sample=sample(4))
    policy = OnnxPolicy.from_bytes(
        exported.onnx_path.read_bytes(), live_schema_id=card.feature_schema_id
    )
    raw = [50.0, 100.0, 0.0]  # standardises to zeros: only the position input matters
    with torch.no_grad():
        want = module(torch.tensor([[0.0, 0.0, 0.0, 0.7]])).numpy().reshape(-1)
    np.testing.assert_allclose(policy.predict(raw, position=0.7), want, atol=PARITY_TOLERANCE)
    assert policy.predict(raw, 0.7)[0] != pytest.approx(policy.predict(raw, -0.7)[0])


def test_incomplete_card_fails(tmp_path):
    card = make_card(metrics={})
    with pytest.raises(ExportError, match="metrics is empty"):
        export_policy(mlp(card, 3), card=card, out_dir=tmp_path, sample=sample(3))
    assert not (tmp_path / "model.onnx").exists()


def test_invalid_card_built_without_validation_fails(tmp_path):
    card = make_card().model_copy(update={"training_data_hash": "not-hex"})
    with pytest.raises(ExportError, match="training_data_hash"):
        export_policy(mlp(card, 3), card=card, out_dir=tmp_path, sample=sample(3))


def test_output_width_must_match_action(tmp_path):
    card = make_card()  # three classes
    with pytest.raises(ExportError, match=r"expected \[batch, 3\] for the card's 'discrete'"):
        export_policy(mlp(card, 2), card=card, out_dir=tmp_path, sample=sample(3))


def test_sample_width_must_match_card(tmp_path):
    card = make_card(position_input=True)
    with pytest.raises(ExportError, match=r"expected \[n >= 1, 4\].*plus the position"):
        export_policy(mlp(card, 3), card=card, out_dir=tmp_path, sample=sample(3))


class Noisy(torch.nn.Module):
    """Adds fresh noise on every call: torch and onnxruntime cannot agree."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.inner(x)
        return out + torch.randn_like(out)


def test_random_module_fails_parity(tmp_path):
    card = make_card()
    with pytest.raises(ExportError, match="parity failure: onnxruntime"):
        export_policy(Noisy(mlp(card, 3)), card=card, out_dir=tmp_path, sample=sample(3))
    assert not (tmp_path / "model.onnx").exists()
    assert not (tmp_path / "model.pt").exists()


def test_session_drift_fails_parity(tmp_path, monkeypatch):
    class Drifting(ort.InferenceSession):  # type: ignore[misc]
        def run(self, output_names, input_feed, run_options=None):
            return [out + 1e-3 for out in super().run(output_names, input_feed, run_options)]

    monkeypatch.setattr(ort, "InferenceSession", Drifting)
    card = make_card()
    with pytest.raises(ExportError, match=r"differs from torch by 0\.001"):
        export_policy(mlp(card, 3), card=card, out_dir=tmp_path, sample=sample(3))
