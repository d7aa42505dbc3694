"""Tables with a header row: CSV (plain or ``.gz``) and Parquet files of bars, quotes or trades.

Columns are found by name (the first of the aliases present, case-insensitive):

* time: ``timestamp``, ``timestamp_utc``, ``ts_event``, ``time``, ``datetime``, ``date``;
* bars: ``open``, ``high``, ``low``, ``close``, optional ``volume`` (0 when absent);
* quotes: ``bid``/``bid_price``, ``ask``/``ask_price``, optional ``bid_size``/``bid_amount``/
  ``bid_qty`` and ``ask_size``/``ask_amount``/``ask_qty``;
* trades: ``price``, ``quantity``/``size``/``amount``/``qty``, optional ``trade_id``/``id``,
  optional aggressor as ``side``/``aggressor_side`` (buy/sell) or ``buyer_maker``/
  ``is_buyer_maker`` (true: the seller was the aggressor).

Times: ISO-8601 with a UTC offset (``2012-02-01 00:00:00+00:00``), or epoch numbers (unit by
magnitude unless ``epoch_unit``: seconds below 1e11, milliseconds below 1e14, microseconds below
1e17, else nanoseconds), or Parquet timestamps (a Parquet timestamp without a time zone counts
as naive). Naive ISO times are refused (``BAD_TIMESTAMP``) unless ``assume_utc`` (a data
source's ``assume_utc: true``).

A plain bar file is stamped at the bar **start** by default (``label="start"``); pass
``label="end"`` for files stamped at the bar end. Locations are ``<file>:<line>`` for CSV
(the header is line 1) and ``<file>:row <n>`` for Parquet.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from jules_contracts import AggressorSide, Bar, PriceType, Quote, Trade, derive_event_id

from jules_market_data.engine.rejections import RejectReason
from jules_market_data.engine.units import interval_ns
from jules_market_data.loaders._common import (
    EPOCH_UNIT_NS,
    LoadedItem,
    LoaderError,
    RowError,
    RowSink,
    check_file,
    check_instrument_id,
    open_text,
    parse_float,
    parse_time,
)
from jules_market_data.loaders.window import Skip, Window, rows_outside

__all__ = [
    "TIME_COLUMNS",
    "Table",
    "load_bar_table",
    "load_quote_table",
    "load_trade_table",
    "read_table",
]

TIME_COLUMNS = ("timestamp", "timestamp_utc", "ts_event", "time", "datetime", "date")
Label = Literal["start", "end"]


Row = dict[str, Any] | RowError
"""A table row by column name, or the error that makes it unreadable (wrong column count)."""


@dataclass
class Table:
    """A table's column names and its rows (``(position, row)``, read lazily)."""

    columns: list[str]
    rows: Iterator[tuple[str, Row]]

    def column(self, *aliases: str, required: bool = True, path: Path | None = None) -> str | None:
        """The first column named like one of ``aliases`` (case-insensitive)."""
        by_lower = {name.lower(): name for name in self.columns}
        for alias in aliases:
            if alias in by_lower:
                return by_lower[alias]
        if required:
            raise LoaderError(
                f"{path}: no column named {' or '.join(aliases)} (columns: {self.columns})"
            )
        return None


def read_table(path: Path, skip: Skip | None = None) -> Table:
    """Open a CSV (``.csv``, ``.csv.gz``, ``.txt``) or Parquet table.

    Args:
        path: The file.
        skip: CSV only: the rows passed over unread (``jules_market_data.loaders.window``).
    """
    check_file(path)
    if path.suffix == ".parquet":
        return _parquet(path)
    with open_text(path) as handle:
        header = next(csv.reader(handle), [])
    if not header:
        raise LoaderError(f"{path}: empty file, expected a header row")
    return Table([name.strip() for name in header], _csv_rows(path, skip))


def _csv_rows(path: Path, skip: Skip | None = None) -> Iterator[tuple[str, Row]]:
    with open_text(path) as handle:
        if skip is not None and skip.lines is not None:
            yield from _csv_line_ranges(handle, skip.lines)
            return
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader)]
        index, skipped = -1, frozenset[str]()
        if skip is not None and skip.texts and skip.column in header:
            index, skipped = header.index(skip.column), skip.texts
        for cells in reader:
            if index >= 0 and len(cells) == len(header) and cells[index] in skipped:
                continue
            row = _csv_row(header, cells)
            if row is not None:
                yield str(reader.line_num), row


def _csv_line_ranges(
    handle: IO[str], ranges: tuple[tuple[int, int], ...]
) -> Iterator[tuple[str, Row]]:
    """The rows of the line ranges only (one row per line); other lines are not parsed."""
    header = [name.strip() for name in next(csv.reader([next(handle)]))]
    line = 1  # lines consumed so far
    for first, last in ranges:
        lines = itertools.islice(handle, first - line - 1, None)  # pass over unparsed
        for number, cells in enumerate(
            csv.reader(itertools.islice(lines, last - first + 1)), first
        ):
            row = _csv_row(header, cells)
            if row is not None:
                yield str(number), row
        line = last


