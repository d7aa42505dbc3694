"""`jules backtest` when the data is not what it should be: no market event left (every row
rejected, or a header-only file) exits 2 with the rejections by reason code and the fix;
``--strict`` fails on any rejected row; the run folder is kept."""

from __future__ import annotations

from pathlib import Path

import yaml
from jules.cli import app
from typer.testing import CliRunner

HEADER = "timestamp,open,high,low,close,volume\n"


def run(tmp_path: Path, rows: list[str], *extra: str) -> tuple[int, str, Path]:
    tmp_path.mkdir(exist_ok=True)
    data = tmp_path / "bars.csv"
    data.write_text(HEADER + "".join(rows))
    config = tmp_path / "bt.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data": [{"path": str(data), "instrument_id": "XYZ.TEST", "interval": "1m"}],
                "strategy": {"kind": "sma_cross", "fast": 2, "slow": 3},
                "monte_carlo": {"samples": 0},
            }
        )
    )
    out = tmp_path / "run"
    args = ["backtest", "-c", str(config), "--output-dir", str(out), "--no-progress", *extra]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    return result.exit_code, result.output, out


def bar(minute: int, stamp: str = "Z") -> str:
    return f"2024-01-01T00:{minute:02d}:00{stamp},100,101,99,100.5,10\n"


def test_every_row_rejected_exits_2_with_the_reasons_and_the_fix(tmp_path: Path) -> None:
    code, output, out = run(tmp_path, [bar(m, stamp="") for m in range(1, 6)])

    assert code == 2
    assert "no market event left: all 5 row(s) were rejected" in output
    assert "BAD_TIMESTAMP: 5" in output
    assert "set assume_utc: true on its data source" in output
    assert "assume_utc=True" not in output
    assert (out / "data_quality.json").is_file()


def test_a_header_only_file_exits_2_saying_there_is_no_row(tmp_path: Path) -> None:
    code, output, _ = run(tmp_path, [])

    assert code == 2
    assert "no market event: the data files hold no row" in output


def test_strict_fails_on_one_rejected_row_that_a_default_run_counts(tmp_path: Path) -> None:
    rows = [bar(m) for m in range(1, 30)]
    rows[10] = bar(11, stamp="")  # one naive timestamp among 29 rows

    default_code, default_output, _ = run(tmp_path / "a", rows)
    strict_code, strict_output, _ = run(tmp_path / "b", rows, "--strict")

    assert default_code == 0, default_output
    assert strict_code == 2
    assert "--strict: 1 row(s) rejected by validation" in strict_output
    assert "BAD_TIMESTAMP: 1" in strict_output
