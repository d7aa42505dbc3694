"""File loaders (I/O adapters): recorded market data into contract events, in file order.

``load(path, instrument_id=..., fmt=None, interval=None, price_type=None)`` reads any supported
file (the format is sniffed from the name and first line when ``fmt`` is ``None``) and yields
``Trade``, ``Quote``, ``Bar``, ``BookSnapshot`` and ``BookDelta`` events, or a ``Rejection``
(reason code, ``<file>:<line>``, detail) for every row that does not make a valid event. Ids are
deterministic: reloading a file gives the same ids. ``default_instrument_id(path)`` derives
``SYMBOL.VENUE`` from a path where it can. Per-format functions take format-specific options:

=============================  ==================================================================
``load_lean_trade_bars``       Lean ``*_trade.zip`` second/minute/hour bars
``load_lean_quote_bars``       Lean ``*_quote.zip`` bars: BID and ASK bars, or BID/ASK/MID
``load_lean_quote_ticks``      Lean tick ``*_quote.zip`` -> ``Quote`` (FXCM: UTC-05:00 -> UTC)
``load_hftbacktest``           hftbacktest Binance lines: trades, bookTicker, depth + snapshot
``load_bitcoincharts_trades``  bitcoincharts ``unix_s,price,amount``
``load_bar_table``             CSV/Parquet ``timestamp,open,high,low,close[,volume]``
``load_quote_table``           CSV/Parquet quotes (nautilus, TrueFX, Tardis quotes)
``load_trade_table``           CSV/Parquet trades (nautilus Binance, Tardis trades)
``load_binance_depth_csv``     Binance depth CSV (snap/set rows)
``load_tardis_book_snapshots`` Tardis ``book_snapshot_N``
``load_tardis_incremental_book`` Tardis ``incremental_book_L2``
=============================  ==================================================================
"""

from jules_market_data.loaders._common import SOURCE, LoadedItem, LoaderError
from jules_market_data.loaders.bitcoincharts import load_bitcoincharts_trades
from jules_market_data.loaders.books import (
    load_binance_depth_csv,
    load_tardis_book_snapshots,
    load_tardis_incremental_book,
)
from jules_market_data.loaders.detect import (
    Format,
    default_instrument_id,
    detect_format,
    infer_interval,
    load,
)
from jules_market_data.loaders.hftbacktest import load_hftbacktest
from jules_market_data.loaders.lean import (
    DATA_UTC_OFFSETS,
    lean_file_info,
    load_lean_quote_bars,
    load_lean_quote_ticks,
    load_lean_trade_bars,
)
from jules_market_data.loaders.tables import load_bar_table, load_quote_table, load_trade_table

__all__ = [
    "DATA_UTC_OFFSETS",
    "SOURCE",
    "Format",
    "LoadedItem",
    "LoaderError",
    "default_instrument_id",
    "detect_format",
    "infer_interval",
    "lean_file_info",
    "load",
    "load_bar_table",
    "load_binance_depth_csv",
    "load_bitcoincharts_trades",
    "load_hftbacktest",
    "load_lean_quote_bars",
    "load_lean_quote_ticks",
    "load_lean_trade_bars",
    "load_quote_table",
    "load_tardis_book_snapshots",
    "load_tardis_incremental_book",
    "load_trade_table",
]