def _csv_row(header: list[str], cells: list[str]) -> Row | None:
    """A row by column name, its error, or ``None`` for a blank line."""
    if not any(cell.strip() for cell in cells):
        return None
    if len(cells) != len(header):
        detail = f"expected {len(header)} columns, got {len(cells)}: {cells[:6]}"
        return RowError(RejectReason.MALFORMED, detail)
    return dict(zip(header, cells, strict=True))


def _parquet(path: Path) -> Table:
    import pyarrow.parquet as pq  # imported on first use: it takes a while

    names = list(pq.read_schema(path).names)

    def rows() -> Iterator[tuple[str, Row]]:
        with pq.ParquetFile(path) as parquet:
            yield from _parquet_rows(parquet)

    return Table(names, rows())


def _parquet_rows(parquet: Any) -> Iterator[tuple[str, Row]]:
    import pyarrow as pa

    number = 0
    for batch in parquet.iter_batches(batch_size=65_536):
        columns = {}
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            if pa.types.is_timestamp(column.type):
                # Exact integer nanoseconds; a zone-less timestamp is marked naive.
                nanos = column.cast(pa.timestamp("ns", column.type.tz)).cast(pa.int64())
                values = nanos.to_pylist()
                if column.type.tz is None:
                    values = [None if v is None else _NaiveNanos(v) for v in values]
                columns[name] = values
            else:
                columns[name] = column.to_pylist()
        for index in range(batch.num_rows):
            number += 1
            yield f"row {number}", {name: values[index] for name, values in columns.items()}


class _NaiveNanos(int):
    """Nanoseconds of a Parquet timestamp without a time zone (naive: UTC only if told)."""


def _check_epoch_unit(epoch_unit: str | None) -> None:
    if epoch_unit is not None and epoch_unit not in EPOCH_UNIT_NS:
        raise LoaderError(f"epoch_unit {epoch_unit!r}: use one of {sorted(EPOCH_UNIT_NS)}")


def _time(row: dict[str, Any], column: str, assume_utc: bool, epoch_unit: str | None) -> int:
    value = row[column]
    if isinstance(value, _NaiveNanos):
        if not assume_utc:
            raise RowError(
                RejectReason.BAD_TIMESTAMP,
                f"{column}: Parquet timestamp without a time zone: if it is UTC, set assume_utc:"
                " true on its data source",
            )
        return int(value)
    if value is None or value == "":
        raise RowError(RejectReason.BAD_TIMESTAMP, f"{column}: empty")
    return parse_time(value, column, assume_utc=assume_utc, epoch_unit=epoch_unit)


def _readable(row: Row) -> dict[str, Any]:
    if isinstance(row, RowError):
        raise row
    return row


def _floats(row: dict[str, Any], columns: Sequence[tuple[str, str | None]]) -> dict[str, float]:
    out = {}
    for field, column in columns:
        if column is None:
            continue
        value = row[column]
        if value is None or value == "":
            raise RowError(RejectReason.MALFORMED, f"{column}: empty")
        out[field] = parse_float(value, column)
    return out


def load_bar_table(
    path: Path,
    *,
    instrument_id: str,
    interval: str,
    price_type: PriceType | str = PriceType.TRADE,
    label: Label = "start",
    assume_utc: bool = False,
    epoch_unit: str | None = None,
    window: Window | None = None,
) -> Iterator[LoadedItem]:
    """Bars of a CSV/Parquet file ``timestamp,open,high,low,close[,volume]``.

    Args:
        path: The file.
        instrument_id: ``SYMBOL.VENUE`` of every bar.
        interval: Bar length (``1m``).
        price_type: What the prices are (``TRADE`` by default; ``BID``/``ASK``/``MID`` files).
        label: Whether the timestamp is the bar ``start`` (default) or its ``end``.
        assume_utc: Read naive timestamps as UTC.
        epoch_unit: Unit of epoch-number timestamps (default: by magnitude).
        window: CSV only: bar end times ``[start, end)`` the caller keeps; rows far outside
            it are not read (``jules_market_data.loaders.window``). The caller still applies
            the exact window to the bars.
    """
    check_instrument_id(instrument_id)
    length = interval_ns(interval)
    kind = PriceType(price_type)
    if label not in ("start", "end"):
        raise LoaderError(f"label {label!r}: use 'start' or 'end'")
    _check_epoch_unit(epoch_unit)
    table = read_table(path)
    time_column = table.column(*TIME_COLUMNS, path=path)
    shift = 0 if label == "start" else length
    if window is not None and path.suffix != ".parquet" and time_column is not None:
        skip = rows_outside(
            path, time_column, window, offset_ns=length - shift, epoch_unit=epoch_unit
        )
        table = read_table(path, skip=skip)
    names = ("open", "high", "low", "close")
    columns = [(name, table.column(name, path=path)) for name in names]
    columns.append(("volume", table.column("volume", required=False)))
    sink = RowSink("bars", path, instrument_id)

    def bars() -> Iterator[LoadedItem]:
        for position, row in table.rows:
            try:
                row = _readable(row)
                start = _time(row, str(time_column), assume_utc, epoch_unit) - shift
                values = _floats(row, columns)
            except RowError as error:
                yield sink.from_error(position, error)
                continue
            fields: dict[str, Any] = {
                "event_id": derive_event_id("md.bar", instrument_id, interval, kind.value, start),
                "event_time": start + length,
                "start_time": start,
                "interval": interval,
                "price_type": kind,
            }
            yield sink.build(Bar, position, fields | values)

    return bars()


