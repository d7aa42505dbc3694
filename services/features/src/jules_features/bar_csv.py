"""Bar CSV in, feature CSV out: the file adapter behind ``jules features compute``.

Input: a header row with (at least) ``timestamp,open,high,low,close,volume`` — names matched
without regard to case or surrounding spaces, other columns passed through — then one bar per
row. ``timestamp`` is the bar's start: ISO-8601 with an explicit offset
(``2024-01-02T09:30:00Z``, ``2024-01-02 09:30:00+01:00``) or an integer epoch, whose unit is
told by its size (below 1e11 seconds, below 1e14 milliseconds, below 1e17 microseconds, else
nanoseconds). Rows must be in strictly increasing time. The bar interval is given or inferred
as the smallest spacing between consecutive bars (gaps, such as minutes without trades, are
allowed; overlaps are not).

Output: the input columns unchanged plus one column per feature, in schema order; a value is
written with Python's shortest round-trip ``repr`` and left empty while undefined. The output
file is written next to its destination and moved into place only when complete; an existing
file is replaced only when asked (``overwrite``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from jules_contracts import Bar, JulesError, derive_event_id, format_utc_nanos, parse_utc_nanos
from jules_contracts.base import InstrumentId
from jules_runtime.output_paths import check_output_file, output_file
from pydantic import TypeAdapter, ValidationError

from jules_features.engine import (
    FeatureEngine,
    FeatureEngineConfig,
    FeatureSchema,
    FeatureSource,
)

__all__ = [
    "BAR_COLUMNS",
    "BarCsvError",
    "BarCsvReason",
    "ComputeSummary",
    "compute_features_csv",
    "compute_features_of_bars",
    "format_interval",
    "parse_interval",
    "parse_timestamp",
]

BAR_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
SOURCE = "file"
"""``source`` of the bars read from a file."""

_UNITS_NS = {"d": 86_400_000_000_000, "h": 3_600_000_000_000, "m": 60_000_000_000}
_UNITS_NS |= {"s": 1_000_000_000, "ms": 1_000_000}
_INTERVAL_RE = re.compile(r"^([1-9][0-9]*)(ms|s|m|h|d)$")
_INTEGER_RE = re.compile(r"^[0-9]+$")
_INSTRUMENT_ID: TypeAdapter[str] = TypeAdapter(InstrumentId)
_FIELD_COLUMNS = {"start_time": "timestamp", "event_time": "timestamp"}


class BarCsvReason(StrEnum):
    """Why a bar file, or a request to compute features from it, was refused."""

    NO_HEADER = "NO_HEADER"
    MISSING_COLUMN = "MISSING_COLUMN"
    DUPLICATE_COLUMN = "DUPLICATE_COLUMN"
    COLUMN_CLASH = "COLUMN_CLASH"
    ROW_LENGTH = "ROW_LENGTH"
    BAD_TIMESTAMP = "BAD_TIMESTAMP"
    BAD_VALUE = "BAD_VALUE"
    BAD_BAR = "BAD_BAR"
    NOT_INCREASING = "NOT_INCREASING"
    BAD_INTERVAL = "BAD_INTERVAL"
    TOO_FEW_ROWS = "TOO_FEW_ROWS"
    BAD_INSTRUMENT = "BAD_INSTRUMENT"
    NOT_A_BAR_FEATURE = "NOT_A_BAR_FEATURE"


class BarCsvError(JulesError, ValueError):
    """A bar file or compute request that cannot be processed.

    Attributes:
        reason: What went wrong, as a reason code.
        line: The file line concerned (1 is the header), if any.
        column: The column concerned, if any.
    """

    def __init__(
        self,
        reason: BarCsvReason,
        message: str,
        *,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        where = " ".join(
            part
            for part in (
                f"line {line}" if line is not None else "",
                f"column {column!r}" if column is not None else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.reason = reason
        self.line = line
        self.column = column


@dataclass(frozen=True)
class ComputeSummary:
    """What ``compute_features_csv`` wrote.

    Attributes:
        rows: Bars read and rows written.
        interval: The bar interval used (``1m``).
        features: Feature columns added, in order.
        schema_id: The feature schema's id.
    """

    rows: int
    interval: str
    features: tuple[str, ...]
    schema_id: str


def parse_interval(text: str) -> int:
    """Parse a bar interval (``250ms``, ``1s``, ``5m``, ``1h``, ``1d``) into nanoseconds.

    Raises:
        BarCsvError: ``BAD_INTERVAL`` if the text is not such an interval.
    """
    match = _INTERVAL_RE.match(text.strip())
    if match is None:
        raise BarCsvError(
            BarCsvReason.BAD_INTERVAL,
            f"interval {text!r} is not a positive number followed by ms, s, m, h or d "
            "(for example 1m)",
        )
    return int(match[1]) * _UNITS_NS[match[2]]


def format_interval(nanos: int) -> str:
    """Write an interval in the largest unit that divides it exactly (60e9 ns -> ``1m``).

    Raises:
        BarCsvError: ``BAD_INTERVAL`` if it is not a positive whole number of milliseconds.
    """
    for unit, size in _UNITS_NS.items():
        if nanos > 0 and nanos % size == 0:
            return f"{nanos // size}{unit}"
    raise BarCsvError(
        BarCsvReason.BAD_INTERVAL,
        f"bar spacing of {nanos} ns is not a whole number of milliseconds; give --interval",
    )


def parse_timestamp(text: str) -> int:
    """Parse a bar timestamp: ISO-8601 with an offset, or an integer epoch (unit by size).

    Raises:
        ValueError: The text is neither (the message says what is expected).
    """
    value = text.strip()
    if _INTEGER_RE.match(value):
        number = int(value)
        scale = next(
            factor
            for limit, factor in ((10**11, 10**9), (10**14, 10**6), (10**17, 10**3), (None, 1))
            if limit is None or number < limit
        )
        return parse_utc_nanos(number * scale)
    return parse_utc_nanos(value)


@dataclass(frozen=True)
class _Row:
    line: int
    cells: list[str]
    start: int


class _BarFile:
    """Reads the rows of a bar CSV, checking header, row lengths and timestamps."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
        if not header or not any(cell.strip() for cell in header):
            raise BarCsvError(BarCsvReason.NO_HEADER, f"{path} has no header row", line=1)
        self.header = header
        names = [cell.strip().lower() for cell in header]
        for name in names:
            if name in BAR_COLUMNS and names.count(name) > 1:
                raise BarCsvError(
                    BarCsvReason.DUPLICATE_COLUMN,
                    "appears twice in the header",
                    line=1,
                    column=name,
                )
        missing = [column for column in BAR_COLUMNS if column not in names]
        if missing:
            raise BarCsvError(
                BarCsvReason.MISSING_COLUMN,
                f"the header lacks {', '.join(missing)} "
                f"(expected {','.join(BAR_COLUMNS)}; found {','.join(header)})",
                line=1,
            )
        self.index = {column: names.index(column) for column in BAR_COLUMNS}
        self.columns = set(names)

    def rows(self) -> Iterator[_Row]:
        """Yield the data rows with their line number and bar start, in increasing time."""
        previous: int | None = None
        with self.path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            next(reader)
            for cells in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(self.header):
                    raise BarCsvError(
                        BarCsvReason.ROW_LENGTH,
                        f"{len(cells)} values for {len(self.header)} columns",
                        line=line,
                    )
                start = self._timestamp(cells, line)
                if previous is not None and start <= previous:
                    raise BarCsvError(
                        BarCsvReason.NOT_INCREASING,
                        f"{cells[self.index['timestamp']]!r} is not after the previous row's "
                        "timestamp: rows must be in strictly increasing time",
                        line=line,
                        column="timestamp",
                    )
                previous = start
                yield _Row(line, cells, start)

    def _timestamp(self, cells: list[str], line: int) -> int:
        text = cells[self.index["timestamp"]]
        try:
            return parse_timestamp(text)
        except ValueError as exc:
            raise BarCsvError(
                BarCsvReason.BAD_TIMESTAMP,
                f"{text!r} is not a timestamp: {exc} "
                "(give ISO-8601 with an offset, or integer epoch seconds/ms/us/ns; times in UTC "
                "without an offset: --assume-utc)",
                line=line,
                column="timestamp",
            ) from exc

    def infer_interval(self) -> int:
        """The smallest spacing between consecutive bars, in nanoseconds."""
        smallest: int | None = None
        previous: int | None = None
        for row in self.rows():
            if previous is not None:
                spacing = row.start - previous
                smallest = spacing if smallest is None else min(smallest, spacing)
            previous = row.start
        if smallest is None:
            raise BarCsvError(
                BarCsvReason.TOO_FEW_ROWS,
                f"{self.path} has fewer than two bars, so the interval cannot be inferred; "
                "give --interval",
            )
        return smallest

    def bar(self, row: _Row, instrument_id: str, interval: str, interval_ns: int) -> Bar:
        """Build the bar of a row, naming the column of any invalid value."""
        values: dict[str, float] = {}
        for column in BAR_COLUMNS[1:]:
            text = row.cells[self.index[column]].strip()
            try:
                values[column] = float(text)
            except ValueError as exc:
                raise BarCsvError(
                    BarCsvReason.BAD_VALUE,
                    f"{text!r} is not a number",
                    line=row.line,
                    column=column,
                ) from exc
        try:
            return Bar.model_validate(
                {
                    "event_id": derive_event_id("md.bar", instrument_id, interval, row.start),
                    "source": SOURCE,
                    "event_time": row.start + interval_ns,
                    "start_time": row.start,
                    "instrument_id": instrument_id,
                    "interval": interval,
                    **values,
                }
            )
        except ValidationError as exc:
            error = exc.errors()[0]
            field = str(error["loc"][0]) if error["loc"] else ""
            named = _FIELD_COLUMNS.get(field, field)
            bad = named if named in self.index else None
            value = f" (value {row.cells[self.index[bad]].strip()!r})" if bad else ""
            raise BarCsvError(
                BarCsvReason.BAD_BAR, f"{error['msg']}{value}", line=row.line, column=bad
            ) from exc


