"""bitcoincharts.com trade CSV: ``unix_seconds,price,amount``, no header, one trade a line.

Times have one-second resolution, so several trades share a time; they keep their file order
and get distinct ids from the file name and line. The feed has no trade id and no aggressor.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from jules_contracts import Trade

from jules_market_data.engine.rejections import RejectReason
from jules_market_data.loaders._common import (
    LoadedItem,
    RowError,
    RowSink,
    check_file,
    check_instrument_id,
    open_text,
    parse_float,
    parse_time,
)

__all__ = ["load_bitcoincharts_trades"]


def load_bitcoincharts_trades(path: Path, *, instrument_id: str) -> Iterator[LoadedItem]:
    """Trades of a bitcoincharts CSV (``.csv`` or ``.csv.gz``).

    Args:
        path: The file.
        instrument_id: ``SYMBOL.VENUE`` of every trade (``BTCUSD.BITSTAMP``).
    """
    check_instrument_id(instrument_id)
    check_file(path)
    return _trades(path, RowSink("bitcoincharts", path, instrument_id))


def _trades(path: Path, sink: RowSink) -> Iterator[LoadedItem]:
    with open_text(path) as handle:
        for line, text in enumerate(handle, start=1):
            text = text.strip()
            if not text:
                continue
            cells = text.split(",")
            try:
                if len(cells) != 3:
                    raise RowError(
                        RejectReason.MALFORMED,
                        f"expected 3 columns (unix_seconds,price,amount), got {len(cells)}",
                    )
                time = parse_time(cells[0], "unix_seconds", epoch_unit="s")
                fields = {
                    "event_id": sink.position_id("trade", line),
                    "event_time": time,
                    "price": parse_float(cells[1], "price"),
                    "size": parse_float(cells[2], "amount"),
                }
            except RowError as error:
                yield sink.from_error(line, error)
                continue
            yield sink.build(Trade, line, fields)
