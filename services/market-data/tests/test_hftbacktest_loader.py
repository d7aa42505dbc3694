# mypy: allow-untyped-defs, allow-incomplete-defs, allow-untyped-calls
"""hftbacktest Binance feeds load every message, stamped with the local receive time."""

from __future__ import annotations

import gzip
import json
from collections import Counter

import pytest
from jules_contracts import AggressorSide, BookDelta, BookSnapshot, Quote, Trade
from jules_market_data.loaders import load, load_hftbacktest

from .data import HFT, loaded, ns, readme_count, split  # type: ignore[import-not-found]

SPOT_0808 = HFT / "spot" / "btcusdt_20240808.gz"
SPOT_0809 = HFT / "spot" / "btcusdt_20240809.gz"
USDM_0808 = HFT / "usdm" / "btcusdt_20240808.gz"


def _kinds(path):
    events, rejections = split(loaded(path))
    assert rejections == []
    return events, Counter(type(e).__name__ for e in events)


def test_spot_0808_loads_the_readme_message_counts():
    events, kinds = _kinds(SPOT_0808)

    assert len(events) == readme_count(SPOT_0808) == 41_249
    assert kinds == {"Trade": 9_757, "Quote": 28_040, "BookDelta": 3_451, "BookSnapshot": 1}


def test_spot_0809_continues_without_a_snapshot():
    events, kinds = _kinds(SPOT_0809)

    assert len(events) == readme_count(SPOT_0809)
    assert kinds == {"Trade": 10_147, "Quote": 45_134, "BookDelta": 3_044}


def test_usdm_0808_loads_the_readme_message_counts():
    events, kinds = _kinds(USDM_0808)

    assert len(events) == readme_count(USDM_0808)
    assert kinds == {"Trade": 21_313, "Quote": 66_089, "BookDelta": 6_551, "BookSnapshot": 1}


def test_spot_files_cover_the_readme_time_span_in_local_time():
    first = loaded(SPOT_0808)[0]
    last = loaded(SPOT_0809)[-1]

    assert first.event_time == 1_723_161_253_937_085_768  # first column of line 1
    assert ns("2024-08-08 23:54:13") <= first.event_time < ns("2024-08-08 23:54:14")
    assert ns("2024-08-09 00:05:04") <= last.event_time < ns("2024-08-09 00:05:05")
    times = [e.event_time for e in loaded(SPOT_0808) + loaded(SPOT_0809)]
    assert times == sorted(times)


def test_trade_fields_follow_binance_semantics():
    # Line 4 of the spot file: {"t":3735683259,"p":"61837.63000000","q":"0.02000000","m":true}
    trade = next(e for e in loaded(SPOT_0808) if isinstance(e, Trade))

    assert (trade.price, trade.size, trade.trade_id) == (61837.63, 0.02, "3735683259")
    # m = true: the buyer was the maker, so the seller took liquidity.
    assert trade.aggressor_side is AggressorSide.SELLER
    assert trade.event_time == 1_723_161_254_087_896_568


def test_book_ticker_becomes_a_quote_with_sizes():
    quote = next(e for e in loaded(SPOT_0808) if isinstance(e, Quote))

    assert (quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size) == (
        61837.63,
        3.78826,
        61837.64,
        1.54698,
    )


def test_depth_snapshot_and_deltas_carry_binance_update_ids():
    events = loaded(SPOT_0808)
    snapshot = next(e for e in events if isinstance(e, BookSnapshot))
    first_delta = next(e for e in events if isinstance(e, BookDelta))

    assert snapshot.sequence == 50_093_239_218
    assert len(snapshot.bids) == len(snapshot.asks) == 1000
    assert (first_delta.first_sequence, first_delta.sequence) == (50_093_239_189, 50_093_239_202)
    assert first_delta.changes[0].price == 61737.63
    assert first_delta.changes[0].size == 0.0


def test_futures_deltas_start_right_after_the_previous_update_pu():
    with gzip.open(USDM_0808, "rt") as handle:
        message = json.loads(handle.readline().partition(" ")[2])["data"]
    delta = next(e for e in loaded(USDM_0808) if isinstance(e, BookDelta))

    assert delta.sequence == message["u"]
    assert delta.first_sequence == message["pu"] + 1
    changes = len(message["b"]) + len(message["a"])
    assert len(delta.changes) == changes


def test_event_ids_are_unique():
    # (Reloading gives the same ids: see test_lean_loaders; these files take seconds.)
    ids = [e.event_id for e in loaded(SPOT_0808) + loaded(SPOT_0809) + loaded(USDM_0808)]

    assert len(set(ids)) == len(ids)


def test_asking_for_some_kinds_reads_exactly_those_messages():
    every = [e for e in load(USDM_0808) if isinstance(e, BookSnapshot | BookDelta)]
    books, rejections = split(load(USDM_0808, kinds={"book"}))
    assert rejections == []
    assert [e.event_id for e in books] == [e.event_id for e in every]  # same events, same ids
    trades = list(load_hftbacktest(USDM_0808, instrument_id="X.Y", kinds=["trade", "quote"]))
    assert Counter(type(e).__name__ for e in trades) == {"Trade": 21_313, "Quote": 66_089}


def test_an_unknown_kind_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown message kinds \['depth'\].*'book'"):
        load_hftbacktest(USDM_0808, instrument_id="X.Y", kinds={"depth"})
