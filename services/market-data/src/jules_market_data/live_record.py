"""Record a live session as Parquet files that the loaders read back (an adapter: files).

``LiveRecorder`` keeps what the live mode published, per instrument and kind, and writes it in
the column layouts of the ``trades``, ``quotes`` and ``bars`` table formats of
``jules_market_data.loaders`` (so ``load`` and ``jules backtest`` replay a live session):

* ``<instrument>_trades_<n>.parquet``: ``timestamp`` (UTC ns), ``price``, ``size``,
  ``trade_id``, ``side`` (``buy``/``sell``/empty); a reloaded trade has the id it had live
  (both derive it from the venue's trade id);
* ``<instrument>_quotes_<n>.parquet``: ``timestamp``, ``bid_price``, ``ask_price``,
  ``bid_size``, ``ask_size``;
* ``<instrument>_<interval>_bars_<n>.parquet``: ``timestamp`` (bar start), ``open``, ``high``,
  ``low``, ``close``, ``volume``, ``trade_count``.

The instrument id leads the file name (``BTCUSDT.BINANCE_trades_0001.parquet``), which is how
the loaders tell it; the bar interval is in the name too. A file is written each time a
buffer holds ``rows`` rows, the rest on ``close``. Books are not recorded (no table format
reads whole books back).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from jules_contracts import AggressorSide, Bar, Event, Quote, Trade
from jules_runtime.logging import logger

__all__ = ["LiveRecorder"]

_SIDES = {AggressorSide.BUYER: "buy", AggressorSide.SELLER: "sell", AggressorSide.NONE: ""}


def _row(event: Event) -> tuple[str, dict[str, Any]] | None:
    """The file kind and the row of an event (``None``: not recorded)."""
    if isinstance(event, Trade):
        return "trades", {
            "timestamp": event.event_time,
            "price": event.price,
            "size": event.size,
            "trade_id": event.trade_id,
            "side": _SIDES[event.aggressor_side],
        }
    if isinstance(event, Quote):
        return "quotes", {
            "timestamp": event.event_time,
            "bid_price": event.bid_price,
            "ask_price": event.ask_price,
            "bid_size": event.bid_size,
            "ask_size": event.ask_size,
        }
    if isinstance(event, Bar):
        return f"{event.interval}_bars", {
            "timestamp": event.start_time,
            "open": event.open,
            "high": event.high,
            "low": event.low,
            "close": event.close,
            "volume": event.volume,
            "trade_count": event.trade_count,
        }
    return None


class LiveRecorder:
    """Buffers published events and writes them as loader-readable Parquet files.

    Args:
        directory: Where the files go (created if missing).
        rows: Rows per file.
    """

    def __init__(self, directory: Path, rows: int = 100_000) -> None:
        self.directory = directory
        self.rows = rows
        self.files: list[Path] = []
        self._buffers: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self._parts: dict[tuple[str, str], int] = defaultdict(int)

    def add(self, events: Iterable[Event]) -> None:
        """Keep the events (trades, quotes, bars); write the buffers that are full."""
        for event in events:
            row = _row(event)
            instrument = getattr(event, "instrument_id", None)
            if row is None or instrument is None:
                continue
            key = (str(instrument), row[0])
            buffer = self._buffers[key]
            buffer.append(row[1])
            if len(buffer) >= self.rows:
                self._write(key)

    def close(self) -> list[Path]:
        """Write every buffer left; the files written so far."""
        for key in sorted(self._buffers):
            self._write(key)
        return list(self.files)

    def _write(self, key: tuple[str, str]) -> None:
        rows = self._buffers.pop(key, [])
        if not rows:
            return
        self._parts[key] += 1
        instrument, kind = key
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{instrument}_{kind}_{self._parts[key]:04d}.parquet"
        pq.write_table(pa.Table.from_pylist(rows), path)
        self.files.append(path)
        logger.info("live events recorded", file=str(path), rows=len(rows))
