# mypy: allow-untyped-defs, allow-incomplete-defs, allow-untyped-calls
"""CSV/Parquet tables (nautilus_trader, Tardis, plain bar files) and the bitcoincharts CSV."""

from __future__ import annotations

import csv
import gzip

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from jules_contracts import AggressorSide, Bar, BookDelta, BookSnapshot, PriceType, Quote, Trade
from jules_market_data import RejectReason, load
from jules_market_data.loaders import (
    LoaderError,
    load_bar_table,
    load_bitcoincharts_trades,
    load_quote_table,
)

from .data import BITSTAMP, NAUTILUS, loaded, ns, readme_count, rejection, split  # type: ignore[import-not-found]

MINUTE = 60_000_000_000


def test_binance_parquet_trades_load_with_ids_and_aggressor():
    path = NAUTILUS / "binance" / "btcusdt-trades.parquet"
    events, rejections = split(loaded(path))
    table = pq.read_table(path).to_pylist()

    assert rejections == []
    assert len(events) == readme_count(path) == 2_001
    first, last = events[0], events[-1]
    assert isinstance(first, Trade)
    assert isinstance(last, Trade)
    assert first.event_time == ns("2021-01-08 00:00:00.278")
    assert last.event_time == ns("2021-01-08 00:00:46.355")
    assert (first.price, first.size, first.trade_id) == (39432.48, 0.000263, "553287559")
    # buyer_maker "True": the seller was the aggressor.
    assert first.aggressor_side is AggressorSide.SELLER
    sellers = sum(row["buyer_maker"] == "True" for row in table)
    assert sum(e.aggressor_side is AggressorSide.SELLER for e in events) == sellers


def test_binance_parquet_quotes_load_with_sizes():
    path = NAUTILUS / "binance" / "btcusdt-quotes.parquet"
    events, rejections = split(loaded(path))

    assert rejections == []
    assert len(events) == readme_count(path) == 451
    first = events[0]
    assert isinstance(first, Quote)
    assert first.event_time == ns("2021-01-08 00:00:01.076")
    assert (first.bid_price, first.bid_size, first.ask_price, first.ask_size) == (
        39432.99,
        0.0031,
        39433.62,
        0.066851,
    )
    assert events[-1].event_time == ns("2021-01-08 00:00:46.674")


def test_fxcm_gbpusd_bid_and_ask_bar_files_load_as_bid_and_ask_bars():
    bid_path = NAUTILUS / "fxcm" / "gbpusd-m1-bid-2012.csv"
    ask_path = NAUTILUS / "fxcm" / "gbpusd-m1-ask-2012.csv"
    bids, bid_rejections = split(loaded(bid_path))
    first_ask = next(load(ask_path))  # the ask file is the bid file's twin: one row is enough

    assert bid_rejections == []
    assert len(bids) == readme_count(bid_path) == 30_117
    assert {e.price_type for e in bids if isinstance(e, Bar)} == {PriceType.BID}
    assert isinstance(first_ask, Bar)
    assert (first_ask.price_type, first_ask.open) == (PriceType.ASK, 1.57608)
    first = bids[0]
    assert isinstance(first, Bar)
    # "2012-02-01 00:00:00+00:00,1.57597,1.57606,1.57576,1.57576": stamped at the bar start.
    assert (first.start_time, first.event_time) == (ns("2012-02-01 00:00"), ns("2012-02-01 00:01"))
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        1.57597,
        1.57606,
        1.57576,
        1.57576,
        0.0,
    )


def test_btc_perp_naive_timestamps_are_refused_unless_declared_utc():
    path = NAUTILUS / "btc-perp-20211231-20220201_1m.csv"

    refused = rejection(next(load(path, instrument_id="BTC-PERP.FTX")))
    events, rejections = split(loaded(path, instrument_id="BTC-PERP.FTX", assume_utc=True))

    assert refused.reason is RejectReason.BAD_TIMESTAMP
    assert "assume_utc" in refused.detail
    assert rejections == []
    assert len(events) == readme_count(path) == 45_031
    assert events[0].start_time == ns("2021-12-31 23:01")
    assert events[-1].start_time == ns("2022-02-01 05:31")
    assert events[0].volume == 2300413.7295


