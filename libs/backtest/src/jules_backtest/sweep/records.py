"""What every search writes: its marked folder, the trials table and the closing summary.

Shared by ``jules sweep`` (``jules_backtest.sweep.outputs``) and the trainer's
hyperparameter search, so both folders follow one set of rules: the marker (a JSON file) is
written first with no finish time, the table holds one row per trial in Parquet and CSV, and
the marker ends up holding the summary with when, where and on how many workers it ran.
"""

from __future__ import annotations

import csv
import json
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jules_runtime.output_paths import OutputFolder

from jules_backtest.sweep.search import TrialRecord

__all__ = ["dump_json", "finish_marked", "prepare_marked", "trial_row", "write_trials_table"]


def dump_json(path: Path, data: object) -> None:
    """Write ``data`` as indented, key-sorted JSON."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def prepare_marked(spec: OutputFolder, folder: Path, *, overwrite: bool, **marker: Any) -> Path:
    """Make ``folder`` ready for ``spec`` and write its marker (no finish time yet).

    Raises:
        jules_runtime.output_paths.OutputRefusedError: The folder is refused.
    """
    prepared = spec.prepare(folder, overwrite=overwrite)
    started = datetime.now(UTC).isoformat()
    dump_json(prepared / spec.marker, {"started_at": started, **marker, "finished_at": None})
    return prepared


def finish_marked(
    spec: OutputFolder, folder: Path, data: dict[str, Any], *, workers: int, started: str
) -> dict[str, Any]:
    """Write the summary ``data`` into the marker, with the run's times and machine."""
    closed = {
        **data,
        "started_at": started,
        "finished_at": datetime.now(UTC).isoformat(),
        "workers": workers,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    dump_json(folder / spec.marker, closed)
    return closed


def trial_row(
    trial: TrialRecord,
    names: Sequence[str],
    figures: Sequence[str],
    *,
    prefix: str = "",
    **leading: Any,
) -> dict[str, Any]:
    """A trial as a flat row.

    Columns: ``leading``, trial, each parameter, objective, each figure (named ``prefix`` +
    key), error and seconds.
    """
    row: dict[str, Any] = {**leading, "trial": trial.number}
    row.update({name: trial.params.get(name) for name in names})
    row["objective"] = trial.objective
    row.update({f"{prefix}{key}": trial.figures.get(key) for key in figures})
    row["error"] = trial.error or ""
    row["seconds"] = round(trial.seconds, 4)
    return row


def _column(values: list[Any]) -> list[Any]:
    """A column's values; text throughout when strings mix with other kinds (``[5, "a"]``)."""
    kinds = {type(v) for v in values if v is not None}
    if str in kinds and len(kinds) > 1:
        return [None if v is None else str(v) for v in values]
    return values


def write_trials_table(folder: Path, rows: list[dict[str, Any]]) -> None:
    """Write ``trials.parquet`` and ``trials.csv`` (same columns, in the rows' key order)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(rows[0]) if rows else []
    pq.write_table(
        pa.table({c: _column([row[c] for row in rows]) for c in columns}),
        folder / "trials.parquet",
    )
    with (folder / "trials.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows({c: "" if row[c] is None else row[c] for c in columns} for row in rows)
