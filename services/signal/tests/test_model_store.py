"""The read-only registry view: stages, model bytes, cards, and clear errors for missing parts."""

from __future__ import annotations

import json

import pytest
from jules_contracts.enums import ModelStage
from jules_signal.model_store import (
    CARD_FILE,
    MODEL_FILE,
    STAGES_FILE,
    ModelStore,
    ModelStoreError,
    StageRecord,
    Stages,
)

from .onnx_models import make_card


def write_version(root, name, version, payload: bytes):
    folder = root / name / version
    folder.mkdir(parents=True)
    (folder / MODEL_FILE).write_bytes(payload)
    (folder / CARD_FILE).write_text(make_card(model_version=version).model_dump_json())
    return folder


def test_a_model_without_stages_has_no_production_nor_shadow(tmp_path):
    write_version(tmp_path, "mlp", "1", b"one")
    store = ModelStore(tmp_path)

    assert store.production_version("mlp") is None
    assert store.shadow_version("mlp") is None
    assert store.stages("mlp") == Stages()
    assert store.stages("unknown") == Stages()


def test_stages_name_the_versions_and_their_bytes(tmp_path):
    write_version(tmp_path, "mlp", "1", b"one")
    write_version(tmp_path, "mlp", "2", b"two")
    stages = {
        "production": "1",
        "shadow": "2",
        "history": [
            {
                "at": "2026-01-01T00:00:00Z",
                "stage": "PRODUCTION",
                "version": "1",
                "previous": None,
                "operator": "ops",
                "reason": "first",
            },
            {
                "at": "2026-01-02T00:00:00Z",
                "action": "promote",
                "stage": "SHADOW",
                "version": "2",
                "previous": None,
                "operator": "ops",
                "reason": "try it",
            },
        ],
    }
    (tmp_path / "mlp" / STAGES_FILE).write_text(json.dumps(stages))
    store = ModelStore(tmp_path)

    assert store.production_version("mlp") == "1"
    assert store.shadow_version("mlp") == "2"
    assert store.read_model("mlp", "1") == b"one"
    assert store.read_model("mlp", "2") == b"two"
    assert store.model_path("mlp", "2") == tmp_path / "mlp" / "2" / MODEL_FILE
    assert store.read_card("mlp", "2").model_version == "2"
    read = store.stages("mlp")
    assert read.history[0] == StageRecord(
        at="2026-01-01T00:00:00Z",
        stage=ModelStage.PRODUCTION,
        version="1",
        operator="ops",
        reason="first",
    )
    assert [read.stage_of(v) for v in ("1", "2", "3")] == [
        ModelStage.PRODUCTION,
        ModelStage.SHADOW,
        ModelStage.CANDIDATE,
    ]
    assert Stages.model_validate_json(read.model_dump_json()) == read


def test_a_missing_model_file_is_an_error_naming_the_path(tmp_path):
    store = ModelStore(tmp_path)

    with pytest.raises(ModelStoreError, match=r"model mlp version 7: no model\.onnx at .*7"):
        store.model_path("mlp", "7")
    with pytest.raises(ModelStoreError, match="model mlp version 7"):
        store.read_model("mlp", "7")
    with pytest.raises(ModelStoreError, match=r"card\.json"):
        store.read_card("mlp", "7")


def test_an_invalid_stages_file_is_an_error_naming_it(tmp_path):
    (tmp_path / "mlp").mkdir()
    (tmp_path / "mlp" / STAGES_FILE).write_text('{"production": 3, "extra": true}')

    with pytest.raises(ModelStoreError, match=r"invalid .*stages\.json"):
        ModelStore(tmp_path).production_version("mlp")


@pytest.mark.parametrize("bad", ["../etc", "a/b", "", ".hidden", "x..y"])
def test_names_and_versions_must_be_plain_folder_names(tmp_path, bad):
    store = ModelStore(tmp_path)

    with pytest.raises(ModelStoreError, match="invalid model name"):
        store.production_version(bad)
    with pytest.raises(ModelStoreError, match="invalid version"):
        store.model_path("mlp", bad)