def test_cme_bars_are_stamped_at_the_bar_close():
    """The CME Globex halt is 16:00-17:00 Chicago (22:00-23:00 UTC in January).

    Bars exist at 22:00 and never at 23:00, so 22:00 is the close of the last minute before the
    halt and 23:01 the close of the first one after it: the file stamps bars at their end.
    """
    path = NAUTILUS / "xcme" / "6EH4.XCME_1min_bars_20240101_20240131.csv.gz"
    with gzip.open(path, "rt") as handle:
        stamps = [row["timestamp_utc"] for row in csv.DictReader(handle)]
    events, rejections = split(loaded(path))

    assert sum(stamp.endswith(" 22:00:00") for stamp in stamps) == 22
    assert sum(stamp.endswith(" 23:00:00") for stamp in stamps) == 0
    assert rejections == []
    assert len(events) == readme_count(path) == 29_996
    first = events[0]
    assert isinstance(first, Bar)
    assert first.instrument_id == "6EH4.XCME"
    assert (first.start_time, first.event_time) == (ns("2024-01-01 23:00"), ns("2024-01-01 23:01"))


def test_truefx_ticks_load_as_quotes():
    path = NAUTILUS / "truefx" / "usdjpy-ticks.csv"
    events, rejections = split(loaded(path))

    assert rejections == []
    assert len(events) == readme_count(path) == 1_000
    assert events[0].event_time == ns("2013-01-01 22:00:00.295")
    assert events[-1].event_time == ns("2013-01-01 22:35:13.494")
    assert events[0].instrument_id == "USDJPY.TRUEFX"


def test_binance_depth_csv_groups_rows_into_one_snapshot_and_one_delta():
    snap_path = NAUTILUS / "binance" / "btcusdt-depth-snap.csv"
    update_path = NAUTILUS / "binance" / "btcusdt-depth-update.csv"

    [snapshot] = loaded(snap_path)
    [delta] = loaded(update_path)

    assert isinstance(snapshot, BookSnapshot)
    assert isinstance(delta, BookDelta)
    assert len(snapshot.bids) == readme_count(snap_path) == 100
    assert snapshot.asks == ()
    assert snapshot.bids[0].price == 20377.0
    assert snapshot.sequence == 2_098_021_528_332
    assert snapshot.event_time == ns("2022-11-01 23:49:39.146")
    assert len(delta.changes) == readme_count(update_path) == 100
    # Futures rows carry pu: the delta moves the book from pu to last_update_id.
    assert (delta.first_sequence, delta.sequence) == (2_098_041_693_401, 2_098_041_696_700)


def test_tardis_files_load():
    tardis = NAUTILUS / "tardis"

    trades, _ = split(loaded(tardis / "bitmex_trades_XBTUSD.csv"))
    quotes, _ = split(loaded(tardis / "huobi-dm-swap_quotes_BTC-USD.csv"))
    books5, _ = split(loaded(tardis / "binance-futures_book_snapshot_5_BTCUSDT.csv"))
    books25, _ = split(loaded(tardis / "binance-futures_book_snapshot_25_BTCUSDT.csv"))
    l2, _ = split(loaded(tardis / "deribit_incremental_book_L2_BTC-PERPETUAL.csv"))

    assert [len(trades), len(quotes), len(books5), len(books25)] == [10, 10, 10, 10]
    first = trades[0]
    assert isinstance(first, Trade)
    assert first.event_time == 1_583_020_803_145_000_000  # microseconds to nanoseconds
    assert first.aggressor_side is AggressorSide.SELLER
    assert (first.price, first.size) == (8531.5, 2152.0)
    assert first.instrument_id == "XBTUSD.BITMEX"
    assert isinstance(quotes[0], Quote)
    assert quotes[0].bid_size == 806.0
    assert all(isinstance(b, BookSnapshot) and len(b.bids) == len(b.asks) == 5 for b in books5)
    assert all(isinstance(b, BookSnapshot) and len(b.asks) == 25 for b in books25)
    [snapshot] = l2
    assert isinstance(snapshot, BookSnapshot)
    assert len(snapshot.asks) == 15
    assert snapshot.asks[0].price == 6421.5


