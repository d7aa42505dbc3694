# mypy: allow-untyped-defs, allow-incomplete-defs, allow-untyped-calls
"""load(): format sniffing, default instrument ids, argument checks, for every sample file."""

from __future__ import annotations

from pathlib import Path

import pytest
from jules_contracts import Bar
from jules_market_data import Format, LoaderError, default_instrument_id, detect_format, load
from jules_market_data.loaders import infer_interval

from .data import DATA  # type: ignore[import-not-found]

EXPECTED = {
    "QuantConnect_Lean/Data/crypto/coinbase/minute/btcusd/20161007_trade.zip": (
        Format.LEAN_TRADE_BARS,
        "BTCUSD.COINBASE",
    ),
    "QuantConnect_Lean/Data/crypto/coinbase/second/btcusd/20161007_trade.zip": (
        Format.LEAN_TRADE_BARS,
        "BTCUSD.COINBASE",
    ),
    "QuantConnect_Lean/Data/crypto/coinbase/minute/ethusd/20170903_quote.zip": (
        Format.LEAN_QUOTE_BARS,
        "ETHUSD.COINBASE",
    ),
    "QuantConnect_Lean/Data/forex/oanda/minute/eurusd/20140501_quote.zip": (
        Format.LEAN_QUOTE_BARS,
        "EURUSD.OANDA",
    ),
    "QuantConnect_Lean/Data/forex/oanda/tick/eurusd/20140501_quote.zip": (
        Format.LEAN_QUOTE_TICKS,
        "EURUSD.OANDA",
    ),
    "QuantConnect_Lean/Data/forex/fxcm/tick/eurusd/20140505_quote.zip": (
        Format.LEAN_QUOTE_TICKS,
        "EURUSD.FXCM",
    ),
    "hftbacktest/examples/spot/btcusdt_20240808.gz": (Format.HFTBACKTEST, "BTCUSDT.BINANCE"),
    "hftbacktest/examples/usdm/btcusdt_20240808.gz": (Format.HFTBACKTEST, "BTCUSDT-PERP.BINANCE"),
    "pyalgotrade/testcases/data/bitstampUSD.csv": (Format.BITCOINCHARTS, "BTCUSD.BITSTAMP"),
    "nautilus_trader/tests/test_data/binance/btcusdt-trades.parquet": (
        Format.TRADES,
        "BTCUSDT.BINANCE",
    ),
    "nautilus_trader/tests/test_data/binance/btcusdt-quotes.parquet": (
        Format.QUOTES,
        "BTCUSDT.BINANCE",
    ),
    "nautilus_trader/tests/test_data/binance/btcusdt-depth-snap.csv": (
        Format.BINANCE_DEPTH,
        "BTCUSDT.BINANCE",
    ),
    "nautilus_trader/tests/test_data/btc-perp-20211231-20220201_1m.csv": (Format.BARS, None),
    "nautilus_trader/tests/test_data/fxcm/gbpusd-m1-bid-2012.csv": (Format.BARS, "GBPUSD.FXCM"),
    "nautilus_trader/tests/test_data/truefx/usdjpy-ticks.csv": (Format.QUOTES, "USDJPY.TRUEFX"),
    "nautilus_trader/tests/test_data/xcme/6EH4.XCME_1min_bars_20240101_20240131.csv.gz": (
        Format.BARS,
        "6EH4.XCME",
    ),
    "nautilus_trader/tests/test_data/tardis/bitmex_trades_XBTUSD.csv": (
        Format.TRADES,
        "XBTUSD.BITMEX",
    ),
    "nautilus_trader/tests/test_data/tardis/huobi-dm-swap_quotes_BTC-USD.csv": (
        Format.QUOTES,
        "BTC-USD.HUOBI-DM-SWAP",
    ),
    "nautilus_trader/tests/test_data/tardis/binance-futures_book_snapshot_5_BTCUSDT.csv": (
        Format.TARDIS_BOOK_SNAPSHOT,
        "BTCUSDT.BINANCE-FUTURES",
    ),
    "nautilus_trader/tests/test_data/tardis/deribit_incremental_book_L2_BTC-PERPETUAL.csv": (
        Format.TARDIS_INCREMENTAL_BOOK,
        "BTC-PERPETUAL.DERIBIT",
    ),
}


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_format_and_default_instrument_are_told_from_the_path(relative):
    path = DATA / relative
    fmt, instrument = EXPECTED[relative]

    assert detect_format(path) is fmt
    assert default_instrument_id(path) == instrument


def test_every_sample_file_has_a_known_format():
    files = [
        p for p in DATA.rglob("*") if p.is_file() and p.name not in {"README.md", "SHA256SUMS"}
    ]

    formats = {detect_format(path) for path in files}

    assert len(files) == 86
    assert formats == set(Format)


@pytest.mark.parametrize(
    ("name", "interval"),
    [
        ("btc-perp-20211231-20220201_1m.csv", "1m"),
        ("gbpusd-m1-bid-2012.csv", "1m"),
        ("6EH4.XCME_1min_bars_20240101_20240131.csv.gz", "1m"),
        ("eurusd_5s.parquet", "5s"),
        ("prices.csv", None),
    ],
)
def test_bar_intervals_are_read_from_file_names(name, interval):
    assert infer_interval(Path(name)) == interval


def test_load_needs_an_instrument_when_the_path_does_not_tell(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("timestamp,open,high,low,close\n2024-01-02T10:00:00Z,1,2,0.5,1.5\n")

    with pytest.raises(LoaderError, match="pass instrument_id"):
        load(path, interval="1m")
    [bar] = load(path, instrument_id="ABC.TEST", interval="1m")
    assert isinstance(bar, Bar)
    assert bar.instrument_id == "ABC.TEST"


def test_load_needs_an_interval_for_a_bar_table_without_one_in_its_name(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("timestamp,open,high,low,close\n2024-01-02T10:00:00Z,1,2,0.5,1.5\n")

    with pytest.raises(LoaderError, match="pass interval"):
        load(path, instrument_id="ABC.TEST")


def test_load_refuses_bar_options_for_non_bar_files():
    path = DATA / "pyalgotrade" / "testcases" / "data" / "bitstampUSD.csv"

    with pytest.raises(LoaderError, match="bar files"):
        load(path, interval="1m")


def test_load_refuses_a_missing_file_and_an_unknown_format(tmp_path):
    unknown = tmp_path / "notes.csv"
    unknown.write_text("name,colour\nfoo,red\n")

    with pytest.raises(LoaderError, match="no such file"):
        load(tmp_path / "missing.csv")
    with pytest.raises(LoaderError, match="unknown format"):
        load(unknown, instrument_id="ABC.TEST")


def test_an_explicit_format_overrides_sniffing(tmp_path):
    path = tmp_path / "trades.txt"
    path.write_text("1315922016,5.8,1\n")

    [trade] = load(path, instrument_id="BTCUSD.TEST", fmt="bitcoincharts")

    assert trade.event_time == 1_315_922_016_000_000_000
