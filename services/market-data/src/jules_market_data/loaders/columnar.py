"""A CSV table read in one pass: pyarrow splits the rows, numpy parses times and numbers at once.

The row-by-row reader (``csv`` and ``parse_time``/``parse_float`` per cell) is the reference.
This reader gives the same rows with the same values, faster: pyarrow reads every column as
text, then each column is parsed in one vectorised pass, but only for the cells in the plain
forms whose reading is unambiguous:

* times: ``YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}]`` with ``Z``/``z``/``±00:00``/``±0000`` (or no
  offset when ``assume_utc``), and whole epoch numbers (unit by magnitude, as the reference);
* numbers: ``[-]digits[.digits][e±digits]``, finite.

Any other cell (an empty one, ``nan``, another offset, surrounding spaces, an epoch with a
fraction, a number too large for its unit ...) is marked unparsed, and its row goes through
the reference reader, which gives its value or its rejection with the usual reason code. A
file that is not exactly one row per line (blank lines, quoted line breaks, a stray carriage
return), whose header pyarrow reads differently, or that pyarrow cannot split (a row with
another number of columns), is left to the reference reader whole (``read_columns`` returns
``None``). Row ``i`` of a table read here is line ``i + 2`` of its file.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jules_market_data.loaders._common import EPOCH_MAGNITUDES, EPOCH_UNIT_NS

__all__ = ["Columns", "read_columns"]

_INT64_MAX = 2**63 - 1
_ISO = (
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}:\d{2})"
    r"(?:\.(?P<frac>\d{1,9}))?(?P<tz>Z|z|[+-]00:?00)?$"
)
_EPOCH = r"^\d{1,18}$"
_NUMBER = r"^-?(\d+(\.\d+)?|\.\d+)([eE][+-]?\d{1,3})?$"
_LAST_SECOND = (_INT64_MAX - 999_999_999) // 10**9
"""Times up to this second, with any fraction, fit int64 nanoseconds."""


@dataclass(frozen=True)
class Columns:
    """The rows of a table read in one pass: their lines, parsed columns and cells as text.

    Attributes:
        lines: The line of each row read (the header is line 1).
        blank: Whether each row is blank (every cell empty or spaces): such a row is no row.
        times: The time column in UTC nanoseconds, ``None`` where the cell is not parsed here.
        numbers: The number columns asked for, ``None`` where a cell is not parsed here.
        texts: The cells of every column as text (pyarrow arrays; see ``cells``).
    """

    lines: list[int]
    blank: list[bool]
    times: list[int | None]
    numbers: dict[str, list[float | None]]
    texts: list[Any]

    def cells(self, index: int) -> list[str]:
        """The cells of row ``index`` as text, in header order."""
        return [column[index].as_py() for column in self.texts]


def read_columns(
    path: Path,
    header: list[str],
    time_column: str,
    number_columns: list[str],
    *,
    assume_utc: bool,
    epoch_unit: str | None,
    read: tuple[int, int] | None = None,
) -> Columns | None:
    """Read a CSV table (plain or ``.gz``) in one pass, or ``None`` to read it row by row.

    Args:
        path: The file.
        header: Its header as the reference reader reads it (names stripped).
        time_column: The time column's name.
        number_columns: The columns to parse as numbers.
        assume_utc: Read times without an offset as UTC.
        epoch_unit: The unit of epoch numbers (``None``: by magnitude).
        read: ``[low, high)``: the rows with a time parsed here outside it are passed over
            (nothing else of them is parsed or checked); rows whose time is not parsed here
            are read whatever it is.
    """
    if path.suffix not in (".csv", ".gz", ".txt") or len(set(header)) != len(header):
        return None
    import pyarrow as pa
    import pyarrow.csv as pacsv

    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(block_size=max(1 << 20, len(data) + 1)),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if [name.strip() for name in table.column_names] != header or not _one_row_per_line(
        data, table.num_rows
    ):
        return None
    import numpy as np

    columns = {name: table.column(name).combine_chunks() for name in header}
    nanos, parsed = _times(columns[time_column], assume_utc, epoch_unit)
    keep = np.ones(table.num_rows, dtype=bool)
    if read is not None:
        keep = ~parsed | ((nanos >= read[0]) & (nanos < read[1]))
        mask = pa.array(keep)
        columns = {name: column.filter(mask) for name, column in columns.items()}
        nanos, parsed = nanos[keep], parsed[keep]
    return Columns(
        lines=(np.flatnonzero(keep) + 2).tolist(),
        blank=_blank(list(columns.values()), len(nanos)),
        times=[n if ok else None for n, ok in zip(nanos.tolist(), parsed.tolist(), strict=True)],
        numbers={name: _numbers(columns[name]) for name in number_columns},
        texts=[columns[name] for name in header],
    )


def _one_row_per_line(data: bytes, rows: int) -> bool:
    newlines = data.count(b"\n")
    if not (newlines == rows + 1 or (newlines == rows and not data.endswith(b"\n"))):
        return False
    return b"\r" not in data.replace(b"\r\n", b"")


def _blank(columns: list[Any], rows: int) -> list[bool]:
    import numpy as np
    import pyarrow.compute as pc

    blank = np.ones(rows, dtype=bool)
    for column in columns:
        blank &= pc.match_substring_regex(column, r"^[ \t]*$").to_numpy(zero_copy_only=False)
    return blank.tolist()


def _numbers(texts: Any) -> list[float | None]:
    """Plain decimal numbers parsed by pyarrow (correctly rounded, as ``float``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    plain = pc.match_substring_regex(texts, _NUMBER)
    try:
        values = pc.cast(pc.if_else(plain, texts, "0"), pa.float64())
    except pa.ArrowInvalid:  # a form pyarrow reads otherwise: the reference reader reads them
        return [None] * len(texts)
    parsed = pc.and_(plain, pc.is_finite(values))
    return pc.if_else(parsed, values, pa.scalar(None, pa.float64())).to_pylist()  # type: ignore[no-any-return]


def _times(texts: Any, assume_utc: bool, epoch_unit: str | None) -> tuple[Any, Any]:
    """The texts in UTC nanoseconds, and where they were parsed (ISO or whole epoch numbers)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    nanos = np.zeros(len(texts), dtype=np.int64)
    parsed = np.zeros(len(texts), dtype=bool)
    iso = pc.match_substring_regex(texts, _ISO).to_numpy(zero_copy_only=False)
    if iso.any():
        parts = pc.extract_regex(texts.filter(pa.array(iso)), _ISO)
        if not assume_utc:  # a time without an offset is the reference reader's to refuse
            with_offset = pc.not_equal(parts.field("tz"), "").to_numpy(zero_copy_only=False)
            iso[iso] = with_offset
            parts = parts.filter(pa.array(with_offset))
        seconds = _iso_seconds(parts)
        if seconds is not None:
            fits = (seconds >= 0) & (seconds <= _LAST_SECOND)  # else out of range: refused
            fraction = pc.utf8_rpad(parts.field("frac"), width=9, padding="0")
            nanos[iso] = (
                np.where(fits, seconds, 0) * 10**9 + pc.cast(fraction, pa.int64()).to_numpy()
            )
            iso[iso] = fits
            parsed |= iso
    epoch = pc.match_substring_regex(texts, _EPOCH).to_numpy(zero_copy_only=False) & ~parsed
    if epoch.any():
        numbers = pc.cast(texts.filter(pa.array(epoch)), pa.int64()).to_numpy()
        scale = _epoch_scale(numbers, epoch_unit)
        fits = numbers <= _INT64_MAX // scale
        nanos[epoch] = np.where(fits, numbers * np.where(fits, scale, 1), 0)
        epoch[epoch] = fits
        parsed |= epoch
    return nanos, parsed


def _iso_seconds(parts: Any) -> Any:
    """Whole seconds of the date and time parts, or ``None`` if one of them is no real time."""
    import pyarrow as pa
    import pyarrow.compute as pc

    stamps = pc.binary_join_element_wise(parts.field("date"), parts.field("time"), "T")
    try:
        return pc.cast(stamps, pa.timestamp("s")).cast(pa.int64()).to_numpy()
    except pa.ArrowInvalid:  # a day or second out of range: the reference reader says which
        return None


def _epoch_scale(numbers: Any, epoch_unit: str | None) -> Any:
    import numpy as np

    if epoch_unit is not None:
        return np.full(len(numbers), EPOCH_UNIT_NS[epoch_unit], dtype=np.int64)
    scale = np.ones(len(numbers), dtype=np.int64)
    for limit, factor in reversed(EPOCH_MAGNITUDES):
        scale[numbers < limit] = factor
    return scale
