"""``export --output``: an existing file is replaced only with ``--overwrite``."""

from __future__ import annotations

from jules_audit.cli import app
from typer.testing import CliRunner

runner = CliRunner()


def test_an_existing_output_file_is_refused_with_exit_2_and_left_as_it_was(log_dir, tmp_path):
    target = tmp_path / "orders.csv"
    target.write_text("last quarter's report\n")

    result = runner.invoke(app, ["export", str(log_dir), "--output", str(target)])

    assert result.exit_code == 2
    assert f"refusing to replace {target}: the file exists" in result.stderr
    assert "--overwrite" in result.stderr
    assert target.read_text() == "last quarter's report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit", "orders.csv"]


def test_overwrite_replaces_the_output_file(log_dir, tmp_path):
    target = tmp_path / "orders.csv"
    target.write_text("old\n")

    result = runner.invoke(app, ["export", str(log_dir), "--output", str(target), "--overwrite"])

    assert result.exit_code == 0, result.output
    assert len(target.read_text().splitlines()) == 133
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit", "orders.csv"]


def test_a_file_named_like_a_temporary_file_is_never_touched(log_dir, tmp_path):
    target = tmp_path / "orders.csv"
    lookalike = tmp_path / "orders.csv.partial"
    lookalike.write_text("someone's draft\n")

    result = runner.invoke(app, ["export", str(log_dir), "--output", str(target)])

    assert result.exit_code == 0, result.output
    assert lookalike.read_text() == "someone's draft\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "audit",
        "orders.csv",
        "orders.csv.partial",
    ]


def test_a_second_export_to_the_same_file_needs_overwrite(log_dir, tmp_path):
    target = tmp_path / "orders.csv"

    first = runner.invoke(app, ["export", str(log_dir), "--output", str(target)])
    again = runner.invoke(app, ["export", str(log_dir), "--output", str(target)])

    assert first.exit_code == 0, first.output
    assert again.exit_code == 2
    assert "--overwrite" in again.stderr
