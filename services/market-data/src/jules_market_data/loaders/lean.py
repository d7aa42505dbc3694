"""QuantConnect Lean zip files: crypto trade and quote bars, FX quote bars and quote ticks.

Each zip holds one headerless CSV. Column 1 is milliseconds since midnight of the date in the
zip name (``YYYYMMDD_trade.zip`` / ``YYYYMMDD_quote.zip``), in the data time zone of the
market: UTC for Coinbase and Oanda, **UTC-05:00 without daylight saving for FXCM** (Lean's
market-hours database, ``Forex-fxcm-[*]``). Bars are stamped at their start; a bar covers
``[start, start + interval)``, so the loaded ``Bar`` has ``start_time`` = the row time and
``event_time`` = start + interval. The folder above the symbol names the resolution
(``second``, ``minute``, ``hour``, ``tick``), the one above it the market.

Columns:

* trade bars: ``ms, open, high, low, close, volume`` (volume in base units);
* quote bars: ``ms, bid open, high, low, close, last bid size, ask open, high, low, close,
  last ask size``: two bars per row (``BID`` then ``ASK``), or one of ``BID``, ``ASK``, ``MID``
  (``price_type``); a ``MID`` bar's open/high/low/close are the means of the bid and ask ones
  (Lean's ``QuoteBar`` convention; the true mid high can be lower);
* quote ticks: ``ms, bid, ask`` (no sizes: they load as 0).

Bar ids derive from the instrument, interval, price type and start time; tick ids from the file
name and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from jules_contracts import Bar, PriceType, Quote, derive_event_id

from jules_market_data.engine.rejections import RejectReason
from jules_market_data.engine.units import interval_ns, mid_price
from jules_market_data.loaders._common import (
    LoadedItem,
    LoaderError,
    RowError,
    RowSink,
    check_file,
    check_instrument_id,
    open_text,
    parse_float,
    parse_int,
)

__all__ = [
    "DATA_UTC_OFFSETS",
    "LeanFile",
    "lean_file_info",
    "load_lean_quote_bars",
    "load_lean_quote_ticks",
    "load_lean_trade_bars",
]

DATA_UTC_OFFSETS: dict[str, timedelta] = {"fxcm": timedelta(hours=-5)}
"""Data time zones of Lean markets that are not UTC (fixed offsets, no daylight saving)."""

_RESOLUTIONS = {"second": "1s", "minute": "1m", "hour": "1h"}
_NAME_RE = re.compile(r"^(\d{8})_(trade|quote)\.zip$")
_MS = 1_000_000


@dataclass(frozen=True)
class LeanFile:
    """What a Lean zip's path says.

    Attributes:
        day: The date of the file (midnight in the data time zone is the time origin).
        kind: ``trade`` or ``quote``.
        resolution: ``tick``, ``second``, ``minute`` or ``hour`` (``None`` if not in the path).
        market: The market folder (``coinbase``, ``oanda``, ``fxcm``) or ``None``.
        symbol: The symbol folder (``btcusd``) or ``None``.
        security_type: ``crypto``, ``forex`` ... or ``None``.
    """

    day: date
    kind: str
    resolution: str | None
    market: str | None
    symbol: str | None
    security_type: str | None

    @property
    def interval(self) -> str | None:
        """The bar interval of the resolution (``None`` for ticks)."""
        return _RESOLUTIONS.get(self.resolution or "")

    @property
    def utc_offset(self) -> timedelta:
        """The data time zone's offset from UTC."""
        return DATA_UTC_OFFSETS.get(self.market or "", timedelta(0))


