"""Quote and book features (spread, imbalance, microprice, depth imbalance) on hand-made data."""

from __future__ import annotations

import pytest
from jules_contracts import (
    Bar,
    BookChange,
    BookDelta,
    BookLevel,
    BookSide,
    BookSnapshot,
    Quote,
    derive_event_id,
)
from jules_features.engine import FeatureEngine, FeatureEngineConfig, FeatureSchema

from .market_data import MINUTE_NS, make_bar

INSTRUMENT = "BTCUSDT.BINANCE"
T0 = 1_723_161_600 * 1_000_000_000  # 2024-08-09 00:00 UTC
SCHEMA = FeatureSchema.from_names(
    ["sma_2", "spread", "spread_bps", "book_imbalance", "microprice", "book_imbalance_2"]
)
BOOK_FEATURES = SCHEMA.names[1:]


def quote(
    t: int,
    bid: float,
    ask: float,
    bid_size: float = 0.0,
    ask_size: float = 0.0,
    instrument: str = INSTRUMENT,
) -> Quote:
    return Quote(
        event_id=derive_event_id("md.quote", instrument, t),
        source="test",
        event_time=t,
        instrument_id=instrument,
        bid_price=bid,
        ask_price=ask,
        bid_size=bid_size,
        ask_size=ask_size,
    )


def snapshot(
    t: int, bids: list[tuple[float, float]], asks: list[tuple[float, float]]
) -> BookSnapshot:
    return BookSnapshot(
        event_id=derive_event_id("md.book_snapshot", INSTRUMENT, t),
        source="test",
        event_time=t,
        instrument_id=INSTRUMENT,
        bids=tuple(BookLevel(price=p, size=s) for p, s in bids),
        asks=tuple(BookLevel(price=p, size=s) for p, s in asks),
    )


def delta(t: int, *changes: tuple[BookSide, float, float]) -> BookDelta:
    return BookDelta(
        event_id=derive_event_id("md.book_delta", INSTRUMENT, t),
        source="test",
        event_time=t,
        instrument_id=INSTRUMENT,
        changes=tuple(BookChange(side=side, price=p, size=s) for side, p, s in changes),
    )


def bar(minute: int, instrument: str = INSTRUMENT) -> Bar:
    return make_bar(instrument, T0 + minute * MINUTE_NS, (100.0, 101.0, 99.0, 100.0, 1.0))


def book_values(
    engine: FeatureEngine, minute: int, instrument: str = INSTRUMENT
) -> dict[str, float | None]:
    features = engine.on_bar(bar(minute, instrument)).features
    return {name: features[name] for name in BOOK_FEATURES}


def test_quote_features_are_undefined_before_any_quote():
    engine = FeatureEngine(SCHEMA)

    assert book_values(engine, 0) == dict.fromkeys(BOOK_FEATURES)


def test_latest_quote_gives_spread_imbalance_and_microprice_of_the_next_bar():
    engine = FeatureEngine(SCHEMA)
    engine.on_quote(quote(T0 + 10, 99.0, 101.0, bid_size=1.0, ask_size=9.0))
    engine.on_quote(quote(T0 + 20, 100.0, 100.5, bid_size=3.0, ask_size=1.0))

    values = book_values(engine, 0)

    assert values["spread"] == pytest.approx(0.5)
    assert values["spread_bps"] == pytest.approx(0.5 / 100.25 * 10_000)
    assert values["book_imbalance"] == pytest.approx((3 - 1) / 4)
    # Microprice leans toward the ask when the bid is heavier: (100*1 + 100.5*3) / 4.
    assert values["microprice"] == pytest.approx(100.375)
    assert values["book_imbalance_2"] is None  # no L2 book yet


def test_quotes_without_sizes_give_spread_but_no_size_features():
    engine = FeatureEngine(SCHEMA)
    engine.on_quote(quote(T0, 1.08001, 1.08011))

    values = book_values(engine, 0)

    assert values["spread"] == pytest.approx(0.0001)
    assert values["book_imbalance"] is None
    assert values["microprice"] is None


