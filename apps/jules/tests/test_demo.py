"""The smoke demo reads the real sample data, validates it and runs it through the bus."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from jules.cli import app
from jules.demo import BITSTAMP, LEAN_BARS, LEAN_DAYS, run_demo
from typer.testing import CliRunner

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))


def lines_in_zip(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        [member] = archive.namelist()
        return sum(1 for line in io.StringIO(archive.read(member).decode()) if line.strip())


async def test_demo_delivers_every_valid_row_and_reports_the_invalid_one():
    result = await run_demo(DATA_DIR)

    for instrument, folder in LEAN_BARS.items():
        rows = sum(lines_in_zip(DATA_DIR / folder / f"{day}_trade.zip") for day in LEAN_DAYS)
        assert result.summaries[instrument].count == rows
    bitstamp_rows = len((DATA_DIR / BITSTAMP[1]).read_text().splitlines())
    # One Bitstamp trade has a size of zero: rejected with the field and value named.
    [rejected] = result.rejected
    assert rejected.line == 8524
    assert "size" in rejected.reason
    assert "0.0" in rejected.reason
    assert result.summaries[BITSTAMP[0]].count == bitstamp_rows - 1
    assert result.published == result.delivered == result.stats.processed
    assert result.stats.dead_lettered == 0


async def test_demo_summary_matches_the_bars_it_read():
    result = await run_demo(DATA_DIR)
    eth = result.summaries["ETHUSD.COINBASE"]
    assert eth.low <= eth.vwap <= eth.high
    assert eth.first_ns < eth.last_ns


async def test_demo_is_deterministic():
    first, second = await run_demo(DATA_DIR), await run_demo(DATA_DIR)
    assert first.summaries == second.summaries


def test_demo_command_prints_the_table_and_counts():
    outcome = CliRunner().invoke(app, ["demo", "--data-dir", str(DATA_DIR)])
    assert outcome.exit_code == 0, outcome.output
    assert "ETHUSD.COINBASE" in outcome.output
    assert "dead-lettered: 0" in outcome.output
    assert "not a backtest yet" in outcome.output


def test_demo_command_with_a_missing_data_folder_says_so(tmp_path):
    outcome = CliRunner().invoke(app, ["demo", "--data-dir", str(tmp_path / "nowhere")])
    assert outcome.exit_code == 1
    assert "sample data folder not found" in outcome.output