def test_bitstamp_trades_load_and_the_zero_size_trade_is_refused():
    events, rejections = split(loaded(BITSTAMP))

    assert len(events) + len(rejections) == readme_count(BITSTAMP) == 9_999
    [zero] = rejections
    assert zero.reason is RejectReason.ZERO_SIZE
    assert zero.location == "bitstampUSD.csv:8524"
    assert events[0].event_time == ns("2011-09-13 13:53:36")
    assert events[-1].event_time == ns("2012-05-31 08:41:18")
    assert events[0].instrument_id == "BTCUSD.BITSTAMP"
    assert len({e.event_id for e in events}) == len(events)


def test_plain_bar_csv_accepts_offsets_and_epoch_times(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2024-01-02T10:00:00+01:00,1,2,0.5,1.5,10\n"
        "1704186060,1.5,2,1,1.2,3\n"  # epoch seconds: 2024-01-02 09:01 UTC
        "1704186120000,1.2,1.3,1.1,1.3,0\n"  # epoch milliseconds
    )

    bars, rejections = split(load_bar_table(path, instrument_id="ABC.TEST", interval="1m"))

    assert rejections == []
    assert [b.start_time for b in bars] == [
        ns("2024-01-02 09:00"),
        ns("2024-01-02 09:01"),
        ns("2024-01-02 09:02"),
    ]
    assert all(b.event_time - b.start_time == MINUTE for b in bars)


def test_plain_bar_parquet_with_end_labels_and_epoch_unit(tmp_path):
    path = tmp_path / "bars.parquet"
    table = pa.table(
        {
            "timestamp": [1_704_186_060_000_000_000],
            "open": [1.0],
            "high": [2.0],
            "low": [0.5],
            "close": [1.5],
            "volume": [7.0],
        }
    )
    pq.write_table(table, path)

    [bar] = load_bar_table(
        path, instrument_id="ABC.TEST", interval="1m", label="end", epoch_unit="ns"
    )

    assert isinstance(bar, Bar)
    assert (bar.start_time, bar.event_time) == (ns("2024-01-02 09:00"), ns("2024-01-02 09:01"))
    assert bar.volume == 7.0


def test_parquet_timestamps_without_zone_are_naive(tmp_path):
    path = tmp_path / "quotes.parquet"
    times = pa.array([1_704_186_060_000_000_000], type=pa.timestamp("ns"))
    pq.write_table(pa.table({"timestamp": times, "bid": [1.0], "ask": [1.1]}), path)

    [refused] = load_quote_table(path, instrument_id="ABC.TEST")
    [accepted] = load_quote_table(path, instrument_id="ABC.TEST", assume_utc=True)
    refused = rejection(refused)

    assert refused.reason is RejectReason.BAD_TIMESTAMP
    assert refused.location == "quotes.parquet:row 1"
    assert accepted.event_time == 1_704_186_060_000_000_000


def test_a_table_without_a_required_column_fails_naming_it(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text("timestamp,open,high,close\n2024-01-02T10:00:00Z,1,2,1\n")

    with pytest.raises(LoaderError, match="no column named low"):
        load_bar_table(path, instrument_id="ABC.TEST", interval="1m")


def test_bitcoincharts_reads_gzip_and_crlf(tmp_path):
    path = tmp_path / "krakenEUR.csv.gz"
    with gzip.open(path, "wt", newline="") as handle:
        handle.write("1315922016,5.8,1.0\r\n1315922016,5.9,2.0")

    trades, rejections = split(load_bitcoincharts_trades(path, instrument_id="BTCEUR.KRAKEN"))

    assert rejections == []
    assert [(t.price, t.size) for t in trades] == [(5.8, 1.0), (5.9, 2.0)]
