"""``record --output``: an existing file is replaced only with ``--overwrite``."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from jules_contracts import BookDelta, BookSnapshot
from jules_contracts.examples import example_for
from jules_market_data.cli import app
from jules_market_data.record import write_parquet
from jules_runtime.output_paths import OutputRefusedError
from typer.testing import CliRunner

EVENTS = [example_for(BookSnapshot), example_for(BookDelta)]


def test_an_existing_file_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    output = tmp_path / "book.parquet"
    output.write_bytes(b"someone's file")

    with pytest.raises(OutputRefusedError, match="--overwrite"):
        write_parquet(EVENTS, output)

    assert output.read_bytes() == b"someone's file"
    assert list(tmp_path.iterdir()) == [output]


def test_overwrite_replaces_the_file(tmp_path: Path) -> None:
    output = tmp_path / "book.parquet"
    output.write_bytes(b"old")

    assert write_parquet(EVENTS, output, overwrite=True) == 2

    assert pq.read_table(output).num_rows == 2
    assert list(tmp_path.iterdir()) == [output]


def test_a_file_named_like_a_temporary_file_is_never_touched(tmp_path: Path) -> None:
    output = tmp_path / "book.parquet"
    lookalike = tmp_path / "book.parquet.partial"
    lookalike.write_bytes(b"someone's")

    write_parquet(EVENTS, output)

    assert lookalike.read_bytes() == b"someone's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.parquet", "book.parquet.partial"]


def test_the_command_refuses_an_existing_file_before_reading_the_topic(tmp_path: Path) -> None:
    output = tmp_path / "bars.parquet"
    output.write_bytes(b"someone's file")

    result = CliRunner().invoke(
        app,
        ["record", "--topic", "md.bars.v1", "--output", str(output)],
        env={"JULES_MARKET_DATA__KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:1"},  # never reached
    )

    assert result.exit_code == 2
    assert f"refusing to replace {output}" in result.stderr
    assert output.read_bytes() == b"someone's file"
