# mypy: allow-untyped-defs, allow-incomplete-defs, allow-untyped-calls
"""Every bad row becomes a Rejection with its reason code and location; none is dropped."""

from __future__ import annotations

import gzip
import json
import zipfile

import pytest
from jules_contracts import Bar, BookDelta, Quote, Trade
from jules_market_data import Rejection, RejectReason
from jules_market_data.loaders import (
    load_bar_table,
    load_binance_depth_csv,
    load_bitcoincharts_trades,
    load_hftbacktest,
    load_lean_quote_bars,
    load_lean_quote_ticks,
    load_lean_trade_bars,
    load_trade_table,
)

from .data import rejection, split  # type: ignore[import-not-found]


def lean_zip(root, kind, resolution, rows, market="coinbase", symbol="btcusd", day="20161007"):
    folder = root / "crypto" / market / resolution / symbol
    folder.mkdir(parents=True)
    path = folder / f"{day}_{kind}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{day}_{symbol}_{resolution}_{kind}.csv", "\r\n".join(rows))
    return path


def only_rejection(items):
    events, rejections = split(items)
    assert len(rejections) == 1, rejections
    return events, rejections[0]


@pytest.mark.parametrize(
    ("row", "reason", "field"),
    [
        ("60000,nan,2,1,1.5,1", RejectReason.NON_FINITE, "open"),
        ("60000,1,inf,1,1.5,1", RejectReason.NON_FINITE, "high"),
        ("60000,0,2,0,1.5,1", RejectReason.NON_POSITIVE_PRICE, "open"),
        ("60000,-1,2,1,1.5,1", RejectReason.NON_POSITIVE_PRICE, "open"),
        ("60000,1,2,1,1.5,-3", RejectReason.NEGATIVE_SIZE, "volume"),
        ("60000,1,0.9,0.8,0.85,1", RejectReason.INCONSISTENT_OHLC, "high"),
        ("60000,1,2,1.2,1.5,1", RejectReason.INCONSISTENT_OHLC, "low"),
        ("60000,1,2,1,abc,1", RejectReason.MALFORMED, "close"),
        ("60000,1,2,1,1.5", RejectReason.MALFORMED, "columns"),
        ("sixty,1,2,1,1.5,1", RejectReason.MALFORMED, "time"),
        ("-99999999999999,1,2,1,1.5,1", RejectReason.BAD_TIMESTAMP, "time"),
    ],
)
def test_a_bad_lean_trade_bar_row_is_rejected_with_its_reason(tmp_path, row, reason, field):
    good = "0,1,2,1,1.5,1"
    path = lean_zip(tmp_path, "trade", "minute", [good, row, "120000,1,2,1,1.5,1"])

    items = list(load_lean_trade_bars(path, instrument_id="BTCUSD.COINBASE"))
    events, rejection = only_rejection(items)

    assert len(events) == 2
    assert isinstance(items[1], Rejection)
    assert rejection.reason is reason
    assert rejection.location == "20161007_trade.zip:2"
    assert field in rejection.detail
    assert rejection.source == "lean_trade_bars"
    assert rejection.instrument_id == "BTCUSD.COINBASE"


def test_a_rejection_keeps_the_event_time_when_it_could_be_read(tmp_path):
    path = lean_zip(tmp_path, "trade", "minute", ["60000,0,2,0,1.5,1"])

    [rejection] = load_lean_trade_bars(path, instrument_id="BTCUSD.COINBASE")

    assert isinstance(rejection, Rejection)
    assert rejection.event_time == 1_475_798_520_000_000_000  # 2016-10-07 00:02 (bar end)


def test_a_bad_lean_quote_bar_row_rejects_the_row_once(tmp_path):
    rows = [
        "0,1,1,1,1,0,1.1,1.1,1.1,1.1,0",
        "60000,1,1,1,1,0,1.1,1.1,1.1",  # 10 columns
        "120000,1,1,1,1,0,nan,1.1,1.1,1.1,0",  # NaN ask open: only the ASK bar is refused
    ]
    path = lean_zip(tmp_path, "quote", "minute", rows)

    items = list(load_lean_quote_bars(path, instrument_id="BTCUSD.COINBASE"))

    kinds = [(type(i).__name__, getattr(i, "reason", None)) for i in items]
    assert kinds == [
        ("Bar", None),
        ("Bar", None),
        ("Rejection", RejectReason.MALFORMED),
        ("Bar", None),
        ("Rejection", RejectReason.NON_FINITE),
    ]


def test_a_bad_tick_row_is_rejected_and_blank_lines_are_not_rows(tmp_path):
    rows = ["1000,1.1,1.2", "", "2000,1.1", "3000,-1.1,1.2", "4000,1.1,1.2"]
    path = lean_zip(tmp_path, "quote", "tick", rows, market="oanda", symbol="eurusd")

    items = list(load_lean_quote_ticks(path, instrument_id="EURUSD.OANDA"))

    assert [type(i) for i in items] == [Quote, Rejection, Rejection, Quote]
    assert [i.location for i in items if isinstance(i, Rejection)] == [
        "20161007_quote.zip:3",
        "20161007_quote.zip:4",
    ]
    assert [i.reason for i in items if isinstance(i, Rejection)] == [
        RejectReason.MALFORMED,
        RejectReason.NON_POSITIVE_PRICE,
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("1315922016,5.8,0", RejectReason.ZERO_SIZE),
        ("1315922016,5.8,-2", RejectReason.NEGATIVE_SIZE),
        ("1315922016,0,1", RejectReason.NON_POSITIVE_PRICE),
        ("1315922016,NaN,1", RejectReason.NON_FINITE),
        ("1315922016,5.8", RejectReason.MALFORMED),
        ("yesterday,5.8,1", RejectReason.BAD_TIMESTAMP),
    ],
)
def test_a_bad_bitcoincharts_row_is_rejected_with_its_reason(tmp_path, row, reason):
    path = tmp_path / "bitstampUSD.csv"
    path.write_text(f"1315922000,5.8,1\n{row}\n")

    items = list(load_bitcoincharts_trades(path, instrument_id="BTCUSD.BITSTAMP"))

    assert isinstance(items[0], Trade)
    assert isinstance(items[1], Rejection)
    assert (items[1].reason, items[1].location) == (reason, "bitstampUSD.csv:2")


