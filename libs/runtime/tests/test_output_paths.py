"""The rule of every command that writes: never delete or replace what it did not create."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from jules_contracts import JulesError
from jules_runtime.output_paths import OutputFolder, OutputRefusedError, output_file

RUNS = OutputFolder(
    kind="test run",
    marker="run.json",
    marker_keys=frozenset({"started_at"}),
    entries=frozenset({"run.json", "out.csv", "audit"}),
)


def earlier_run(folder: Path) -> Path:
    """A folder as a finished run leaves it."""
    (folder / "audit").mkdir(parents=True)
    (folder / "audit" / "segment-000000.jsonl").write_text("{}\n")
    (folder / "out.csv").write_text("a,b\n")
    (folder / "run.json").write_text(json.dumps({"started_at": "2024-01-02T00:00:00+00:00"}))
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_refusal_is_a_jules_error_and_a_file_exists_error():
    assert issubclass(OutputRefusedError, JulesError)
    assert issubclass(OutputRefusedError, FileExistsError)


def test_a_missing_folder_is_created_with_its_parents(tmp_path):
    folder = tmp_path / "a" / "b"

    assert RUNS.prepare(folder) == folder

    assert folder.is_dir()


def test_an_empty_folder_is_used(tmp_path):
    assert RUNS.prepare(tmp_path) == tmp_path
    assert list(tmp_path.iterdir()) == []


def test_a_folder_of_someone_else_is_refused_naming_it_its_entries_and_the_option(tmp_path):
    (tmp_path / "notes.md").write_text("mine")
    (tmp_path / "out.csv").write_text("also mine")
    (tmp_path / "data").mkdir()
    before = snapshot(tmp_path)

    with pytest.raises(OutputRefusedError) as refused:
        RUNS.prepare(tmp_path)

    message = str(refused.value)
    assert str(tmp_path) in message
    assert "data/, notes.md, out.csv" in message
    assert "(here: out.csv)" in message  # what --overwrite would replace
    assert "--overwrite" in message
    assert refused.value.path == tmp_path
    assert snapshot(tmp_path) == before


def test_the_message_names_the_option_given(tmp_path):
    (tmp_path / "notes.md").write_text("mine")

    with pytest.raises(OutputRefusedError, match="pass --force to write"):
        RUNS.prepare(tmp_path, option="--force")


def test_a_long_listing_is_cut_short(tmp_path):
    for index in range(9):
        (tmp_path / f"file-{index}").write_text("x")

    with pytest.raises(OutputRefusedError, match=r"file-5 and 3 more\)"):
        RUNS.prepare(tmp_path)


def test_the_current_folder_is_named_by_where_it_is(tmp_path, monkeypatch):
    (tmp_path / "notes.md").write_text("mine")
    monkeypatch.chdir(tmp_path)

    with pytest.raises(OutputRefusedError, match=f"into \\. \\({tmp_path}\\)"):
        RUNS.prepare(Path())

    assert (tmp_path / "notes.md").read_text() == "mine"


def test_overwrite_replaces_the_runs_files_and_leaves_anything_else(tmp_path):
    (tmp_path / "notes.md").write_text("mine")
    (tmp_path / "out.csv").write_text("old")
    (tmp_path / "audit").mkdir()  # empty: nothing to lose

    RUNS.prepare(tmp_path, overwrite=True)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.md"]
    assert (tmp_path / "notes.md").read_text() == "mine"


def test_a_non_empty_folder_by_a_run_name_is_never_deleted_even_with_overwrite(tmp_path):
    (tmp_path / "audit").mkdir()
    (tmp_path / "audit" / "evidence.txt").write_text("keep")
    (tmp_path / "out.csv").write_text("old")
    before = snapshot(tmp_path)

    with pytest.raises(OutputRefusedError, match=r"its folder audit/ was not made by a test run"):
        RUNS.prepare(tmp_path, overwrite=True)

    assert snapshot(tmp_path) == before


def test_an_earlier_run_is_replaced_and_other_files_are_kept(tmp_path):
    earlier_run(tmp_path)
    (tmp_path / "notes.md").write_text("mine")

    RUNS.prepare(tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.md"]


def test_without_replace_an_earlier_runs_files_are_kept(tmp_path):
    earlier_run(tmp_path)
    before = snapshot(tmp_path)

    RUNS.prepare(tmp_path, replace=False)

    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "marker",
    ["not json", "[1, 2]", json.dumps({"other": 1}), json.dumps({"started_at": None})[:-1]],
)
def test_a_marker_file_that_is_not_the_commands_does_not_make_the_folder_a_run(tmp_path, marker):
    (tmp_path / "run.json").write_text(marker)

    assert not RUNS.recognises(tmp_path)
    with pytest.raises(OutputRefusedError, match="holds no earlier test run"):
        RUNS.prepare(tmp_path)
    assert (tmp_path / "run.json").read_text() == marker


def test_a_run_entry_that_is_a_link_is_removed_not_what_it_points_to(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("keep")
    folder = earlier_run(tmp_path / "run")
    (folder / "out.csv").unlink()
    (folder / "out.csv").symlink_to(elsewhere / "precious.txt")
    os.rename(folder / "audit", tmp_path / "old-audit")
    (folder / "audit").symlink_to(elsewhere, target_is_directory=True)

    RUNS.prepare(folder)

    assert list(folder.iterdir()) == []
    assert (elsewhere / "precious.txt").read_text() == "keep"


def test_a_file_where_the_folder_should_be_is_refused(tmp_path):
    target = tmp_path / "run"
    target.write_text("a file")

    with pytest.raises(OutputRefusedError, match="it is a file, not a folder"):
        RUNS.prepare(target, overwrite=True)

    assert target.read_text() == "a file"


def test_output_file_writes_a_new_file_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "sub" / "out.csv"

    with output_file(target) as partial:
        assert partial.parent == target.parent
        assert partial != target
        partial.write_text("rows\n")
        assert not target.exists()

    assert target.read_text() == "rows\n"
    assert list(target.parent.iterdir()) == [target]


def test_output_file_refuses_an_existing_file_before_anything_is_written(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("someone's")

    with pytest.raises(OutputRefusedError) as refused, output_file(target):
        pytest.fail("the block must not run")

    assert str(target) in str(refused.value)
    assert "--overwrite" in str(refused.value)
    assert target.read_text() == "someone's"
    assert list(tmp_path.iterdir()) == [target]


def test_output_file_replaces_an_existing_file_with_overwrite(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")

    with output_file(target, overwrite=True) as partial:
        partial.write_text("new")

    assert target.read_text() == "new"
    assert list(tmp_path.iterdir()) == [target]


def write(target: Path, text: str, *, overwrite: bool = False, meanwhile=None) -> None:
    """Write ``text`` through ``output_file``; ``meanwhile`` runs before the block ends."""
    with output_file(target, overwrite=overwrite) as partial:
        partial.write_text(text)
        if meanwhile is not None:
            meanwhile()


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")

    def fail() -> None:
        raise RuntimeError("broken")

    with pytest.raises(RuntimeError, match="broken"):
        write(target, "half", overwrite=True, meanwhile=fail)

    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_a_file_that_appears_while_writing_is_not_replaced(tmp_path):
    target = tmp_path / "out.csv"

    with pytest.raises(OutputRefusedError):
        write(target, "mine", meanwhile=lambda: target.write_text("theirs"))

    assert target.read_text() == "theirs"
    assert list(tmp_path.iterdir()) == [target]


def test_a_temporary_name_never_takes_an_existing_file(tmp_path):
    target = tmp_path / "out.csv"
    partial_of_someone = tmp_path / "out.csv.partial"
    partial_of_someone.write_text("someone's")

    with output_file(target) as partial:
        partial.write_text("rows")

    assert partial_of_someone.read_text() == "someone's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "out.csv.partial"]


def test_output_file_refuses_a_folder(tmp_path):
    with (
        pytest.raises(OutputRefusedError, match="it is a folder, not a file"),
        output_file(tmp_path, overwrite=True),
    ):
        pytest.fail("the block must not run")