def lean_file_info(path: Path) -> LeanFile:
    """Read date, kind, resolution, market and symbol from a Lean data path.

    Raises:
        LoaderError: The file name is not ``YYYYMMDD_trade.zip`` or ``YYYYMMDD_quote.zip``.
    """
    match = _NAME_RE.match(path.name)
    if match is None:
        raise LoaderError(f"{path}: a Lean file is named YYYYMMDD_trade.zip or YYYYMMDD_quote.zip")
    try:
        day = datetime.strptime(match[1], "%Y%m%d").replace(tzinfo=UTC).date()
    except ValueError:
        raise LoaderError(f"{path}: {match[1]} is not a date") from None
    parts = path.parts
    resolution = parts[-3] if len(parts) >= 3 and parts[-3] in {*_RESOLUTIONS, "tick"} else None
    has_layout = resolution is not None and len(parts) >= 5
    return LeanFile(
        day=day,
        kind=match[2],
        resolution=resolution,
        market=parts[-4] if has_layout else None,
        symbol=parts[-2] if has_layout else None,
        security_type=parts[-5] if has_layout and len(parts) >= 5 else None,
    )


def load_lean_trade_bars(
    path: Path,
    *,
    instrument_id: str,
    interval: str | None = None,
    utc_offset: timedelta | None = None,
) -> Iterator[LoadedItem]:
    """Trade bars (``Bar``, price type ``TRADE``) of a Lean ``*_trade.zip``.

    Args:
        path: The zip.
        instrument_id: ``SYMBOL.VENUE`` of every bar.
        interval: Bar length; by default from the resolution folder (``minute`` -> ``1m``).
        utc_offset: Data time zone; by default the market's (UTC except FXCM).
    """
    sink, origin, bar_interval = _prepare(path, instrument_id, interval, utc_offset, "trade")
    return _trade_bars(path, sink, origin, bar_interval)


def load_lean_quote_bars(
    path: Path,
    *,
    instrument_id: str,
    interval: str | None = None,
    price_type: PriceType | str | None = None,
    utc_offset: timedelta | None = None,
) -> Iterator[LoadedItem]:
    """Quote bars of a Lean ``*_quote.zip`` (minute, second or hour resolution).

    Args:
        path: The zip.
        instrument_id: ``SYMBOL.VENUE`` of every bar.
        interval: Bar length; by default from the resolution folder.
        price_type: ``BID``, ``ASK`` or ``MID`` for one bar per row; ``None`` (default) for a
            ``BID`` and an ``ASK`` bar per row.
        utc_offset: Data time zone; by default the market's (UTC except FXCM).
    """
    chosen = _quote_price_types(price_type)
    sink, origin, bar_interval = _prepare(path, instrument_id, interval, utc_offset, "quote")
    return _quote_bars(path, sink, origin, bar_interval, chosen)


def load_lean_quote_ticks(
    path: Path, *, instrument_id: str, utc_offset: timedelta | None = None
) -> Iterator[LoadedItem]:
    """Quote ticks (``Quote``) of a Lean tick ``*_quote.zip`` (``ms, bid, ask``).

    Args:
        path: The zip.
        instrument_id: ``SYMBOL.VENUE`` of every quote.
        utc_offset: Data time zone; by default the market's: UTC for Oanda, UTC-05:00 for FXCM.
    """
    check_instrument_id(instrument_id)
    info = lean_file_info(check_file(path))
    sink = RowSink("lean_quote_ticks", path, instrument_id)
    origin = _origin(info, utc_offset)
    return _quote_ticks(path, sink, origin)


# --- internals ----------------------------------------------------------------------------
def _prepare(
    path: Path,
    instrument_id: str,
    interval: str | None,
    utc_offset: timedelta | None,
    kind: str,
) -> tuple[RowSink, int, str]:
    check_instrument_id(instrument_id)
    info = lean_file_info(check_file(path))
    bar_interval = interval or info.interval
    if bar_interval is None:
        raise LoaderError(
            f"{path}: no bar resolution folder (second, minute, hour) in the path: pass interval"
        )
    interval_ns(bar_interval)
    return (
        RowSink(f"lean_{kind}_bars", path, instrument_id),
        _origin(info, utc_offset),
        bar_interval,
    )


def _origin(info: LeanFile, utc_offset: timedelta | None) -> int:
    """UTC nanoseconds of midnight of the file's date in its data time zone."""
    offset = info.utc_offset if utc_offset is None else utc_offset
    midnight = datetime(info.day.year, info.day.month, info.day.day, tzinfo=UTC) - offset
    return int(midnight.timestamp()) * 1_000_000_000


