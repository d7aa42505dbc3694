"""Readers for the two sample files the smoke demo uses.

Minimal on purpose: the market-data service's loaders (all formats of the shared sample data,
with validation reason codes) replace them when the trading core lands.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jules_contracts import Bar, Event, Trade, derive_event_id
from pydantic import ValidationError

__all__ = ["RejectedRow", "read_bitstamp_trades", "read_lean_minute_trade_bars"]

_NS = 1_000_000_000
_MINUTE_NS = 60 * _NS


@dataclass(frozen=True)
class RejectedRow:
    """A row that does not make a valid event, with its file, line and reason."""

    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path.name}:{self.line}: {self.reason}"


def read_lean_minute_trade_bars(path: Path, instrument_id: str) -> Iterator[Bar | RejectedRow]:
    """Read a Lean minute trade-bar zip (``YYYYMMDD_trade.zip``: ms since midnight UTC, OHLCV).

    Yields each bar, or a ``RejectedRow`` for a row that fails validation.
    """
    day = datetime.strptime(path.name[:8], "%Y%m%d").replace(tzinfo=UTC)
    midnight_ns = int(day.timestamp()) * _NS
    with zipfile.ZipFile(path) as archive:
        [member] = archive.namelist()
        text = archive.read(member).decode()
    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row:
            continue
        try:
            start = midnight_ns + int(row[0]) * 1_000_000
            yield Bar(
                event_id=derive_event_id("md.bar", instrument_id, "1m", start),
                source="sample:lean",
                event_time=start + _MINUTE_NS,
                start_time=start,
                instrument_id=instrument_id,
                interval="1m",
                open=float(row[1]),
                high=float(row[2]),
                low=float(row[3]),
                close=float(row[4]),
                volume=float(row[5]),
            )
        except (ValueError, IndexError) as exc:
            yield RejectedRow(path, line, _reason(exc))


def read_bitstamp_trades(path: Path, instrument_id: str) -> Iterator[Trade | RejectedRow]:
    """Read a bitcoincharts trade CSV (``unix_seconds,price,amount``, no header).

    Trades sharing a second keep their file order; each gets a distinct id from its line.
    """
    with path.open(newline="") as handle:
        for line, row in enumerate(csv.reader(handle), start=1):
            try:
                yield Trade(
                    event_id=derive_event_id("md.trade", instrument_id, path.name, line),
                    source="sample:bitstamp",
                    event_time=int(row[0]) * _NS,
                    instrument_id=instrument_id,
                    price=float(row[1]),
                    size=float(row[2]),
                    trade_id=f"L{line}",
                )
            except (ValueError, IndexError) as exc:
                yield RejectedRow(path, line, _reason(exc))


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'row'}: {error['msg']} (got {error['input']!r})"
            for error in exc.errors(include_url=False)
        )
    return f"malformed row: {exc}"


def split(items: Iterator[Event | RejectedRow]) -> tuple[list[Event], list[RejectedRow]]:
    """Separate valid events from rejected rows."""
    events: list[Event] = []
    rejected: list[RejectedRow] = []
    for item in items:
        (rejected if isinstance(item, RejectedRow) else events).append(item)  # type: ignore[arg-type]
    return events, rejected