def compute_features_csv(
    input_path: Path,
    output_path: Path,
    schema: FeatureSchema,
    *,
    instrument_id: str,
    interval: str | None = None,
    config: FeatureEngineConfig | None = None,
    overwrite: bool = False,
) -> ComputeSummary:
    """Compute bar features over a bar CSV and write the input plus feature columns.

    Args:
        input_path: The bar CSV.
        output_path: Where to write the result (moved into place only once complete).
        schema: The features to add; all must be computed from bars.
        instrument_id: The instrument the bars are of (``SYMBOL.VENUE``).
        interval: The bar interval (``1m``); inferred from the bar spacing if omitted.
        config: Engine configuration (session start).
        overwrite: Replace ``output_path`` if it exists.

    Returns:
        What was written.

    Raises:
        BarCsvError: The file or request is invalid (the message names the line, column or
            feature).
        jules_runtime.output_paths.OutputRefusedError: ``output_path`` exists (without
            ``overwrite``) or is a folder; nothing was read or written.
        OSError: The input cannot be read or the output written.
    """
    check_output_file(output_path, overwrite=overwrite)
    _check_bar_features(schema)
    try:
        _INSTRUMENT_ID.validate_python(instrument_id)
    except ValidationError as exc:
        raise BarCsvError(
            BarCsvReason.BAD_INSTRUMENT,
            f"instrument id {instrument_id!r} is not SYMBOL.VENUE (for example BTCUSD.COINBASE)",
        ) from exc
    bars = _BarFile(input_path)
    clash = [name for name in schema.names if name in bars.columns]
    if clash:
        raise BarCsvError(
            BarCsvReason.COLUMN_CLASH,
            f"the input already has column(s) {', '.join(clash)}; the output would repeat them",
            line=1,
        )
    interval_ns = parse_interval(interval) if interval else bars.infer_interval()
    label = format_interval(interval_ns)
    engine = FeatureEngine(schema, config)
    rows = 0
    with (
        output_file(output_path, overwrite=overwrite) as temporary,
        temporary.open("w", newline="", encoding="utf-8") as handle,
    ):
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*bars.header, *schema.names])
        previous: int | None = None
        for row in bars.rows():
            if previous is not None and row.start - previous < interval_ns:
                raise BarCsvError(
                    BarCsvReason.BAD_INTERVAL,
                    f"bar starts {(row.start - previous) / 1e9:g} s after the previous "
                    f"one, less than the interval {label}: bars would overlap",
                    line=row.line,
                    column="timestamp",
                )
            previous = row.start
            vector = engine.on_bar(bars.bar(row, instrument_id, label, interval_ns))
            writer.writerow(
                [*row.cells, *("" if v is None else repr(v) for v in vector.features.values())]
            )
            rows += 1
    return ComputeSummary(rows, label, schema.names, schema.schema_id)