def _quote_price_types(price_type: PriceType | str | None) -> tuple[PriceType, ...]:
    if price_type is None:
        return (PriceType.BID, PriceType.ASK)
    try:
        chosen = PriceType(price_type)
    except ValueError:
        raise LoaderError(f"price_type {price_type!r}: use BID, ASK or MID") from None
    if chosen is PriceType.TRADE:
        raise LoaderError("price_type TRADE: quote bars have BID, ASK or MID prices")
    return (chosen,)


def _cells(path: Path, columns: int) -> Iterator[tuple[int, list[str] | RowError]]:
    with open_text(path) as handle:
        for line, text in enumerate(handle, start=1):
            text = text.strip()
            if not text:
                continue
            cells = text.split(",")
            if len(cells) != columns:
                yield (
                    line,
                    RowError(
                        RejectReason.MALFORMED,
                        f"expected {columns} columns, got {len(cells)}: {text[:80]!r}",
                    ),
                )
            else:
                yield line, cells


def _time(origin: int, cell: str) -> int:
    return origin + parse_int(cell, "time (ms since midnight)") * _MS


def _trade_bars(path: Path, sink: RowSink, origin: int, interval: str) -> Iterator[LoadedItem]:
    length = interval_ns(interval)
    for line, cells in _cells(path, 6):
        try:
            if isinstance(cells, RowError):
                raise cells
            start = _time(origin, cells[0])
            names = ("open", "high", "low", "close", "volume")
            pairs = zip(names, cells[1:], strict=True)
            values = {name: parse_float(cell, name) for name, cell in pairs}
        except RowError as error:
            yield sink.from_error(line, error)
            continue
        fields = _bar_fields(sink, start, length, interval, PriceType.TRADE)
        yield sink.build(Bar, line, fields | values)


def _quote_bars(
    path: Path, sink: RowSink, origin: int, interval: str, price_types: tuple[PriceType, ...]
) -> Iterator[LoadedItem]:
    length = interval_ns(interval)
    ohlc = ("open", "high", "low", "close")
    for line, cells in _cells(path, 11):
        try:
            if isinstance(cells, RowError):
                raise cells
            start = _time(origin, cells[0])
            bid = [parse_float(cells[1 + i], f"bid {name}") for i, name in enumerate(ohlc)]
            ask = [parse_float(cells[6 + i], f"ask {name}") for i, name in enumerate(ohlc)]
        except RowError as error:
            yield sink.from_error(line, error)
            continue
        for price_type in price_types:
            if price_type is PriceType.BID:
                prices = bid
            elif price_type is PriceType.ASK:
                prices = ask
            else:
                prices = [mid_price(b, a) for b, a in zip(bid, ask, strict=True)]
            fields = _bar_fields(sink, start, length, interval, price_type)
            yield sink.build(Bar, line, fields | dict(zip(ohlc, prices, strict=True)))


def _bar_fields(
    sink: RowSink, start: int, length: int, interval: str, price_type: PriceType
) -> dict[str, object]:
    return {
        "event_id": derive_event_id(
            "md.bar", sink.instrument_id, interval, price_type.value, start
        ),
        "event_time": start + length,
        "start_time": start,
        "interval": interval,
        "price_type": price_type,
    }


def _quote_ticks(path: Path, sink: RowSink, origin: int) -> Iterator[LoadedItem]:
    for line, cells in _cells(path, 3):
        try:
            if isinstance(cells, RowError):
                raise cells
            try:  # the common case, without per-cell error reporting
                time, bid, ask = origin + int(cells[0]) * _MS, float(cells[1]), float(cells[2])
            except ValueError:
                time = _time(origin, cells[0])
                bid = parse_float(cells[1], "bid")
                ask = parse_float(cells[2], "ask")
        except RowError as error:
            yield sink.from_error(line, error)
            continue
        fields = {
            "event_id": sink.position_id("quote", line),
            "event_time": time,
            "bid_price": bid,
            "ask_price": ask,
        }
        yield sink.build(Quote, line, fields)
