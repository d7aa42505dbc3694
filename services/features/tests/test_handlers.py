"""The service's handler on the in-memory bus: a vector per bar on ``features.v1``, quotes and
books only update the state the next vector reads."""

from __future__ import annotations

import pytest
from jules_contracts import FeatureVector, decode_event
from jules_contracts.topics import FEATURES, MD_BARS, MD_BOOK, MD_QUOTES
from jules_features.engine import FeatureEngine
from jules_features.handlers import INPUT_TOPICS, market_data_handler
from jules_runtime.bus import InMemoryBus

from .market_data import MINUTE_NS
from .test_book_features import SCHEMA, T0, bar, quote, snapshot


async def test_each_bar_gives_the_engines_vector_and_quotes_and_books_publish_nothing() -> None:
    first_quote, first_bar = quote(T0 + 10, 99.0, 101.0, 1.0, 9.0), bar(0)
    later_book = snapshot(
        T0 + MINUTE_NS + 10, [(100.0, 3.0), (99.0, 1.0)], [(101.0, 1.0), (102.0, 1.0)]
    )
    second_bar = bar(1)
    bus = InMemoryBus("features")
    bus.subscribe(INPUT_TOPICS, market_data_handler(FeatureEngine(SCHEMA)))
    await bus.start()

    await bus.publish(first_quote, first_bar, later_book, second_bar)
    await bus.drain()

    assert INPUT_TOPICS == (MD_BARS, MD_QUOTES, MD_BOOK)
    published = [decode_event(record.value) for record in bus.records(FEATURES.name)]
    reference = FeatureEngine(SCHEMA)
    reference.on_quote(first_quote)
    first = reference.on_bar(first_bar)
    reference.on_book(later_book)
    second = reference.on_bar(second_bar)
    assert published == [first, second]
    assert isinstance(published[1], FeatureVector)
    assert first.features["book_imbalance_2"] is None
    assert published[1].features["book_imbalance_2"] == pytest.approx((4 - 2) / 6)
