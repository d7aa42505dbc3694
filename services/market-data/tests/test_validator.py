# mypy: allow-untyped-defs, allow-incomplete-defs, allow-untyped-calls
"""MarketDataValidator: order, duplicates, crossed markets, book continuity, and its report."""

from __future__ import annotations

import pytest
from jules_contracts import (
    AggressorSide,
    BookDelta,
    BookSide,
    BookSnapshot,
    Quote,
    Trade,
    derive_event_id,
)
from jules_market_data import (
    MarketDataValidator,
    Rejection,
    RejectReason,
    ValidatorConfig,
    load,
    merge_streams,
)
from pydantic import ValidationError

from .data import BITSTAMP, FXCM_TICKS, HFT, loaded, ns, rejection, split  # type: ignore[import-not-found]

BTC = "BTCUSD.TEST"


def trade(time, price=100.0, size=1.0, trade_id=None, key=None, instrument=BTC):
    return Trade(
        event_id=derive_event_id("t", instrument, time, price, size, trade_id, key),
        source="test",
        event_time=time,
        instrument_id=instrument,
        price=price,
        size=size,
        trade_id=trade_id,
        aggressor_side=AggressorSide.BUYER,
    )


def quote(time, bid, ask, instrument=BTC):
    return Quote(
        event_id=derive_event_id("q", instrument, time, bid, ask),
        source="test",
        event_time=time,
        instrument_id=instrument,
        bid_price=bid,
        ask_price=ask,
    )


def reasons(items):
    return [item.reason if isinstance(item, Rejection) else None for item in items]


def test_an_event_earlier_than_its_stream_is_out_of_order():
    validator = MarketDataValidator()

    items = list(validator.validate([trade(10), trade(20), trade(15), trade(20, price=101.0)]))

    assert reasons(items) == [None, None, RejectReason.OUT_OF_ORDER, None]
    assert "15 is before 20" in rejection(items[2]).detail
    assert rejection(items[2]).location == f"event {trade(15).event_id}"


def test_order_is_kept_per_instrument_and_per_kind():
    validator = MarketDataValidator()
    stream = [trade(20), trade(10, instrument="ETHUSD.TEST"), quote(5, 99.0, 101.0)]

    items = list(validator.validate(stream))

    assert reasons(items) == [None, None, None]


def test_equal_times_can_be_refused():
    validator = MarketDataValidator(ValidatorConfig(allow_equal_times=False))

    items = list(validator.validate([trade(10), trade(10, price=99.0)]))

    assert reasons(items) == [None, RejectReason.OUT_OF_ORDER]


def test_the_same_event_twice_is_a_duplicate():
    validator = MarketDataValidator()
    first = trade(10)

    items = list(validator.validate([first, first]))

    assert reasons(items) == [None, RejectReason.DUPLICATE]
    assert first.event_id in rejection(items[1]).detail


def test_the_same_venue_trade_id_twice_is_a_duplicate():
    validator = MarketDataValidator()

    items = list(validator.validate([trade(10, trade_id="7"), trade(11, trade_id="7", key=2)]))

    assert reasons(items) == [None, RejectReason.DUPLICATE]
    assert "trade_id 7" in rejection(items[1]).detail


def test_identical_trade_content_is_a_duplicate_only_when_configured():
    twins = [trade(10, key=1), trade(10, key=2), trade(11, key=3)]

    default = list(MarketDataValidator().validate(twins))
    strict = list(MarketDataValidator(ValidatorConfig(trade_content_dedup=True)).validate(twins))

    assert reasons(default) == [None, None, None]
    assert reasons(strict) == [None, RejectReason.DUPLICATE, None]


def test_crossed_quotes_are_refused_and_locked_ones_only_when_configured():
    stream = [quote(1, 100.0, 101.0), quote(2, 101.5, 101.0), quote(3, 101.0, 101.0)]

    default = list(MarketDataValidator().validate(stream))
    strict = list(MarketDataValidator(ValidatorConfig(reject_locked_quotes=True)).validate(stream))
    lenient = list(
        MarketDataValidator(ValidatorConfig(reject_crossed_quotes=False)).validate(stream)
    )

    assert reasons(default) == [None, RejectReason.CROSSED_BOOK, None]
    assert reasons(strict) == [None, RejectReason.CROSSED_BOOK, RejectReason.LOCKED_BOOK]
    assert reasons(lenient) == [None, None, None]
    assert "bid_price 101.5 is above ask_price 101.0" in rejection(default[1]).detail


def book_snapshot(time, sequence, bid, ask):
    return BookSnapshot.model_validate(
        {
            "event_id": derive_event_id("s", time),
            "source": "test",
            "event_time": time,
            "instrument_id": BTC,
            "bids": [{"price": bid, "size": 1.0}],
            "asks": [{"price": ask, "size": 1.0}],
            "sequence": sequence,
        }
    )


def book_delta(time, first, last, side, price, size):
    return BookDelta.model_validate(
        {
            "event_id": derive_event_id("d", time),
            "source": "test",
            "event_time": time,
            "instrument_id": BTC,
            "changes": [{"side": side, "price": price, "size": size}],
            "first_sequence": first,
            "sequence": last,
        }
    )


