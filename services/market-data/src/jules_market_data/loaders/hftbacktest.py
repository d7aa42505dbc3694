"""hftbacktest's recorded Binance feed: one ``<local receive time ns> <JSON>`` message a line.

Messages (Binance combined streams, ``{"stream": "...", "data": {...}}``):

* ``<symbol>@trade`` -> ``Trade`` (``p`` price, ``q`` size, ``t`` trade id; ``m`` = buyer is
  the maker, so the seller was the aggressor);
* ``<symbol>@bookTicker`` -> ``Quote`` (``b``/``B`` bid price/size, ``a``/``A`` ask);
* ``<symbol>@depth...`` (``depthUpdate``) -> ``BookDelta``: bid changes then ask changes in
  message order (size 0 removes a level); ``sequence`` = ``u``; ``first_sequence`` = ``U``
  for spot and ``pu + 1`` for USD-M futures (which have ``pu``; see ``engine.book``);
* a REST depth snapshot ``{"lastUpdateId": ..., "bids": [...], "asks": [...]}`` ->
  ``BookSnapshot`` with ``sequence`` = ``lastUpdateId``.

``event_time`` is the **local receive time** (the first column) for every message: it is the
only clock all message kinds carry (spot ``bookTicker`` has no exchange time) and the order of
the file. In the sample files the collector's clock runs about 1.27 s behind Binance's event
times ``E``, so exchange and local times must not be mixed. Trade ids derive from Binance's
trade id; the other ids from the file name and line.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from jules_contracts import (
    AggressorSide,
    BookDelta,
    BookSide,
    BookSnapshot,
    Quote,
    Trade,
    derive_event_id,
)

from jules_market_data.engine.rejections import RejectReason
from jules_market_data.loaders._common import (
    LoadedItem,
    RowError,
    RowSink,
    check_file,
    check_instrument_id,
    open_text,
    parse_float,
    parse_int,
)
from jules_market_data.loaders.books import sorted_levels

__all__ = ["MESSAGE_KINDS", "load_hftbacktest"]

FORMAT = "hftbacktest"


MESSAGE_KINDS: dict[str, tuple[str, ...]] = {
    "trade": ('@trade"',),
    "quote": ('@bookTicker"',),
    "book": ("@depth", '"lastUpdateId"'),
}
"""The kinds of message a reader can ask for, and the text that marks each on its line."""


def load_hftbacktest(
    path: Path, *, instrument_id: str, kinds: Collection[str] | None = None
) -> Iterator[LoadedItem]:
    """Events of an hftbacktest Binance feed file (``.gz`` or plain text), in file order.

    Args:
        path: The file.
        instrument_id: ``SYMBOL.VENUE`` of every event (the file holds one symbol).
        kinds: Read only these kinds of message (``trade``, ``quote``, ``book``: the snapshot
            and the depth updates); a line marked as another kind is skipped unparsed, and
            costs almost nothing. ``None``: every message.

    Raises:
        ValueError: ``kinds`` names an unknown kind.
    """
    check_instrument_id(instrument_id)
    check_file(path)
    unknown = sorted(set(kinds or ()) - MESSAGE_KINDS.keys())
    if unknown:
        raise ValueError(f"unknown message kinds {unknown}: use {sorted(MESSAGE_KINDS)}")
    skipped = tuple(
        mark
        for kind, marks in MESSAGE_KINDS.items()
        if kinds is not None and kind not in kinds
        for mark in marks
    )
    return _messages(path, RowSink(FORMAT, path, instrument_id), skipped)


def _messages(path: Path, sink: RowSink, skipped: tuple[str, ...]) -> Iterator[LoadedItem]:
    with open_text(path) as handle:
        for line, text in enumerate(handle, start=1):
            text = text.strip()
            if not text or any(mark in text for mark in skipped):
                continue
            time: int | None = None
            try:
                stamp, _, body = text.partition(" ")
                time = parse_int(stamp, "local time")
                message = json.loads(body)
                if not isinstance(message, dict):
                    raise RowError(RejectReason.MALFORMED, "the message is not a JSON object")
                yield _event(sink, line, time, message)
            except json.JSONDecodeError as exc:
                yield sink.reject(line, RejectReason.MALFORMED, f"bad JSON: {exc}", time)
            except RowError as error:
                error.event_time = error.event_time if error.event_time is not None else time
                yield sink.from_error(line, error)
            except (KeyError, TypeError, ValueError) as exc:
                detail = f"missing or bad field: {exc!r}"
                yield sink.reject(line, RejectReason.MALFORMED, detail, time)


def _event(sink: RowSink, line: int, time: int, message: dict[str, Any]) -> LoadedItem:
    if "lastUpdateId" in message:
        return sink.build(
            BookSnapshot,
            line,
            {
                "event_id": sink.position_id("book", line),
                "event_time": time,
                "bids": sorted_levels(message["bids"], BookSide.BID),
                "asks": sorted_levels(message["asks"], BookSide.ASK),
                "sequence": message["lastUpdateId"],
            },
        )
    stream = str(message.get("stream", ""))
    data = message.get("data")
    if not isinstance(data, dict):
        raise RowError(RejectReason.MALFORMED, "no 'data' object in the message")
    kind = stream.partition("@")[2]
    if kind == "trade":
        return _trade(sink, line, time, data)
    if kind == "bookTicker":
        fields = {
            "event_id": sink.position_id("quote", line),
            "event_time": time,
            "bid_price": parse_float(data["b"], "b"),
            "bid_size": parse_float(data["B"], "B"),
            "ask_price": parse_float(data["a"], "a"),
            "ask_size": parse_float(data["A"], "A"),
        }
        return sink.build(Quote, line, fields)
    if kind.startswith("depth"):
        return _depth(sink, line, time, data)
    raise RowError(RejectReason.UNKNOWN_MESSAGE, f"unknown stream {stream!r}")


def _trade(sink: RowSink, line: int, time: int, data: dict[str, Any]) -> LoadedItem:
    trade_id = str(data["t"])
    maker = data.get("m")
    side = (
        AggressorSide.NONE
        if maker is None
        else (AggressorSide.SELLER if maker else AggressorSide.BUYER)
    )
    fields = {
        "event_id": derive_event_id("md.trade", sink.instrument_id, "trade_id", trade_id),
        "event_time": time,
        "price": parse_float(data["p"], "p"),
        "size": parse_float(data["q"], "q"),
        "aggressor_side": side,
        "trade_id": trade_id,
    }
    return sink.build(Trade, line, fields)


def _depth(sink: RowSink, line: int, time: int, data: dict[str, Any]) -> LoadedItem:
    sides = ((BookSide.BID, data["b"]), (BookSide.ASK, data["a"]))
    try:  # the common case, without per-value error reporting
        changes = [
            {"side": side, "price": float(price), "size": float(size)}
            for side, levels in sides
            for price, size in levels
        ]
    except (TypeError, ValueError):
        changes = [
            {"side": side, "price": parse_float(price, "price"), "size": parse_float(size, "size")}
            for side, levels in sides
            for price, size in levels
        ]
    last = parse_int(data["u"], "u")
    first = parse_int(data["pu"], "pu") + 1 if "pu" in data else parse_int(data["U"], "U")
    fields = {
        "event_id": sink.position_id("book", line),
        "event_time": time,
        "changes": changes,
        "first_sequence": first,
        "sequence": last,
    }
    return sink.build(BookDelta, line, fields)