def test_naive_and_garbage_times_in_a_table_are_bad_timestamps(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text(
        "timestamp,open,high,low,close\n"
        "2024-01-02 10:00:00,1,2,0.5,1.5\n"
        "next tuesday,1,2,0.5,1.5\n"
        "2024-01-02T10:02:00Z,1,2,0.5,1.5,9\n"
    )

    items = list(load_bar_table(path, instrument_id="ABC.TEST", interval="1m"))

    assert [(i.reason, i.location) for i in items if isinstance(i, Rejection)] == [
        (RejectReason.BAD_TIMESTAMP, "bars.csv:2"),
        (RejectReason.BAD_TIMESTAMP, "bars.csv:3"),
        (RejectReason.MALFORMED, "bars.csv:4"),
    ]
    assert "assume_utc" in rejection(items[0]).detail


def test_a_bad_aggressor_side_in_a_trade_table_is_malformed(tmp_path):
    path = tmp_path / "trades.csv"
    path.write_text("timestamp,price,amount,side\n1583020803145000,1,1,sideways\n")

    [rejection] = load_trade_table(path, instrument_id="ABC.TEST")

    assert isinstance(rejection, Rejection)
    assert rejection.reason is RejectReason.MALFORMED
    assert "sideways" in rejection.detail


def hft_file(tmp_path, messages):
    path = tmp_path / "btcusdt_20240808.gz"
    with gzip.open(path, "wt") as handle:
        for index, message in enumerate(messages):
            text = message if isinstance(message, str) else json.dumps(message)
            handle.write(f"{1_723_161_253_937_085_768 + index} {text}\n")
    return path


def test_bad_hftbacktest_lines_are_rejected_with_their_reasons(tmp_path):
    trade = {"e": "trade", "t": 1, "p": "100.0", "q": "0.5", "m": False}
    path = hft_file(
        tmp_path,
        [
            {"stream": "btcusdt@trade", "data": trade},
            "{not json",
            {"stream": "btcusdt@kline_1m", "data": {"k": {}}},
            {"stream": "btcusdt@trade", "data": {"t": 2, "p": "100.0"}},  # no quantity
            {"lastUpdateId": 5, "bids": [["10", "1"], ["10", "2"]], "asks": [["11", "1"]]},
            {"stream": "btcusdt@bookTicker", "data": {"b": "1", "B": "1", "a": "x", "A": "1"}},
            {"stream": "btcusdt@trade", "data": trade | {"t": 3, "q": "0"}},
        ],
    )

    items = list(load_hftbacktest(path, instrument_id="BTCUSDT.BINANCE"))

    assert isinstance(items[0], Trade)
    assert [(rejection(i).reason, rejection(i).location) for i in items[1:]] == [
        (RejectReason.MALFORMED, "btcusdt_20240808.gz:2"),
        (RejectReason.UNKNOWN_MESSAGE, "btcusdt_20240808.gz:3"),
        (RejectReason.MALFORMED, "btcusdt_20240808.gz:4"),
        (RejectReason.UNSORTED_BOOK, "btcusdt_20240808.gz:5"),
        (RejectReason.MALFORMED, "btcusdt_20240808.gz:6"),
        (RejectReason.ZERO_SIZE, "btcusdt_20240808.gz:7"),
    ]
    assert all(i.event_time == 1_723_161_253_937_085_768 + n for n, i in enumerate(items) if n)


def test_valid_rows_around_bad_ones_still_load(tmp_path):
    rows = [f"{60000 * n},1,2,1,1.5,1" for n in range(5)]
    rows[2] = "120000,1,2,1,1.5"
    path = lean_zip(tmp_path, "trade", "minute", rows)

    items = list(load_lean_trade_bars(path, instrument_id="BTCUSD.COINBASE"))

    assert len(items) == 5
    assert [type(i) for i in items] == [Bar, Bar, Rejection, Bar, Bar]


def test_a_bad_level_row_refuses_its_whole_book_event(tmp_path):
    path = tmp_path / "btcusdt-depth-update.csv"
    header = "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu"
    path.write_text(
        f"{header}\n"
        "BTCUSDT,1667347199939,10,12,a,set,20472.80,0.000,9\n"
        "BTCUSDT,1667347199939,10,12,x,set,20472.90,1.000,9\n"  # unknown side
        "BTCUSDT,1667347199940,13,15,b,set,20470.00,1.000,12\n"
        "BTCUSDT,1667347199941,16,18,b,set,20470.00\n"  # too few columns
    )

    items = list(load_binance_depth_csv(path, instrument_id="BTCUSDT-PERP.BINANCE"))

    first, second, third = items
    assert rejection(first).reason is RejectReason.MALFORMED
    assert rejection(first).location == "btcusdt-depth-update.csv:2"
    assert "lines 2-3" in rejection(first).detail
    assert isinstance(second, BookDelta)
    assert (second.first_sequence, second.sequence) == (13, 15)
    assert rejection(third).location == "btcusdt-depth-update.csv:5"
