"""One entry point for every supported file: format sniffing, default instrument ids, ``load``."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Collection, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Literal

from jules_contracts import PriceType

from jules_market_data.loaders._common import LoadedItem, LoaderError, check_file, open_text
from jules_market_data.loaders.bitcoincharts import load_bitcoincharts_trades
from jules_market_data.loaders.books import (
    load_binance_depth_csv,
    load_tardis_book_snapshots,
    load_tardis_incremental_book,
)
from jules_market_data.loaders.hftbacktest import load_hftbacktest
from jules_market_data.loaders.lean import (
    lean_file_info,
    load_lean_quote_bars,
    load_lean_quote_ticks,
    load_lean_trade_bars,
)
from jules_market_data.loaders.tables import (
    load_bar_table,
    load_quote_table,
    load_trade_table,
    read_table,
)
from jules_market_data.loaders.window import Window

__all__ = ["Format", "default_instrument_id", "detect_format", "infer_interval", "load"]


class Format(StrEnum):
    """The file formats ``load`` reads."""

    LEAN_TRADE_BARS = "lean_trade_bars"
    """Lean ``*_trade.zip`` (second, minute, hour): ``ms,o,h,l,c,v``."""
    LEAN_QUOTE_BARS = "lean_quote_bars"
    """Lean ``*_quote.zip`` bars: bid and ask OHLC with last sizes."""
    LEAN_QUOTE_TICKS = "lean_quote_ticks"
    """Lean tick ``*_quote.zip``: ``ms,bid,ask``."""
    HFTBACKTEST = "hftbacktest"
    """hftbacktest Binance feed: ``<local ns> <JSON>`` lines."""
    BITCOINCHARTS = "bitcoincharts"
    """bitcoincharts trades: ``unix_seconds,price,amount`` without a header."""
    BARS = "bars"
    """CSV/Parquet bars with a header: ``timestamp,open,high,low,close[,volume]``."""
    QUOTES = "quotes"
    """CSV/Parquet quotes with a header: time, bid, ask (sizes optional)."""
    TRADES = "trades"
    """CSV/Parquet trades with a header: time, price, size (id and side optional)."""
    BINANCE_DEPTH = "binance_depth"
    """Binance depth CSV, one row per level (snap/set)."""
    TARDIS_BOOK_SNAPSHOT = "tardis_book_snapshot"
    """Tardis ``book_snapshot_N`` CSV."""
    TARDIS_INCREMENTAL_BOOK = "tardis_incremental_book"
    """Tardis ``incremental_book_L2`` CSV."""


_BAR_FORMATS = {Format.LEAN_TRADE_BARS, Format.LEAN_QUOTE_BARS, Format.BARS}
_HFT_LINE = re.compile(r"^\d+ \{")
_HEADERLESS_TRADE = re.compile(r"^\d+(\.\d+)?,[-+0-9.eE]+,[-+0-9.eE]+$")
_TARDIS_NAME = re.compile(
    r"^(?P<exchange>[a-z0-9-]+)_(?:trades|quotes|book_snapshot_\d+|incremental_book_L2)"
    r"_(?P<symbol>[A-Za-z0-9_-]+)\.csv(?:\.gz)?$"
)
_BITCOINCHARTS_NAME = re.compile(r"^(?P<exchange>[a-z]+)(?P<currency>[A-Z]{3})\.csv(?:\.gz)?$")
_HFT_NAME = re.compile(r"^(?P<symbol>[a-z0-9]+)_\d{8}\.gz$")
_ID_PREFIX = re.compile(r"^(?P<symbol>[A-Za-z0-9]+)\.(?P<venue>[A-Z][A-Z0-9]*)_")
_VENUE_FOLDERS = {"binance", "bitstamp", "coinbase", "fxcm", "oanda", "truefx", "bitmex", "ftx"}
_INTERVAL_PATTERNS = (
    re.compile(r"[_-](\d+)(min|m|s|h|d)(?=[_.-])"),  # _1m.csv, _1min_bars, -5s-
    re.compile(r"[_-](m|s|h|d)(\d+)(?=[_.-])"),  # -m1- (FXCM)
)


def detect_format(path: Path) -> Format:
    """Tell a file's format from its name and first line (or Parquet schema).

    Raises:
        LoaderError: The file is missing or its format is not one of ``Format``.
    """
    check_file(path)
    if path.suffix == ".zip":
        return _lean_format(path)
    if path.suffix != ".parquet":
        with open_text(path) as handle:
            first = handle.readline().strip()
        if _HFT_LINE.match(first):
            return Format.HFTBACKTEST
        if _HEADERLESS_TRADE.match(first):
            return Format.BITCOINCHARTS
    columns = {name.lower() for name in read_table(path).columns}
    if {"first_update_id", "last_update_id", "update_type"} <= columns:
        return Format.BINANCE_DEPTH
    if "is_snapshot" in columns:
        return Format.TARDIS_INCREMENTAL_BOOK
    if any(name.startswith(("asks[", "bids[")) for name in columns):
        return Format.TARDIS_BOOK_SNAPSHOT
    if {"open", "high", "low", "close"} <= columns:
        return Format.BARS
    if columns & {"bid", "bid_price"} and columns & {"ask", "ask_price"}:
        return Format.QUOTES
    if "price" in columns and columns & {"quantity", "size", "amount", "qty"}:
        return Format.TRADES
    raise LoaderError(f"{path}: unknown format (columns {sorted(columns)}); pass fmt")


def _lean_format(path: Path) -> Format:
    info = lean_file_info(path)
    resolution = info.resolution
    if resolution is None:
        # Outside Lean's folder layout the CSV inside still says: YYYYMMDD_sym_res_kind.csv.
        with zipfile.ZipFile(path) as archive:
            parts = archive.namelist()[0].removesuffix(".csv").split("_")
        resolution = parts[-2] if len(parts) >= 4 else None
    if info.kind == "trade":
        if resolution == "tick":
            raise LoaderError(f"{path}: Lean trade ticks are not supported")
        return Format.LEAN_TRADE_BARS
    return Format.LEAN_QUOTE_TICKS if resolution == "tick" else Format.LEAN_QUOTE_BARS


def default_instrument_id(path: Path) -> str | None:
    """A default ``SYMBOL.VENUE`` from a file's path, or ``None`` when the path does not say.

    * Lean: ``.../<market>/<resolution>/<symbol>/...zip`` -> ``BTCUSD.COINBASE``;
    * hftbacktest: ``spot/btcusdt_YYYYMMDD.gz`` -> ``BTCUSDT.BINANCE``, ``usdm/...`` ->
      ``BTCUSDT-PERP.BINANCE`` (USD-M perpetual);
    * bitcoincharts: ``bitstampUSD.csv`` -> ``BTCUSD.BITSTAMP``;
    * Tardis: ``<exchange>_<type>_<SYMBOL>.csv`` -> ``SYMBOL.EXCHANGE``;
    * a name starting ``SYMBOL.VENUE_`` -> ``SYMBOL.VENUE`` (``6EH4.XCME_1min_bars...``);
    * a file in a venue folder (``binance/``, ``fxcm/``, ``truefx/`` ...) -> first name token
      and the folder (``fxcm/gbpusd-m1-bid-2012.csv`` -> ``GBPUSD.FXCM``).
    """
    name = path.name
    try:
        info = lean_file_info(path)
    except LoaderError:
        info = None
    if info is not None and info.market and info.symbol:
        return f"{info.symbol.upper()}.{info.market.upper()}"
    if (match := _HFT_NAME.match(name)) and path.parent.name in {"spot", "usdm"}:
        suffix = "-PERP" if path.parent.name == "usdm" else ""
        return f"{match['symbol'].upper()}{suffix}.BINANCE"
    if match := _BITCOINCHARTS_NAME.match(name):
        return f"BTC{match['currency']}.{match['exchange'].upper()}"
    if match := _TARDIS_NAME.match(name):
        return f"{match['symbol'].upper()}.{match['exchange'].upper()}"
    if match := _ID_PREFIX.match(name):
        return f"{match['symbol']}.{match['venue']}"
    if path.parent.name.lower() in _VENUE_FOLDERS:
        symbol = re.split(r"[-_.]", name, maxsplit=1)[0]
        if symbol.isalnum():
            return f"{symbol.upper()}.{path.parent.name.upper()}"
    return None


def infer_interval(path: Path) -> str | None:
    """A bar interval from a file name (``_1m.csv``, ``_1min_bars``, ``-m1-``), if it has one."""
    name = path.name.lower()
    if match := _INTERVAL_PATTERNS[0].search(name):
        unit = "m" if match[2] == "min" else match[2]
        return f"{int(match[1])}{unit}"
    if match := _INTERVAL_PATTERNS[1].search(name):
        return f"{int(match[2])}{match[1]}"
    return None


def _bar_price_type(path: Path) -> PriceType:
    tokens = set(re.split(r"[-_.]", path.name.lower()))
    if "bid" in tokens:
        return PriceType.BID
    if "ask" in tokens:
        return PriceType.ASK
    if "mid" in tokens:
        return PriceType.MID
    return PriceType.TRADE


def load(
    path: Path | str,
    *,
    instrument_id: str | None = None,
    fmt: Format | str | None = None,
    interval: str | None = None,
    price_type: PriceType | str | None = None,
    assume_utc: bool = False,
    label: Literal["start", "end"] | None = None,
    window: Window | None = None,
    kinds: Collection[str] | None = None,
) -> Iterator[LoadedItem]:
    """Read any supported file into contract events and rejections, in file order.

    Args:
        path: The file.
        instrument_id: ``SYMBOL.VENUE`` of its events; by default ``default_instrument_id``.
        fmt: The format; by default sniffed (``detect_format``).
        interval: Bar length for bar files; by default from the Lean resolution folder or the
            file name (``_1m``, ``-m1-``, ``_1min_``).
        price_type: Lean quote bars: ``BID``, ``ASK`` or ``MID`` (default both ``BID`` and
            ``ASK``); bar tables: the prices' type (default from ``bid``/``ask``/``mid`` in the
            file name, else ``TRADE``).
        assume_utc: Tables: read timestamps without a UTC offset as UTC (a column named
            ``timestamp_utc`` implies it).
        label: Bar tables: timestamps mark the bar ``start`` (default) or ``end``. Files named
            ``*_<n>min_bars_*`` (the CME ``6EH4.XCME`` sample) default to ``end``: their bars
            sit at 22:00 UTC and never at 23:00 UTC, i.e. around the CME daily halt
            (22:00-23:00 UTC) they are stamped at the bar close.
        window: Bar tables in CSV: the event times ``[start, end)`` the caller keeps; rows
            far outside it are not read (``jules_market_data.loaders.window``). Other formats
            are read whole. The caller applies the exact window.
        kinds: hftbacktest feeds: the kinds of message to read (``trade``, ``quote``,
            ``book``); the others are skipped unparsed. Other formats are read whole.

    Returns:
        A lazy iterator of events and ``Rejection`` records.

    Raises:
        LoaderError: Missing file, unknown format, no instrument id, or an argument that does
            not apply to the format.
    """
    path = Path(path)
    chosen = Format(fmt) if fmt is not None else detect_format(path)
    instrument = instrument_id or default_instrument_id(path)
    if instrument is None:
        raise LoaderError(f"{path}: cannot tell the instrument from the path: pass instrument_id")
    if chosen not in _BAR_FORMATS and (interval is not None or price_type is not None):
        raise LoaderError(f"interval and price_type apply to bar files, not to {chosen.value}")
    if chosen is Format.LEAN_TRADE_BARS:
        if price_type not in (None, PriceType.TRADE, "TRADE"):
            raise LoaderError(f"price_type {price_type!r}: Lean trade bars are TRADE bars")
        return load_lean_trade_bars(path, instrument_id=instrument, interval=interval)
    if chosen is Format.LEAN_QUOTE_BARS:
        return load_lean_quote_bars(
            path, instrument_id=instrument, interval=interval, price_type=price_type
        )
    if chosen is Format.BARS:
        return _load_bar_table(path, instrument, interval, price_type, assume_utc, label, window)
    simple = {
        Format.LEAN_QUOTE_TICKS: load_lean_quote_ticks,
        Format.BITCOINCHARTS: load_bitcoincharts_trades,
        Format.BINANCE_DEPTH: load_binance_depth_csv,
        Format.TARDIS_BOOK_SNAPSHOT: load_tardis_book_snapshots,
        Format.TARDIS_INCREMENTAL_BOOK: load_tardis_incremental_book,
    }
    if chosen is Format.HFTBACKTEST:
        return load_hftbacktest(path, instrument_id=instrument, kinds=kinds)
    if chosen in simple:
        return simple[chosen](path, instrument_id=instrument)
    loader = load_quote_table if chosen is Format.QUOTES else load_trade_table
    return loader(path, instrument_id=instrument, assume_utc=assume_utc)


def _load_bar_table(
    path: Path,
    instrument: str,
    interval: str | None,
    price_type: PriceType | str | None,
    assume_utc: bool,
    label: Literal["start", "end"] | None,
    window: Window | None = None,
) -> Iterator[LoadedItem]:
    bar_interval = interval or infer_interval(path)
    if bar_interval is None:
        raise LoaderError(f"{path}: the file name does not give the bar length: pass interval")
    time_utc = "timestamp_utc" in {name.lower() for name in read_table(path).columns}
    end_stamped = re.search(r"_\d+min_bars_", path.name) is not None
    return load_bar_table(
        path,
        instrument_id=instrument,
        interval=bar_interval,
        price_type=price_type or _bar_price_type(path),
        label=label or ("end" if end_stamped else "start"),
        assume_utc=assume_utc or time_utc,
        window=window,
    )