def test_book_snapshot_and_deltas_give_depth_imbalance_over_the_best_levels():
    engine = FeatureEngine(SCHEMA)
    engine.on_book(
        snapshot(
            T0, bids=[(100.0, 2.0), (99.0, 4.0), (98.0, 50.0)], asks=[(101.0, 1.0), (102.0, 1.0)]
        )
    )

    first = book_values(engine, 0)
    # Best 2 levels: bids 2 + 4 = 6, asks 1 + 1 = 2; level 98 is beyond depth 2.
    assert first["book_imbalance_2"] == pytest.approx((6 - 2) / 8)
    # Top of book from the book's best levels.
    assert first["spread"] == pytest.approx(1.0)
    assert first["book_imbalance"] == pytest.approx((2 - 1) / 3)
    assert first["microprice"] == pytest.approx((100 * 1 + 101 * 2) / 3)

    engine.on_book(
        delta(T0 + MINUTE_NS + 5, (BookSide.BID, 100.0, 0.0), (BookSide.ASK, 100.5, 6.0))
    )
    second = book_values(engine, 1)
    # Bid 100 removed: best bids 99 (4) and 98 (50); asks 100.5 (6) and 101 (1).
    assert second["book_imbalance_2"] == pytest.approx((54 - 7) / 61)
    assert second["spread"] == pytest.approx(1.5)
    assert second["book_imbalance"] == pytest.approx((4 - 6) / 10)


def test_depth_imbalance_uses_the_levels_a_thin_book_has():
    engine = FeatureEngine(SCHEMA)
    engine.on_book(
        snapshot(T0, bids=[(100.0, 3.0)], asks=[(101.0, 1.0), (102.0, 2.0), (103.0, 9.0)])
    )

    assert book_values(engine, 0)["book_imbalance_2"] == pytest.approx((3 - 3) / 6)


def test_deltas_before_the_first_snapshot_are_ignored():
    engine = FeatureEngine(SCHEMA)
    engine.on_book(delta(T0, (BookSide.BID, 100.0, 1.0), (BookSide.ASK, 101.0, 1.0)))

    assert book_values(engine, 0) == dict.fromkeys(BOOK_FEATURES)


def test_one_sided_book_has_no_top_of_book_features():
    engine = FeatureEngine(SCHEMA)
    engine.on_book(snapshot(T0, bids=[(100.0, 3.0)], asks=[]))

    values = book_values(engine, 0)

    assert values["spread"] is None
    assert values["microprice"] is None
    assert values["book_imbalance_2"] == pytest.approx(1.0)


def test_the_latest_of_quote_and_book_is_the_top_of_book():
    engine = FeatureEngine(SCHEMA)
    engine.on_book(snapshot(T0, bids=[(100.0, 1.0)], asks=[(102.0, 1.0)]))
    engine.on_quote(quote(T0 + 1, 100.0, 100.1, 1.0, 1.0))
    assert book_values(engine, 0)["spread"] == pytest.approx(0.1)

    engine.on_book(delta(T0 + MINUTE_NS + 1, (BookSide.ASK, 101.0, 1.0)))
    assert book_values(engine, 1)["spread"] == pytest.approx(1.0)


def test_stale_quotes_and_books_are_undefined_when_a_maximum_age_is_set():
    engine = FeatureEngine(SCHEMA, FeatureEngineConfig(book_max_age_ns=30 * 1_000_000_000))
    engine.on_book(snapshot(T0, bids=[(100.0, 1.0)], asks=[(101.0, 1.0)]))
    engine.on_quote(quote(T0 + 45 * 1_000_000_000, 100.0, 100.2, 1.0, 1.0))

    # The bar closes at T0 + 60 s: the quote is 15 s old, the book 60 s old.
    values = book_values(engine, 0)

    assert values["spread"] == pytest.approx(0.2)
    assert values["book_imbalance_2"] is None
    assert book_values(engine, 1) == dict.fromkeys(BOOK_FEATURES)  # 75 s later, all stale


def test_quotes_of_one_instrument_do_not_leak_into_another():
    engine = FeatureEngine(SCHEMA)
    engine.on_quote(quote(T0, 100.0, 100.5, 1.0, 1.0, instrument="ETHUSDT.BINANCE"))

    assert book_values(engine, 0)["spread"] is None
    assert book_values(engine, 0, "ETHUSDT.BINANCE")["spread"] == pytest.approx(0.5)
