"""The model registry: layout, versions, gated promotion, rollback, atomic stages.json."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jules_contracts.enums import ModelStage
from jules_signal.engine import ModelCard
from jules_signal.model_store import STAGES_FILE, ModelStore, Stages
from jules_trainer.gate import GateConfig, run_gate
from jules_trainer.registry import ModelRegistry, RegisteredModel, RegistryError

from .registry_helpers import FOLDS, linear_onnx, register_linear

LENIENT = GateConfig(min_sharpe=-1e9, max_drawdown=1.0, min_trades=1)
STRICT = GateConfig(min_sharpe=1e9, max_drawdown=1.0, min_trades=1)
ONE_FOLD = FOLDS[1:]


class Ticking:
    """A clock that moves one minute per reading, from 2026-01-01."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def registry(tmp_path):
    return ModelRegistry(tmp_path / "models", clock=Ticking())


def gated(
    registry: ModelRegistry, work: Path, gate: GateConfig = LENIENT, **options: Any
) -> RegisteredModel:
    model = register_linear(registry, work, folds=ONE_FOLD, **options)
    run_gate(registry, model.name, model.version, gate)
    return model


def test_register_list_get(registry, tmp_path):
    assert registry.next_version("lin") == "1"
    assert registry.list() == []

    first = register_linear(registry, tmp_path)
    second = register_linear(registry, tmp_path)

    assert (first.version, second.version) == ("1", "2")
    assert registry.next_version("lin") == "3"
    folder = tmp_path / "models" / "lin" / "1"
    assert first.path == folder
    assert sorted(p.name for p in folder.iterdir()) == [
        "card.json",
        "experiment.json",
        "model.onnx",
    ]
    assert ModelCard.model_validate_json((folder / "card.json").read_text()) == first.card
    assert (folder / "model.onnx").read_bytes() == (tmp_path / "lin-1.onnx").read_bytes()
    assert json.loads((folder / "experiment.json").read_text())["folds"] == FOLDS
    assert [(m.name, m.version, m.stage) for m in registry.list()] == [
        ("lin", "1", ModelStage.CANDIDATE),
        ("lin", "2", ModelStage.CANDIDATE),
    ]
    got = registry.get("lin", "2")
    assert got == second
    assert got.card.model_version == "2"
    assert got.experiment["algorithm"] == "linear"
    assert got.gate is None
    assert got.gate_passed is None


def test_versions_are_numbered_after_the_highest_and_sorted_as_numbers(registry, tmp_path):
    for version in ("9", "10", "2"):
        source = tmp_path / f"m{version}.onnx"
        card = linear_onnx(source, version=version)
        registry.register(card=card, onnx_path=source, torchscript_path=None, experiment={})

    assert registry.versions("lin") == ["2", "9", "10"]
    assert registry.next_version("lin") == "11"
    assert registry.next_version("other") == "1"


def test_torchscript_file_is_copied(registry, tmp_path):
    source = tmp_path / "m.onnx"
    card = linear_onnx(source)
    twin = tmp_path / "m.pt"
    twin.write_bytes(b"torchscript archive")

    model = registry.register(card=card, onnx_path=source, torchscript_path=twin, experiment={})

    assert (model.path / "model.pt").read_bytes() == b"torchscript archive"


def test_a_duplicate_version_is_refused(registry, tmp_path):
    model = register_linear(registry, tmp_path)

    with pytest.raises(RegistryError, match="model lin version 1 is already registered"):
        registry.register(
            card=model.card,
            onnx_path=tmp_path / "lin-1.onnx",
            torchscript_path=None,
            experiment={},
        )
    assert registry.versions("lin") == ["1"]


def test_a_card_that_differs_from_the_onnx_card_is_refused(registry, tmp_path):
    source = tmp_path / "m.onnx"
    card = linear_onnx(source)
    other = card.model_copy(update={"model_version": "2"})

    with pytest.raises(RegistryError, match=r"card in .* differs"):
        registry.register(card=other, onnx_path=source, torchscript_path=None, experiment={})
    with pytest.raises(RegistryError, match="no file"):
        registry.register(
            card=card, onnx_path=tmp_path / "none.onnx", torchscript_path=None, experiment={}
        )
    assert registry.list() == []
    assert not (tmp_path / "models").exists()


def test_a_failed_copy_leaves_no_version_behind(registry, tmp_path, monkeypatch):
    source = tmp_path / "m.onnx"
    card = linear_onnx(source)
    twin = tmp_path / "m.pt"
    twin.write_bytes(b"torchscript archive")
    copy = shutil.copyfile

    def failing_copy(source, target):
        if str(target).endswith(".pt"):
            raise OSError("disk full")
        return copy(source, target)

    monkeypatch.setattr(shutil, "copyfile", failing_copy)
    with pytest.raises(OSError, match="disk full"):
        registry.register(card=card, onnx_path=source, torchscript_path=twin, experiment={})
    monkeypatch.undo()

    assert list((tmp_path / "models" / "lin").iterdir()) == []  # the staging folder is gone
    assert registry.next_version("lin") == "1"
    registry.register(card=card, onnx_path=source, torchscript_path=twin, experiment={})
    assert registry.versions("lin") == ["1"]


