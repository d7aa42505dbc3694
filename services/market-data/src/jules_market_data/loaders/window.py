"""A time window pushed down into a table loader: rows far outside it are not read.

A backtest over a window of a long file, or over many files, must cost what it selects, not
what the files hold. Before the row-by-row loader runs, the time column is read alone with
pyarrow and parsed in one vectorised pass, giving the rows that fall outside the window by
more than ``MARGIN_NS``. When the file holds one row per line (its line count matches the
rows pyarrow read), the loader reads only the line ranges of the other rows, passing over the
rest without parsing them; otherwise it skips a row whose time text is one of those outside,
before parsing, validating or building anything from it. Every other row (inside
the window, near its edges, or with a time pyarrow cannot parse) goes through the loader as
before, with the same checks and reason codes; the exact window is still applied to the
events the loader yields. The margin keeps the rows around the edges in the validator's view
(order, duplicates) and makes the decision immune to any disagreement between pyarrow's and
the loader's reading of a time text at the edge.

Rows skipped this way are not read at all, so problems in them are not reported: the data
quality report of a windowed run describes the rows near and inside the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jules_market_data.loaders._common import EPOCH_MAGNITUDES, EPOCH_UNIT_NS

__all__ = ["MARGIN_NS", "Skip", "Window", "rows_outside"]

Window = tuple[int | None, int | None]
"""``[start, end)`` in UTC nanoseconds of the events' time; ``None``: open on that side."""

MARGIN_NS = 3_600 * 10**9
"""Rows within an hour of the window are read (and checked) whatever their time."""


@dataclass(frozen=True)
class Skip:
    """What a CSV reader may pass over unread.

    Attributes:
        column: The time column's name.
        texts: Its texts whose rows are outside (only when ``lines`` is ``None``).
        lines: The 1-based line ranges ``(first, last)`` to read, in order (the header is
            line 1); ``None`` when the file does not hold exactly one row per line.
    """

    column: str
    texts: frozenset[str]
    lines: tuple[tuple[int, int], ...] | None


def rows_outside(
    path: Path, column: str, window: Window, *, offset_ns: int = 0, epoch_unit: str | None = None
) -> Skip | None:
    """The rows of a CSV table outside ``window`` by more than ``MARGIN_NS``.

    Args:
        path: A CSV table (plain or ``.gz``).
        column: The time column's name as in the header.
        window: The window on the events' time.
        offset_ns: Added to a row's time to get its event's time (a bar stamped at its start
            ends one interval later).
        epoch_unit: The unit of epoch numbers (``None``: by magnitude, as the loader reads
            them).

    Returns:
        What to pass over; ``None`` when there is no window or the column cannot be parsed
        in one pass (then every row is read, as without a window).
    """
    start, end = window
    if start is None and end is None:
        return None
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                include_columns=[column], column_types={column: pa.string()}
            ),
        )
    except (pa.ArrowInvalid, OSError):
        return None
    texts = table.column(column).combine_chunks()
    nanos = _nanos(texts, epoch_unit)
    if nanos is None:
        return None
    times = nanos + offset_ns
    outside: Any = np.zeros(len(times), dtype=bool)
    if start is not None:
        outside = outside | (times < start - MARGIN_NS)
    if end is not None:
        outside = outside | (times >= end + MARGIN_NS)
    lines = _line_ranges(path, ~outside)
    if lines is not None:  # the texts are not needed, and a universe would hold them all
        return Skip(column, frozenset(), lines)
    return Skip(column, frozenset(texts.filter(pa.array(outside)).to_pylist()), None)


def _line_ranges(path: Path, keep: Any) -> tuple[tuple[int, int], ...] | None:
    """Line ranges of the kept rows if row ``i`` is line ``i + 2``, else ``None``."""
    import numpy as np

    if path.suffix != ".csv":
        return None
    data = path.read_bytes()
    newlines = data.count(b"\n")
    rows = len(keep)
    if not (newlines == rows + 1 or (newlines == rows and not data.endswith(b"\n"))):
        return None  # blank lines or fields spanning lines: rows and lines do not match
    if b"\r" in data.replace(b"\r\n", b""):
        return None
    indices = np.flatnonzero(keep)
    if indices.size == 0:
        return ()
    breaks = np.flatnonzero(np.diff(indices) > 1)
    firsts = np.concatenate(([indices[0]], indices[breaks + 1]))
    lasts = np.concatenate((indices[breaks], [indices[-1]]))
    return tuple((int(a) + 2, int(b) + 2) for a, b in zip(firsts, lasts, strict=True))


def _nanos(texts: Any, epoch_unit: str | None) -> Any:
    """The texts as int64 nanoseconds (numpy), or ``None`` if one of them does not parse."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for kind in (pa.timestamp("ns"), pa.timestamp("ns", tz="UTC")):
        try:
            return pc.cast(texts, kind).cast(pa.int64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    try:
        numbers = pc.cast(texts, pa.int64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if epoch_unit is not None:
        return numbers * EPOCH_UNIT_NS[epoch_unit]
    import numpy as np

    scale = np.ones(len(numbers), dtype=np.int64)
    magnitude = np.abs(numbers)
    for limit, factor in reversed(EPOCH_MAGNITUDES):
        scale[magnitude < limit] = factor
    return numbers * scale
