"""Order-book files with one row per level: Binance depth CSV and Tardis book CSVs.

* Binance depth CSV (``symbol,timestamp,first_update_id,last_update_id,side,update_type,price,
  qty,pu``; timestamp in ms): consecutive rows with the same time, update ids and type form one
  event: ``snap`` rows a ``BookSnapshot`` (``sequence`` = ``last_update_id``), ``set`` rows a
  ``BookDelta`` (``sequence`` = ``last_update_id``, ``first_sequence`` = ``pu + 1`` when ``pu``
  is given (USD-M futures), else ``first_update_id``; see ``engine.book``).
* Tardis ``book_snapshot_N`` (``asks[i].price, asks[i].amount, bids[i].price, bids[i].amount``;
  empty cells mean fewer levels): one ``BookSnapshot`` per row.
* Tardis ``incremental_book_L2`` (``is_snapshot,side,price,amount``): consecutive rows with the
  same timestamps and ``is_snapshot`` form one event: a ``BookSnapshot`` (snapshot rows) or a
  ``BookDelta`` (amount 0 removes a level). Tardis books carry no update ids.

Tardis times are the exchange ``timestamp`` (microseconds, UTC). An event is located at its
first line; a bad row refuses its whole event (a book missing a level would be wrong).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path
from typing import Any

from jules_contracts import BookDelta, BookSide, BookSnapshot

from jules_market_data.engine.rejections import RejectReason
from jules_market_data.loaders._common import (
    LoadedItem,
    RowError,
    RowSink,
    check_instrument_id,
    parse_float,
    parse_int,
    parse_time,
)
from jules_market_data.loaders.tables import Row as TableRow
from jules_market_data.loaders.tables import read_table

__all__ = [
    "load_binance_depth_csv",
    "load_tardis_book_snapshots",
    "load_tardis_incremental_book",
    "sorted_levels",
]

_SIDES = {"b": BookSide.BID, "bid": BookSide.BID, "a": BookSide.ASK, "ask": BookSide.ASK}
_LEVEL_RE = re.compile(r"^(asks|bids)\[(\d+)\]\.(price|amount)$")

Row = tuple[str, dict[str, Any]]
"""A readable table row and its position."""


def sorted_levels(pairs: Iterable[Iterable[Any]], side: BookSide) -> list[dict[str, float]]:
    """Book levels from ``(price, size)`` pairs, best first (bids descending, asks ascending).

    The order of a source's rows says nothing the prices do not; equal prices stay and are
    refused by the contract (``UNSORTED_BOOK``).
    """
    levels = []
    for pair in pairs:
        price, size = pair
        levels.append({"price": parse_float(price, "price"), "size": parse_float(size, "size")})
    levels.sort(key=lambda level: level["price"], reverse=side is BookSide.BID)
    return levels


def _side(value: object) -> BookSide:
    side = _SIDES.get(str(value).strip().lower())
    if side is None:
        raise RowError(RejectReason.MALFORMED, f"side: {value!r} is not b/bid or a/ask")
    return side


def _grouped(
    rows: Iterator[tuple[str, TableRow]],
    sink: RowSink,
    key: Callable[[dict[str, Any]], Hashable],
) -> Iterator[list[Row] | LoadedItem]:
    """Consecutive rows with the same key, or a rejection for a row that cannot be read."""
    current: list[Row] = []
    current_key: Hashable = None
    for position, row in rows:
        try:
            if isinstance(row, RowError):
                raise row
            row_key = key(row)
        except (RowError, KeyError) as exc:
            if current:
                yield current
                current = []
            error = (
                exc
                if isinstance(exc, RowError)
                else RowError(RejectReason.MALFORMED, f"missing column {exc}")
            )
            yield sink.from_error(position, error)
            continue
        if current and row_key != current_key:
            yield current
            current = []
        current_key = row_key
        current.append((position, row))
    if current:
        yield current


def _span(group: list[Row]) -> str:
    return f"{group[0][0]}-{group[-1][0]}" if len(group) > 1 else group[0][0]


def load_binance_depth_csv(path: Path, *, instrument_id: str) -> Iterator[LoadedItem]:
    """Book snapshots and deltas of a Binance depth CSV (one row per level)."""
    check_instrument_id(instrument_id)
    table = read_table(path)
    sink = RowSink("binance_depth", path, instrument_id)

    def key(row: dict[str, Any]) -> Hashable:
        return (
            row["timestamp"],
            row["first_update_id"],
            row["last_update_id"],
            row["update_type"],
            row.get("pu"),
        )

    def events() -> Iterator[LoadedItem]:
        for group in _grouped(table.rows, sink, key):
            if not isinstance(group, list):
                yield group
                continue
            position, first_row = group[0]
            try:
                time = parse_time(first_row["timestamp"], "timestamp", epoch_unit="ms")
                last = parse_int(first_row["last_update_id"], "last_update_id")
                pu = parse_int(first_row.get("pu") or -1, "pu")
                first = pu + 1 if pu >= 0 else parse_int(first_row["first_update_id"], "U")
                levels = [(_side(row["side"]), row["price"], row["qty"]) for _, row in group]
                snapshot = str(first_row["update_type"]).strip().lower() == "snap"
                fields = _book_fields(sink, position, time, levels, snapshot)
            except RowError as error:
                error.detail += f" (refusing the event of lines {_span(group)})"
                yield sink.from_error(position, error)
                continue
            if snapshot:
                yield sink.build(BookSnapshot, position, fields | {"sequence": last})
            else:
                sequences = {"first_sequence": first, "sequence": last}
                yield sink.build(BookDelta, position, fields | sequences)

    return events()


def _book_fields(
    sink: RowSink,
    position: str,
    time: int,
    levels: list[tuple[BookSide, Any, Any]],
    snapshot: bool,
) -> dict[str, Any]:
    fields: dict[str, Any] = {"event_id": sink.position_id("book", position), "event_time": time}
    if snapshot:
        for side, name in ((BookSide.BID, "bids"), (BookSide.ASK, "asks")):
            pairs = [(price, size) for level_side, price, size in levels if level_side is side]
            fields[name] = sorted_levels(pairs, side)
    else:
        fields["changes"] = [
            {"side": side, "price": parse_float(price, "price"), "size": parse_float(size, "size")}
            for side, price, size in levels
        ]
    return fields


def load_tardis_book_snapshots(path: Path, *, instrument_id: str) -> Iterator[LoadedItem]:
    """One ``BookSnapshot`` per row of a Tardis ``book_snapshot_N`` CSV."""
    check_instrument_id(instrument_id)
    table = read_table(path)
    sink = RowSink("tardis_book_snapshot", path, instrument_id)
    slots: dict[tuple[str, int], dict[str, str]] = {}
    for name in table.columns:
        match = _LEVEL_RE.match(name)
        if match:
            slots.setdefault((match[1], int(match[2])), {})[match[3]] = name

    def snapshots() -> Iterator[LoadedItem]:
        for position, row in table.rows:
            try:
                if isinstance(row, RowError):
                    raise row
                time = parse_time(row["timestamp"], "timestamp", epoch_unit="us")
                fields: dict[str, Any] = {
                    "event_id": sink.position_id("book", position),
                    "event_time": time,
                }
                for side, name in ((BookSide.BID, "bids"), (BookSide.ASK, "asks")):
                    pairs = [
                        (row[columns["price"]], row[columns["amount"]])
                        for (slot_side, _), columns in sorted(slots.items())
                        if slot_side == name and row[columns["price"]] != ""
                    ]
                    fields[name] = sorted_levels(pairs, side)
            except RowError as error:
                yield sink.from_error(position, error)
                continue
            yield sink.build(BookSnapshot, position, fields)

    return snapshots()


def load_tardis_incremental_book(path: Path, *, instrument_id: str) -> Iterator[LoadedItem]:
    """Snapshots and deltas of a Tardis ``incremental_book_L2`` CSV."""
    check_instrument_id(instrument_id)
    table = read_table(path)
    sink = RowSink("tardis_incremental_book", path, instrument_id)

    def key(row: dict[str, Any]) -> Hashable:
        return (row["timestamp"], row["local_timestamp"], row["is_snapshot"])

    def events() -> Iterator[LoadedItem]:
        for group in _grouped(table.rows, sink, key):
            if not isinstance(group, list):
                yield group
                continue
            position, first_row = group[0]
            snapshot = str(first_row["is_snapshot"]).strip().lower() == "true"
            try:
                time = parse_time(first_row["timestamp"], "timestamp", epoch_unit="us")
                levels = [(_side(row["side"]), row["price"], row["amount"]) for _, row in group]
                fields = _book_fields(sink, position, time, levels, snapshot)
            except RowError as error:
                error.detail += f" (refusing the event of lines {_span(group)})"
                yield sink.from_error(position, error)
                continue
            if snapshot:
                yield sink.build(BookSnapshot, position, fields)
            else:
                yield sink.build(BookDelta, position, fields)

    return events()