def compute_features_of_bars(
    bars: Iterable[Bar],
    output_path: Path,
    schema: FeatureSchema,
    *,
    config: FeatureEngineConfig | None = None,
    overwrite: bool = False,
) -> ComputeSummary:
    """Compute bar features over bars read by any loader (a Lean zip, a gzip'd table ...).

    Writes ``timestamp,open,high,low,close,volume`` (``timestamp``: the bar's start, ISO-8601
    UTC) and one column per feature, as ``compute_features_csv`` does for a bar CSV.

    Raises:
        BarCsvError: A feature needs more than bars.
        jules_runtime.output_paths.OutputRefusedError: ``output_path`` exists (without
            ``overwrite``) or is a folder; nothing was read or written.
        jules_features.engine.FeatureError: The bars are not in time order.
    """
    check_output_file(output_path, overwrite=overwrite)
    _check_bar_features(schema)
    engine = FeatureEngine(schema, config)
    rows, interval = 0, ""
    with (
        output_file(output_path, overwrite=overwrite) as temporary,
        temporary.open("w", newline="", encoding="utf-8") as handle,
    ):
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*BAR_COLUMNS, *schema.names])
        for bar in bars:
            values = engine.on_bar(bar).features.values()
            prices = (bar.open, bar.high, bar.low, bar.close, bar.volume)
            writer.writerow(
                [
                    format_utc_nanos(bar.start_time),
                    *map(repr, prices),
                    *("" if v is None else repr(v) for v in values),
                ]
            )
            rows, interval = rows + 1, bar.interval
    return ComputeSummary(rows, interval, schema.names, schema.schema_id)


def _check_bar_features(schema: FeatureSchema) -> None:
    not_bars = [spec.name for spec in schema if spec.source is not FeatureSource.BAR]
    if not_bars:
        raise BarCsvError(
            BarCsvReason.NOT_A_BAR_FEATURE,
            f"feature(s) {', '.join(not_bars)} need quotes or order-book data; "
            "a bar file gives bar features only",
        )
