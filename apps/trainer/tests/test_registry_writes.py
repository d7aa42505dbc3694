"""The registry and the gate delete only what they created themselves.

The gate's backtest follows the run-folder rule (``jules_backtest.run.RUN_FOLDER``): running
a gate again replaces its earlier run's files and nothing else; a fold folder that holds
something else and no run is refused. A failed registration removes only its own staging
folder.
"""

from __future__ import annotations

import pytest
from jules_trainer.gate import GateConfig, GateError, run_gate
from jules_trainer.registry import ModelRegistry

from .registry_helpers import FOLDS, linear_onnx, register_linear

LENIENT = GateConfig(min_sharpe=-1e9, max_drawdown=1.0, min_trades=0)


@pytest.fixture
def registry(tmp_path):
    return ModelRegistry(tmp_path / "models")


def test_running_the_gate_again_replaces_its_run_and_keeps_other_files(registry, tmp_path):
    model = register_linear(registry, tmp_path, folds=FOLDS[1:])
    first = run_gate(registry, "lin", model.version, LENIENT)
    run_dir = first.folds[0].run_dir
    (model.path / "gate" / "review.md").write_text("looked fine")
    (run_dir / "notes.md").write_text("fold notes")

    again = run_gate(registry, "lin", model.version, LENIENT)

    assert again.folds[0].run_dir == run_dir
    assert again.folds[0].metrics == first.folds[0].metrics
    assert (model.path / "gate" / "review.md").read_text() == "looked fine"
    assert (run_dir / "notes.md").read_text() == "fold notes"


def test_a_fold_folder_holding_something_else_is_refused_and_left_as_it_was(registry, tmp_path):
    model = register_linear(registry, tmp_path, folds=FOLDS[1:])
    fold_dir = model.path / "gate" / "fold-1"
    fold_dir.mkdir(parents=True)
    (fold_dir / "analysis.ipynb").write_text("{}")

    with pytest.raises(GateError, match=r"the backtest of fold 1 failed: refusing to write"):
        run_gate(registry, "lin", model.version, LENIENT)

    assert [p.name for p in fold_dir.iterdir()] == ["analysis.ipynb"]
    assert registry.get("lin", model.version).gate is None


def test_a_failed_registration_removes_only_its_own_staging_folder(registry, tmp_path):
    earlier = register_linear(registry, tmp_path)
    model_root = earlier.path.parent
    (model_root / "README.md").write_text("what these models are")
    source = tmp_path / "m.onnx"
    card = linear_onnx(source, version="2")

    with pytest.raises(TypeError, match="not JSON serialisable"):
        registry.register(
            card=card, onnx_path=source, torchscript_path=None, experiment={"at": object()}
        )

    assert sorted(p.name for p in model_root.iterdir()) == ["1", "README.md"]
    assert registry.versions("lin") == ["1"]
    assert (earlier.path / "model.onnx").is_file()
