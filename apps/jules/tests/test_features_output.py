"""`jules features compute --output`: an existing file is replaced only with --overwrite."""

from __future__ import annotations

from jules.features_cmd import features_app
from typer.testing import CliRunner

from .test_features_cmd import btc_perp_csv, read

runner = CliRunner()


def compute(source, output, *options: str):
    return runner.invoke(
        features_app,
        ["compute", "-i", str(source), "-o", str(output), "-f", "sma_5", *options],
    )


def test_an_existing_output_file_is_refused_with_exit_2_and_left_as_it_was(tmp_path):
    source = btc_perp_csv(tmp_path, rows=50)
    output = tmp_path / "mine.csv"
    output.write_text("my spreadsheet\n")

    result = compute(source, output)

    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert f"refusing to replace {output}: the file exists" in message
    assert "--overwrite" in message
    assert output.read_text() == "my spreadsheet\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["btc-perp.csv", "mine.csv"]


def test_overwrite_replaces_the_output_file(tmp_path):
    source = btc_perp_csv(tmp_path, rows=50)
    output = tmp_path / "out.csv"
    output.write_text("old\n")

    result = compute(source, output, "--overwrite")

    assert result.exit_code == 0, result.output
    header, rows = read(output)
    assert header[-1] == "sma_5"
    assert len(rows) == 50
    assert sorted(p.name for p in tmp_path.iterdir()) == ["btc-perp.csv", "out.csv"]


def test_a_second_run_into_its_own_output_needs_overwrite(tmp_path):
    source = btc_perp_csv(tmp_path, rows=50)
    output = tmp_path / "out.csv"

    first = compute(source, output)
    again = compute(source, output)

    assert first.exit_code == 0, first.output
    assert again.exit_code == 2
    assert "--overwrite" in again.stderr


def test_a_folder_as_output_is_refused(tmp_path):
    source = btc_perp_csv(tmp_path, rows=50)
    (tmp_path / "folder").mkdir()

    result = compute(source, tmp_path / "folder", "--overwrite")

    assert result.exit_code == 2
    assert list((tmp_path / "folder").iterdir()) == []