def test_an_unknown_version_is_an_error_naming_it(registry, tmp_path):
    register_linear(registry, tmp_path)

    with pytest.raises(RegistryError, match=r"model lin version 5 is not registered .*versions: 1"):
        registry.get("lin", "5")
    with pytest.raises(RegistryError, match="invalid version"):
        registry.get("lin", "../1")


def test_promotion_needs_a_passed_gate(registry, tmp_path):
    model = register_linear(registry, tmp_path, folds=ONE_FOLD)

    with pytest.raises(RegistryError, match="model lin version 1 has no gate result"):
        registry.promote("lin", "1", ModelStage.SHADOW, operator="ops", reason="try")
    run_gate(registry, "lin", model.version, STRICT)
    with pytest.raises(
        RegistryError, match=r"model lin version 1 failed its gate \(fold 1: sharpe"
    ):
        registry.promote("lin", "1", ModelStage.PRODUCTION, operator="ops", reason="try")
    with pytest.raises(RegistryError, match="cannot promote to CANDIDATE"):
        registry.promote("lin", "1", ModelStage.CANDIDATE, operator="ops", reason="try")
    assert registry.stages("lin") == Stages()
    assert not (tmp_path / "models" / "lin" / STAGES_FILE).exists()


def test_candidate_to_shadow_to_production(registry, tmp_path):
    gated(registry, tmp_path)
    store = ModelStore(registry.root)

    shadow = registry.promote("lin", "1", ModelStage.SHADOW, operator="ana", reason="watch it")

    assert (shadow.production, shadow.shadow) == (None, "1")
    assert registry.get("lin", "1").stage is ModelStage.SHADOW
    assert store.shadow_version("lin") == "1"
    assert store.production_version("lin") is None

    live = registry.promote("lin", "1", ModelStage.PRODUCTION, operator="bo", reason="good")

    assert (live.production, live.shadow) == ("1", None)
    assert registry.get("lin", "1").stage is ModelStage.PRODUCTION
    assert store.production_version("lin") == "1"
    assert store.stages("lin") == live
    records = [
        (r.action, r.stage, r.version, r.previous, r.operator, r.reason) for r in live.history
    ]
    assert records == [
        ("promote", ModelStage.SHADOW, "1", None, "ana", "watch it"),
        ("promote", ModelStage.PRODUCTION, "1", None, "bo", "good"),
    ]
    assert [r.at for r in live.history] == [
        "2026-01-01T00:01:00+00:00",
        "2026-01-01T00:02:00+00:00",
    ]
    with pytest.raises(RegistryError, match="already in PRODUCTION"):
        registry.promote("lin", "1", ModelStage.PRODUCTION, operator="bo", reason="again")
    with pytest.raises(RegistryError, match="is in PRODUCTION; it cannot also run in SHADOW"):
        registry.promote("lin", "1", ModelStage.SHADOW, operator="bo", reason="again")


def test_rollback_restores_the_previous_production(registry, tmp_path):
    for _ in range(3):
        gated(registry, tmp_path)
    with pytest.raises(RegistryError, match="model lin has no production version to roll back"):
        registry.rollback("lin", operator="ops", reason="nothing yet")
    for version in ("1", "2", "3"):
        registry.promote("lin", version, ModelStage.PRODUCTION, operator="ops", reason="next")
    registry.promote("lin", "1", ModelStage.SHADOW, operator="ops", reason="compare")

    back = registry.rollback("lin", operator="cy", reason="losing money")

    assert back.production == "2"
    assert back.shadow == "1"
    assert ModelStore(registry.root).production_version("lin") == "2"
    last = back.history[-1]
    assert (last.action, last.stage, last.version, last.previous, last.operator, last.reason) == (
        "rollback",
        ModelStage.PRODUCTION,
        "2",
        "3",
        "cy",
        "losing money",
    )
    assert registry.get("lin", "3").stage is ModelStage.CANDIDATE

    again = registry.rollback("lin", operator="cy", reason="still bad")

    assert (again.production, again.shadow) == ("1", None)  # 1 leaves shadow for production
    with pytest.raises(RegistryError, match="model lin version 1: no previous production"):
        registry.rollback("lin", operator="cy", reason="too far")
    assert len(registry.stages("lin").history) == 6


def test_stages_json_is_replaced_atomically(registry, tmp_path, monkeypatch):
    gated(registry, tmp_path)
    gated(registry, tmp_path)
    registry.promote("lin", "1", ModelStage.PRODUCTION, operator="ops", reason="first")
    path = tmp_path / "models" / "lin" / STAGES_FILE
    before = path.read_bytes()

    def failing_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        registry.promote("lin", "2", ModelStage.PRODUCTION, operator="ops", reason="second")
    monkeypatch.undo()

    assert path.read_bytes() == before  # the old file is intact
    assert sorted(p.name for p in path.parent.iterdir()) == ["1", "2", STAGES_FILE]
    assert ModelStore(registry.root).production_version("lin") == "1"
    registry.promote("lin", "2", ModelStage.PRODUCTION, operator="ops", reason="second")
    assert ModelStore(registry.root).production_version("lin") == "2"
    assert Stages.model_validate_json(path.read_text()).production == "2"
