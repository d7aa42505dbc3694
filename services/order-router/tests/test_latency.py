"""Latency: an order may only fill against market events at or after acceptance + latency."""

from __future__ import annotations

from jules_contracts import OrderSide
from jules_order_router.engine import L1Quote

from .helpers import (  # type: ignore[import-not-found]
    SECOND,
    T0,
    approve,
    bar_time,
    feed,
    fills,
    make_bar,
    make_engine,
    make_quote,
)


def test_latency_pushes_a_bar_fill_to_the_first_bar_starting_after_it() -> None:
    engine = make_engine(latency_ns=30 * SECOND)
    engine.on_decision(approve("a", OrderSide.BUY, 1, at=bar_time(0)))

    skipped = engine.on_market(make_bar(1, 100.0))  # starts at acceptance, before it is live
    [filled] = fills(engine.on_market(make_bar(2, 107.0)))

    assert skipped == []
    assert filled.last_price == 107.0


def test_latency_on_quotes_is_at_or_after_acceptance_plus_latency() -> None:
    engine = make_engine(fill_model=L1Quote(), latency_ns=250_000_000)
    engine.on_decision(approve("a", OrderSide.BUY, 1, at=T0))

    early = feed(engine, [make_quote(T0 + 100_000_000, 99.0, 100.0)])
    [filled] = fills(feed(engine, [make_quote(T0 + 250_000_000, 99.5, 100.5)]))

    assert early == []
    assert filled.last_price == 100.5


def test_without_latency_a_quote_at_the_acceptance_time_is_eligible() -> None:
    engine = make_engine(fill_model=L1Quote())
    engine.on_decision(approve("a", OrderSide.SELL, 1, at=T0))

    [filled] = fills(feed(engine, [make_quote(T0, 99.0, 100.0)]))

    assert filled.last_price == 99.0
