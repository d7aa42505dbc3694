# mypy: allow-untyped-defs, allow-incomplete-defs, allow-untyped-calls
"""Lean zips load completely, with the right times, time zones and price types."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jules_contracts import Bar, PriceType, Quote
from jules_market_data.loaders import (
    LoaderError,
    load_lean_quote_bars,
    load_lean_quote_ticks,
    load_lean_trade_bars,
)

from .data import COINBASE, FXCM_TICKS, LEAN, OANDA_MINUTES, OANDA_TICKS, loaded, ns, readme_count  # type: ignore[import-not-found]
from .data import split as split_items

_HOUR_NS = 3_600_000_000_000


def test_every_lean_trade_bar_file_loads_all_readme_rows_as_trade_bars():
    files = sorted(COINBASE.glob("*/*/*_trade.zip"))
    assert len(files) == 22

    for path in files:
        events, rejections = split_items(loaded(path))

        assert rejections == []
        assert len(events) == readme_count(path)
        assert all(isinstance(e, Bar) and e.price_type is PriceType.TRADE for e in events)
        expected = "1s" if path.parts[-3] == "second" else "1m"
        assert {e.interval for e in events} == {expected}


def test_every_lean_quote_bar_file_loads_a_bid_and_an_ask_bar_per_row():
    files = sorted(COINBASE.glob("minute/*/*_quote.zip")) + sorted(OANDA_MINUTES.glob("*.zip"))
    assert len(files) == 28

    for path in files:
        events, rejections = split_items(loaded(path))

        assert rejections == []
        assert len(events) == 2 * readme_count(path)
        kinds = [e.price_type for e in events if isinstance(e, Bar)]
        assert kinds == [PriceType.BID, PriceType.ASK] * readme_count(path)


def test_coinbase_minute_bar_is_stamped_at_its_start_and_ends_one_minute_later():
    path = COINBASE / "minute" / "btcusd" / "20161007_trade.zip"

    first, *_, last = loaded(path)

    # CSV: "0,611.78,611.91,611.78,611.9,1.13872" (CRLF) ... "86340000,618.17,...,0.24885568"
    assert isinstance(first, Bar)
    assert isinstance(last, Bar)
    assert first.start_time == ns("2016-10-07 00:00:00")
    assert first.event_time == ns("2016-10-07 00:01:00")
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        611.78,
        611.91,
        611.78,
        611.9,
        1.13872,
    )
    assert last.start_time == ns("2016-10-07 23:59:00")
    assert last.volume == 0.24885568


def test_coinbase_second_bars_last_one_second_and_keep_lf_files_intact():
    path = COINBASE / "second" / "btcusd" / "20161007_trade.zip"

    first, *_, last = loaded(path)

    assert isinstance(first, Bar)
    assert isinstance(last, Bar)
    assert (first.start_time, first.event_time) == (
        ns("2016-10-07 00:00:04"),
        ns("2016-10-07 00:00:05"),
    )
    # The file ends without a newline: the last row is still read whole.
    assert last.start_time == ns("2016-10-07 23:59:58")
    assert last.volume == 0.2


def test_oanda_ticks_are_utc_and_sunday_files_start_at_21_utc():
    sunday = loaded(OANDA_TICKS / "20140504_quote.zip")
    friday = loaded(OANDA_TICKS / "20140502_quote.zip")

    assert isinstance(sunday[0], Quote)
    assert isinstance(friday[-1], Quote)
    assert sunday[0].event_time == ns("2014-05-04 21:00:00.462")
    assert friday[-1].event_time == ns("2014-05-02 20:59:58.557")
    assert (friday[-1].bid_size, friday[-1].ask_size) == (0.0, 0.0)


def test_fxcm_ticks_in_utc_minus_5_are_shifted_five_hours_to_utc():
    # The first and the last of the five days (the three others read the same way; the whole
    # week takes seconds to load).
    files = [FXCM_TICKS / "20140505_quote.zip", FXCM_TICKS / "20140509_quote.zip"]

    for path in files:
        events, rejections = split_items(loaded(path))
        assert rejections == []
        assert len(events) == readme_count(path)
    first = loaded(FXCM_TICKS / "20140505_quote.zip")[0]
    last = loaded(FXCM_TICKS / "20140509_quote.zip")[-1]

    # First row "3074,1.38756,1.38758": 00:00:03.074 at UTC-05:00 is 05:00:03.074 UTC.
    assert isinstance(first, Quote)
    assert first.event_time == ns("2014-05-05 05:00:03.074")
    assert (first.bid_price, first.ask_price) == (1.38756, 1.38758)
    # Friday's last row "57551407,...": 15:59:11.407 at UTC-05:00, 20:59:11.407 UTC.
    assert last.event_time == ns("2014-05-09 20:59:11.407")


def test_fxcm_time_zone_can_be_overridden():
    path = FXCM_TICKS / "20140505_quote.zip"
    default = next(load_lean_quote_ticks(path, instrument_id="EURUSD.FXCM"))
    utc = next(load_lean_quote_ticks(path, instrument_id="EURUSD.FXCM", utc_offset=timedelta(0)))

    assert isinstance(default, Quote)
    assert isinstance(utc, Quote)
    assert default.event_time - utc.event_time == 5 * _HOUR_NS


def test_quote_bars_can_be_loaded_as_one_price_type():
    path = COINBASE / "minute" / "btcusd" / "20170903_quote.zip"

    bid = next(load_lean_quote_bars(path, instrument_id="BTCUSD.COINBASE", price_type="BID"))
    ask = next(load_lean_quote_bars(path, instrument_id="BTCUSD.COINBASE", price_type="ASK"))
    mid = next(load_lean_quote_bars(path, instrument_id="BTCUSD.COINBASE", price_type="MID"))

    # Row: 0,4642.42,4642.42,4642.42,4642.42,0.14,4649.95,4649.95,4649.95,4649.95,0.4
    assert isinstance(bid, Bar)
    assert isinstance(ask, Bar)
    assert isinstance(mid, Bar)
    assert (bid.price_type, bid.open, bid.close) == (PriceType.BID, 4642.42, 4642.42)
    assert (ask.price_type, ask.open, ask.close) == (PriceType.ASK, 4649.95, 4649.95)
    assert (mid.price_type, mid.open, mid.high) == (PriceType.MID, 4646.185, 4646.185)
    assert mid.volume == 0.0
    assert len({bid.event_id, ask.event_id, mid.event_id}) == 3


def test_reloading_a_file_gives_the_same_event_ids():
    path = OANDA_MINUTES / "20140504_quote.zip"

    first, _ = split_items(load_lean_quote_bars(path, instrument_id="EURUSD.OANDA"))
    again, _ = split_items(load_lean_quote_bars(path, instrument_id="EURUSD.OANDA"))
    first = [e.event_id for e in first]
    again = [e.event_id for e in again]

    assert first == again
    assert len(set(first)) == len(first)


def test_quote_bars_refuse_a_trade_price_type():
    path = OANDA_MINUTES / "20140504_quote.zip"

    with pytest.raises(LoaderError, match="TRADE"):
        load_lean_quote_bars(path, instrument_id="EURUSD.OANDA", price_type="TRADE")


def test_a_bad_instrument_id_fails_before_reading():
    path = COINBASE / "minute" / "btcusd" / "20161007_trade.zip"

    with pytest.raises(LoaderError, match=r"SYMBOL\.VENUE"):
        load_lean_trade_bars(path, instrument_id="btcusd")


def test_a_lean_file_outside_the_folder_layout_needs_an_interval(tmp_path):
    source = LEAN / "crypto" / "coinbase" / "minute" / "btcusd" / "20161007_trade.zip"
    copy = tmp_path / "20161007_trade.zip"
    copy.write_bytes(source.read_bytes())

    with pytest.raises(LoaderError, match="pass interval"):
        load_lean_trade_bars(copy, instrument_id="BTCUSD.COINBASE")
    bars = list(load_lean_trade_bars(copy, instrument_id="BTCUSD.COINBASE", interval="1m"))
    assert len(bars) == 1419