def test_book_snapshots_and_deltas_are_checked_for_crossing_and_gaps():
    validator = MarketDataValidator()
    stream = [
        book_snapshot(1, 10, 100.0, 101.0),
        book_delta(2, 11, 11, BookSide.BID, 100.5, 1.0),
        book_delta(3, 12, 12, BookSide.BID, 101.0, 1.0),  # bid reaches the ask: crossed
        book_delta(4, 13, 13, BookSide.ASK, 102.0, 1.0),  # book waits for a snapshot
        book_snapshot(5, 20, 101.0, 100.0),  # crossed snapshot
        book_snapshot(6, 30, 100.0, 101.0),
        book_delta(7, 33, 34, BookSide.ASK, 101.5, 1.0),  # 31..32 missing
    ]

    items = list(validator.validate(stream))

    assert reasons(items) == [
        None,
        None,
        RejectReason.CROSSED_BOOK,
        None,  # buffered: a later snapshot may use it
        RejectReason.CROSSED_BOOK,
        None,
        RejectReason.SEQUENCE_GAP,
    ]
    book = validator.book(BTC)
    assert book is not None
    assert not book.synced


def test_loader_rejections_pass_through_and_everything_is_counted():
    validator = MarketDataValidator()
    loader_rejection = Rejection("test", "f.csv:3", RejectReason.MALFORMED, "bad")
    stream = [trade(10), loader_rejection, trade(5), quote(6, 2.0, 1.0)]

    items = list(validator.validate(stream))
    report = validator.report()

    assert items[1] is loader_rejection
    assert report.accepted == 1
    assert report.rejected == {
        RejectReason.CROSSED_BOOK: 1,
        RejectReason.MALFORMED: 1,
        RejectReason.OUT_OF_ORDER: 1,
    }
    assert report.total == 4
    assert report.accepted_by_instrument == {BTC: 1}


def test_the_dedup_window_forgets_old_ids():
    validator = MarketDataValidator(ValidatorConfig(dedup_window=2))
    first = trade(1)

    items = list(validator.validate([first, trade(2), trade(3), first]))

    # The repeat is no longer remembered as a duplicate but is still out of order.
    assert reasons(items) == [None, None, None, RejectReason.OUT_OF_ORDER]


@pytest.mark.parametrize(
    ("field", "value"),
    [("dedup_window", 0), ("dedup_window", "many"), ("book", {"max_buffered_deltas": -1})],
)
def test_bad_config_fails_naming_the_field(field, value):
    with pytest.raises(ValidationError, match=field):
        ValidatorConfig(**{field: value})


def test_fxcm_crossed_quotes_are_counted_exactly():
    path = FXCM_TICKS / "20140505_quote.zip"
    quotes, _ = split(loaded(path))
    crossed = sum(q.bid_price > q.ask_price for q in quotes)  # independent count
    validator = MarketDataValidator()

    _, rejected = split(validator.validate(quotes))

    assert crossed == 4_987  # about 8.6% of FXCM's ticks that day: bid above ask
    assert len(rejected) == crossed
    assert {r.reason for r in rejected} == {RejectReason.CROSSED_BOOK}
    assert validator.report().accepted == len(quotes) - crossed


def test_bitstamp_validates_cleanly_and_content_dedup_would_flag_same_second_twins():
    events, _ = split(loaded(BITSTAMP))
    strict = MarketDataValidator(ValidatorConfig(trade_content_dedup=True))

    default_report = MarketDataValidator()
    list(default_report.validate(loaded(BITSTAMP)))
    list(strict.validate(events))

    assert default_report.report().accepted == len(events)
    assert default_report.report().rejected == {RejectReason.ZERO_SIZE: 1}
    seen, twins = set(), 0
    for event in events:
        key = (event.event_time, event.price, event.size)
        twins += key in seen
        seen.add(key)
    assert twins == 1_695
    assert strict.report().rejected == {RejectReason.DUPLICATE: twins}


def test_the_real_binance_spot_feed_validates_without_a_rejection():
    spot = [HFT / "spot" / "btcusdt_20240808.gz", HFT / "spot" / "btcusdt_20240809.gz"]
    validator = MarketDataValidator()

    items = list(validator.validate(merge_streams(*(loaded(path) for path in spot))))

    report = validator.report()
    assert report.rejected == {}
    assert report.accepted == len(items) == 41_249 + 58_325
    book = validator.book("BTCUSDT.BINANCE")
    assert book is not None
    assert book.synced


def test_stream_problems_in_files_are_refused_after_loading(tmp_path):
    trades = tmp_path / "trades.csv"
    trades.write_text(
        "timestamp,price,amount,id\n"
        "2024-01-02T10:00:00Z,100,1,t1\n"
        "2024-01-02T10:00:02Z,101,1,t2\n"
        "2024-01-02T10:00:01Z,102,1,t3\n"  # earlier than the previous trade
        "2024-01-02T10:00:03Z,101,1,t2\n"  # the venue sent trade t2 again
    )
    quotes = tmp_path / "quotes.csv"
    quotes.write_text(
        "timestamp,bid,ask\n2024-01-02T10:00:00Z,1.1,1.2\n2024-01-02T10:00:01Z,1.3,1.2\n"
    )
    validator = MarketDataValidator()

    items = list(
        validator.validate(
            merge_streams(
                load(trades, instrument_id="ABC.TEST"), load(quotes, instrument_id="ABC.TEST")
            )
        )
    )

    refused = [
        (rejection(i).reason, rejection(i).event_time) for i in items if isinstance(i, Rejection)
    ]
    assert refused == [
        (RejectReason.CROSSED_BOOK, ns("2024-01-02 10:00:01")),
        (RejectReason.OUT_OF_ORDER, ns("2024-01-02 10:00:01")),
        (RejectReason.DUPLICATE, ns("2024-01-02 10:00:03")),
    ]
    assert validator.report().accepted == 3
