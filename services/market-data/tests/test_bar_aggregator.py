# mypy: allow-untyped-defs, allow-incomplete-defs, allow-untyped-calls
"""BarAggregator on hand-made streams: OHLCV, boundaries, quotes, resampling, closing."""

from __future__ import annotations

import pytest
from jules_contracts import Bar, PriceType, Quote, Trade, derive_event_id
from jules_market_data import BarAggregator, BarAggregatorConfig
from pydantic import ValidationError

MINUTE = 60_000_000_000
T0 = 1_700_000_040 * 1_000_000_000  # a minute boundary (1700000040 = 28333334 * 60)
A = "BTCUSD.TEST"


def trade(time, price, size, instrument=A):
    return Trade(
        event_id=derive_event_id("t", instrument, time, price, size),
        source="test",
        event_time=time,
        instrument_id=instrument,
        price=price,
        size=size,
    )


def quote(time, bid, ask):
    return Quote(
        event_id=derive_event_id("q", time, bid, ask),
        source="test",
        event_time=time,
        instrument_id=A,
        bid_price=bid,
        ask_price=ask,
    )


def ohlcv(bar):
    return (bar.open, bar.high, bar.low, bar.close, bar.volume)


def test_trades_make_ohlcv_bars_with_trade_counts():
    trades = [
        trade(T0 + 1, 100.0, 0.1),
        trade(T0 + 10, 103.0, 0.2),
        trade(T0 + 20, 99.0, 0.1),
        trade(T0 + MINUTE - 1, 101.0, 0.2),
        trade(T0 + MINUTE, 102.0, 1.0),  # on the boundary: opens the next bar
    ]

    bars = list(BarAggregator(BarAggregatorConfig(interval="1m")).aggregate(trades))

    assert [ohlcv(b) for b in bars] == [
        (100.0, 103.0, 99.0, 101.0, 0.6),
        (102.0, 102.0, 102.0, 102.0, 1.0),
    ]
    assert [b.trade_count for b in bars] == [4, 1]
    assert [(b.start_time, b.event_time) for b in bars] == [
        (T0, T0 + MINUTE),
        (T0 + MINUTE, T0 + 2 * MINUTE),
    ]
    assert {b.price_type for b in bars} == {PriceType.TRADE}
    # 0.1 + 0.2 + 0.1 + 0.2 is 0.6000000000000001 in floats; the bar says 0.6.
    assert 0.1 + 0.2 + 0.1 + 0.2 != 0.6


def test_a_bar_is_emitted_when_a_later_interval_starts_and_minutes_without_trades_have_none():
    aggregator = BarAggregator(BarAggregatorConfig(interval="1m"))

    assert aggregator.on_event(trade(T0, 100.0, 1.0)) == []
    closed = aggregator.on_event(trade(T0 + 3 * MINUTE, 101.0, 1.0))

    assert [b.start_time for b in closed] == [T0]
    assert [b.start_time for b in aggregator.flush()] == [T0 + 3 * MINUTE]


def test_advance_closes_bars_of_quiet_instruments_in_time_then_instrument_order():
    aggregator = BarAggregator(BarAggregatorConfig(interval="1m"))
    aggregator.on_event(trade(T0 + 5, 1.0, 1.0, instrument="ZZZ.TEST"))
    aggregator.on_event(trade(T0 + 9, 2.0, 1.0, instrument="AAA.TEST"))

    assert aggregator.advance(T0 + MINUTE - 1) == []
    closed = aggregator.advance(T0 + MINUTE)

    assert [b.instrument_id for b in closed] == ["AAA.TEST", "ZZZ.TEST"]
    assert aggregator.flush() == []


def test_quotes_make_bid_ask_and_mid_bars():
    quotes = [quote(T0, 1.0, 1.2), quote(T0 + 5, 0.9, 1.3), quote(T0 + 9, 1.1, 1.15)]
    config = BarAggregatorConfig(
        interval="1m", quote_price_types=(PriceType.BID, PriceType.ASK, PriceType.MID)
    )

    bars = {b.price_type: b for b in BarAggregator(config).aggregate(quotes)}

    assert ohlcv(bars[PriceType.BID]) == (1.0, 1.1, 0.9, 1.1, 0.0)
    assert ohlcv(bars[PriceType.ASK]) == (1.2, 1.3, 1.15, 1.15, 0.0)
    # Mid per quote: 1.1, 1.1, 1.125 (decimal means, not float sums).
    assert ohlcv(bars[PriceType.MID]) == (1.1, 1.125, 1.1, 1.125, 0.0)
    assert bars[PriceType.BID].trade_count is None


def test_bars_resample_into_longer_bars_keeping_counts_and_price_type():
    def second_bar(start, o, h, lo, c, v):
        return Bar(
            event_id=derive_event_id("b", start),
            source="test",
            event_time=start + 1_000_000_000,
            start_time=start,
            instrument_id=A,
            interval="1s",
            price_type=PriceType.BID,
            open=o,
            high=h,
            low=lo,
            close=c,
            volume=v,
            trade_count=2,
        )

    seconds = [second_bar(T0, 5, 6, 4, 5, 0.1), second_bar(T0 + 59_000_000_000, 5, 9, 3, 8, 0.2)]

    [bar] = BarAggregator(BarAggregatorConfig(interval="1m")).aggregate(seconds)

    assert ohlcv(bar) == (5.0, 9.0, 3.0, 8.0, 0.3)
    assert (bar.trade_count, bar.price_type, bar.interval) == (4, PriceType.BID, "1m")


def test_a_bar_longer_than_the_target_interval_is_refused():
    hour_bar = Bar(
        event_id=derive_event_id("h"),
        source="test",
        event_time=T0 + 60 * MINUTE,
        start_time=T0,
        instrument_id=A,
        interval="1h",
        open=1.0,
        high=1.0,
        low=1.0,
        close=1.0,
    )

    with pytest.raises(ValueError, match="does not fit"):
        BarAggregator(BarAggregatorConfig(interval="1m")).on_event(hour_bar)


def test_late_events_are_counted_not_used():
    aggregator = BarAggregator(BarAggregatorConfig(interval="1m"))
    aggregator.on_event(trade(T0 + MINUTE, 100.0, 1.0))

    assert aggregator.on_event(trade(T0, 50.0, 1.0)) == []

    [bar] = aggregator.flush()
    assert aggregator.late == 1
    assert bar.low == 100.0


def test_bar_ids_are_deterministic_and_derived_from_the_last_input():
    trades = [trade(T0, 100.0, 1.0), trade(T0 + 1, 101.0, 1.0)]

    first = list(BarAggregator().aggregate(trades))
    second = list(BarAggregator().aggregate(trades))

    assert first == second
    assert first[0].causation_id == trades[-1].event_id


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"interval": "1 minute"}, "interval"),
        ({"interval": "0m"}, "interval"),
        ({"quote_price_types": ()}, "quote_price_types"),
        ({"quote_price_types": ("TRADE",)}, "quote_price_types"),
        ({"quote_price_types": ("BID", "BID")}, "quote_price_types"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_aggregator_config_fails_naming_the_field(kwargs, field):
    with pytest.raises(ValidationError, match=field):
        BarAggregatorConfig(**kwargs)
