"""``audit.level``: what a run's audit log records, and that nothing else of the run changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jules_audit.store import verify
from jules_backtest.audit import NOT_DECISIONS
from jules_backtest.config import BacktestConfig
from jules_backtest.examples import small_config
from jules_backtest.run import run_backtest

from .sample_data import DATA_DIR


def _run(out: Path, level: str | None) -> Path:
    config = small_config(DATA_DIR, out)
    if level is not None:
        config["audit"] = {"level": level}
    run_backtest(BacktestConfig.model_validate(config))
    return out


def _recorded_types(run_dir: Path) -> list[str]:
    return [
        json.loads(line)["event_type"]
        for path in sorted((run_dir / "audit").glob("segment-*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def _outputs(run_dir: Path) -> dict[str, bytes]:
    """Every file of the run folder but the audit log, ``run.json`` and ``config.json``."""
    return {
        str(path.relative_to(run_dir)): path.read_bytes()
        for path in sorted(run_dir.rglob("*"))
        if path.is_file()
        and "audit" not in path.relative_to(run_dir).parts
        and path.name not in {"run.json", "config.json"}
    }


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _run(tmp_path_factory.mktemp("level") / "all", None)


def test_the_default_level_records_every_event_kind(full):
    types = set(_recorded_types(full))
    assert {"md.bar", "features.vector", "portfolio.snapshot"} <= types
    assert "risk.order_denied" in types
    assert json.loads((full / "config.json").read_text())["audit"] == {"level": "all"}


def test_decisions_records_exactly_the_decisions_of_the_full_log_and_changes_no_output(
    full, tmp_path
):
    decisions = _run(tmp_path / "decisions", "decisions")
    result = verify(decisions / "audit")
    assert result.ok, result.summary()
    expected = [t for t in _recorded_types(full) if t not in NOT_DECISIONS]
    assert _recorded_types(decisions) == expected
    assert {"signal.generated", "risk.order_denied", "order.filled"} <= set(expected)
    assert not {"md.bar", "features.vector", "portfolio.snapshot"} & set(expected)
    assert _outputs(decisions) == _outputs(full)


def test_off_writes_no_audit_log_and_changes_no_output(full, tmp_path):
    off = _run(tmp_path / "off", "off")
    assert not (off / "audit").exists()
    assert _outputs(off) == _outputs(full)


def test_an_unknown_level_is_refused_naming_the_field():
    config = small_config(DATA_DIR, Path("unused"))
    config["audit"] = {"level": "some"}
    with pytest.raises(ValueError, match=r"audit\.level"):
        BacktestConfig.model_validate(config)
