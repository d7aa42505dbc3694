"""``jules-train models``: list, show, gate, promote, rollback, exit codes and messages."""

from __future__ import annotations

import json

import pytest
from jules_signal.model_store import ModelStore
from jules_trainer.models_cmd import REGISTRY_ENV, models_app
from jules_trainer.registry import ModelRegistry
from typer.testing import CliRunner, Result

from .registry_helpers import FOLDS, register_linear

LENIENT = ["--min-sharpe", "-1e9", "--max-drawdown", "1", "--min-trades", "1"]
STRICT = ["--min-sharpe", "1e9", "--max-drawdown", "1", "--min-trades", "1"]


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.setenv(REGISTRY_ENV, str(tmp_path / "models"))
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


@pytest.fixture
def registry(tmp_path):
    return ModelRegistry(tmp_path / "models")


def invoke(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(models_app, list(args))


def test_list_and_show(runner, registry, tmp_path):
    empty = invoke(runner, "list")
    assert empty.exit_code == 0
    assert "no models in" in empty.output

    register_linear(registry, tmp_path, folds=FOLDS[1:])
    register_linear(registry, tmp_path, name="other", folds=FOLDS[1:])

    listed = invoke(runner, "list")
    assert listed.exit_code == 0, listed.output
    rows = [line for line in listed.output.splitlines() if "CANDIDATE" in line]
    assert len(rows) == 2
    assert rows[0].split()[1:4] == ["lin", "│", "1"]
    assert "linear" in rows[0]
    as_json = json.loads(invoke(runner, "list", "other", "--json").output)
    assert as_json == [
        {
            "name": "other",
            "version": "1",
            "stage": "CANDIDATE",
            "created_at": "2026-01-01T00:00:00Z",
            "algorithm": "linear",
            "metrics": {},
            "gate": None,
        }
    ]

    shown = invoke(runner, "show", "lin", "1")
    assert shown.exit_code == 0, shown.output
    assert "lin version 1: CANDIDATE" in shown.output
    assert "rsi_14" in shown.output
    assert "gate: not run" in shown.output
    assert f"fold 1 test window: {FOLDS[1]['test']}" in shown.output
    detail = json.loads(invoke(runner, "show", "lin", "1", "--json").output)
    assert detail["card"] == registry.get("lin", "1").card.model_dump(mode="json")
    assert detail["experiment"]["folds"] == FOLDS[1:]
    assert detail["gate"] is None
    assert detail["history"] == []


def test_missing_models_and_bad_usage(runner, registry, tmp_path):
    register_linear(registry, tmp_path, folds=FOLDS[1:])

    missing = invoke(runner, "show", "lin", "4")
    assert missing.exit_code == 1
    assert "model lin version 4 is not registered" in missing.output
    unknown = invoke(runner, "gate", "nope", "1")
    assert unknown.exit_code == 1
    assert "model nope version 1 is not registered" in unknown.output
    bad_name = invoke(runner, "show", "../lin", "1")
    assert bad_name.exit_code == 2
    assert "invalid model name" in bad_name.output
    bad_stage = invoke(runner, "promote", "lin", "1", "--to", "candidate")
    assert bad_stage.exit_code == 2
    bad_threshold = invoke(runner, "gate", "lin", "1", "--max-drawdown", "0")
    assert bad_threshold.exit_code == 2
    assert "invalid gate thresholds" in bad_threshold.output
    assert registry.get("lin", "1").gate is None


def test_gate_pass_and_fail(runner, registry, tmp_path):
    register_linear(registry, tmp_path, folds=FOLDS[1:])

    failed = invoke(runner, "gate", "lin", "1", *STRICT)
    assert failed.exit_code == 1
    assert "model lin version 1 failed its gate: fold 1: sharpe" in failed.output
    assert registry.get("lin", "1").gate_passed is False

    passed = invoke(runner, "gate", "lin", "1", *LENIENT)
    assert passed.exit_code == 0, passed.output
    assert "gate passed" in passed.output
    stored = registry.get("lin", "1").gate
    assert stored is not None
    assert stored["passed"] is True
    shown = invoke(runner, "show", "lin", "1")
    assert "gate passed" in shown.output
    assert FOLDS[1]["test"][0] in shown.output


def test_promote_and_rollback(runner, registry, tmp_path):
    for _ in range(2):
        register_linear(registry, tmp_path, folds=FOLDS[1:])
    store = ModelStore(tmp_path / "models")

    refused = invoke(runner, "promote", "lin", "1", "--to", "shadow", *STRICT)
    assert refused.exit_code == 1
    assert "model lin version 1 failed its gate" in refused.output
    assert store.shadow_version("lin") is None

    shadow = invoke(runner, "promote", "lin", "1", "--to", "shadow", "--operator", "ana", *LENIENT)
    assert shadow.exit_code == 0, shadow.output
    assert "model lin version 1 is now in SHADOW" in shadow.output
    assert store.shadow_version("lin") == "1"

    # the stored passed gate is used: no threshold options, no new gate run
    live = invoke(runner, "promote", "lin", "1", "--to", "production", "--reason", "good")
    assert live.exit_code == 0, live.output
    assert "gate passed" not in live.output
    assert (store.production_version("lin"), store.shadow_version("lin")) == ("1", None)

    # version 2 has no gate: promote runs one with the options given
    second = invoke(runner, "promote", "lin", "2", "--to", "production", *LENIENT)
    assert second.exit_code == 0, second.output
    assert "gate passed" in second.output
    assert store.production_version("lin") == "2"

    back = invoke(runner, "rollback", "lin", "--operator", "cy", "--reason", "drift")
    assert back.exit_code == 0, back.output
    assert "production rolled back from version 2 to 1" in back.output
    assert store.production_version("lin") == "1"
    history = json.loads(invoke(runner, "show", "lin", "1", "--json").output)["history"]
    assert [(r["action"], r["stage"], r["version"], r["operator"]) for r in history] == [
        ("promote", "SHADOW", "1", "ana"),
        ("promote", "PRODUCTION", "1", history[1]["operator"]),
        ("promote", "PRODUCTION", "2", history[2]["operator"]),
        ("rollback", "PRODUCTION", "1", "cy"),
    ]
    assert history[1]["reason"] == "good"
    assert history[3]["reason"] == "drift"

    too_far = invoke(runner, "rollback", "lin")
    assert too_far.exit_code == 1
    assert "model lin version 1: no previous production version" in too_far.output


def test_registry_option_overrides_the_environment(runner, tmp_path):
    other = ModelRegistry(tmp_path / "elsewhere")
    register_linear(other, tmp_path, name="far", folds=FOLDS[1:])

    assert "no models in" in invoke(runner, "list").output
    listed = invoke(runner, "list", "--registry", str(tmp_path / "elsewhere"), "--json")
    assert [row["name"] for row in json.loads(listed.output)] == ["far"]