def load_quote_table(
    path: Path,
    *,
    instrument_id: str,
    assume_utc: bool = False,
    epoch_unit: str | None = None,
) -> Iterator[LoadedItem]:
    """Quotes of a CSV/Parquet file with time, bid and ask columns (sizes optional)."""
    check_instrument_id(instrument_id)
    _check_epoch_unit(epoch_unit)
    table = read_table(path)
    time_column = str(table.column(*TIME_COLUMNS, path=path))
    columns = [
        ("bid_price", table.column("bid", "bid_price", path=path)),
        ("ask_price", table.column("ask", "ask_price", path=path)),
        ("bid_size", table.column("bid_size", "bid_amount", "bid_qty", required=False)),
        ("ask_size", table.column("ask_size", "ask_amount", "ask_qty", required=False)),
    ]
    sink = RowSink("quotes", path, instrument_id)

    def quotes() -> Iterator[LoadedItem]:
        for position, row in table.rows:
            try:
                row = _readable(row)
                time = _time(row, time_column, assume_utc, epoch_unit)
                values = _floats(row, columns)
            except RowError as error:
                yield sink.from_error(position, error)
                continue
            fields = {"event_id": sink.position_id("quote", position), "event_time": time}
            yield sink.build(Quote, position, fields | values)

    return quotes()


def load_trade_table(
    path: Path,
    *,
    instrument_id: str,
    assume_utc: bool = False,
    epoch_unit: str | None = None,
) -> Iterator[LoadedItem]:
    """Trades of a CSV/Parquet file with time, price and size columns.

    Trades with a venue trade id get an id derived from it; others from file name and line.
    """
    check_instrument_id(instrument_id)
    _check_epoch_unit(epoch_unit)
    table = read_table(path)
    time_column = str(table.column(*TIME_COLUMNS, path=path))
    columns = [
        ("price", table.column("price", path=path)),
        ("size", table.column("quantity", "size", "amount", "qty", path=path)),
    ]
    id_column = table.column("trade_id", "id", required=False)
    side_column = table.column("side", "aggressor_side", required=False)
    maker_column = table.column("buyer_maker", "is_buyer_maker", required=False)
    sink = RowSink("trades", path, instrument_id)

    def trades() -> Iterator[LoadedItem]:
        for position, row in table.rows:
            try:
                row = _readable(row)
                time = _time(row, time_column, assume_utc, epoch_unit)
                values: dict[str, Any] = _floats(row, columns)
                values["aggressor_side"] = _aggressor(row, side_column, maker_column)
            except RowError as error:
                yield sink.from_error(position, error)
                continue
            trade_id = None if id_column is None else row[id_column]
            if trade_id is None or trade_id == "":
                event_id = sink.position_id("trade", position)
            else:
                trade_id = str(trade_id)
                event_id = derive_event_id("md.trade", instrument_id, "trade_id", trade_id)
            fields = {"event_id": event_id, "event_time": time, "trade_id": trade_id}
            yield sink.build(Trade, position, fields | values)

    return trades()


_SIDES = {
    "buy": AggressorSide.BUYER,
    "b": AggressorSide.BUYER,
    "buyer": AggressorSide.BUYER,
    "sell": AggressorSide.SELLER,
    "s": AggressorSide.SELLER,
    "seller": AggressorSide.SELLER,
    "": AggressorSide.NONE,
    "unknown": AggressorSide.NONE,
    "none": AggressorSide.NONE,
}
_BOOLS = {"true": True, "1": True, "false": False, "0": False}


def _aggressor(row: dict[str, Any], side: str | None, maker: str | None) -> AggressorSide:
    if side is not None:
        text = str(row[side] or "").strip().lower()
        if text not in _SIDES:
            raise RowError(RejectReason.MALFORMED, f"{side}: {row[side]!r} is not buy or sell")
        return _SIDES[text]
    if maker is not None:
        value = row[maker]
        flag = value if isinstance(value, bool) else _BOOLS.get(str(value).strip().lower())
        if flag is None:
            raise RowError(RejectReason.MALFORMED, f"{maker}: {value!r} is not true or false")
        return AggressorSide.SELLER if flag else AggressorSide.BUYER
    return AggressorSide.NONE
