"""Users' strategies on ticks: the quote, trade and book hooks, their signals, timers and
quarantine, and the three tick examples (quote momentum, trade flow, book imbalance)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jules_contracts import (
    AggressorSide,
    AlertCode,
    BookLevel,
    BookSnapshot,
    Quote,
    SignalDirection,
    Trade,
    derive_event_id,
)
from jules_signal.engine import PythonStrategy, StrategyQuarantinedError, quarantine_alert
from jules_signal.examples.book_imbalance import BookImbalance, BookImbalanceParams
from jules_signal.examples.quote_momentum import QuoteMomentum, QuoteMomentumParams
from jules_signal.examples.trade_flow import TradeFlow, TradeFlowParams
from jules_signal.sdk import Bar, Features, Params, Strategy, Timer

from .builders import BTC, ETH, T0, make_bar, make_features

SECOND = 1_000_000_000


def quote(ms: int, bid: float, ask: float, instrument: str = BTC) -> Quote:
    return Quote(
        event_id=derive_event_id("test-quote", instrument, ms),
        source="market-data",
        event_time=T0 + ms * 1_000_000,
        instrument_id=instrument,
        bid_price=bid,
        ask_price=ask,
    )


def trade(ms: int, price: float, size: float, side: AggressorSide) -> Trade:
    return Trade(
        event_id=derive_event_id("test-trade", ms, repr(price), repr(size)),
        source="market-data",
        event_time=T0 + ms * 1_000_000,
        instrument_id=BTC,
        price=price,
        size=size,
        aggressor_side=side,
    )


def book(ms: int, bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> BookSnapshot:
    return BookSnapshot(
        event_id=derive_event_id("test-book", ms),
        source="market-data",
        event_time=T0 + ms * 1_000_000,
        instrument_id=BTC,
        bids=tuple(BookLevel(price=p, size=s) for p, s in bids),
        asks=tuple(BookLevel(price=p, size=s) for p, s in asks),
    )


class Spread(Strategy[Params]):
    """Long BTC when its spread is under 1, flat otherwise; ETH follows on BTC's trades."""

    seen: list[tuple[str, int]]

    def on_start(self) -> None:
        self.seen = []
        self.every("tick", timedelta(seconds=1))

    def on_timer(self, timer: Timer) -> None:
        self.seen.append((timer.name, timer.time))

    def on_quote(self, quote: Quote) -> None:
        self.seen.append(("quote", quote.event_time))
        self.target(quote.instrument_id, 1.0 if quote.ask_price - quote.bid_price < 1 else 0.0)

    def on_trade(self, trade: Trade) -> None:
        self.target(ETH, 0.5)


def spread() -> PythonStrategy:
    return PythonStrategy(Spread(Params()), "spread")


def test_a_strategy_asks_for_the_ticks_whose_hooks_it_overrides() -> None:
    assert spread().market_kinds == frozenset({Quote, Trade})
    assert PythonStrategy(BookImbalance(BookImbalanceParams()), "b").market_kinds == {BookSnapshot}


def test_a_target_on_a_quote_is_a_signal_derived_from_it_at_its_mid() -> None:
    strategy = spread()
    first = strategy.on_market(quote(0, 100.0, 100.5))
    assert [(s.direction, s.reference_price, s.feature_schema_id) for s in first] == [
        (SignalDirection.LONG, 100.25, None)
    ]
    assert first[0].causation_id == quote(0, 100.0, 100.5).event_id
    assert strategy.on_market(quote(100, 100.0, 100.4)) == []  # same target: no news
    wide = strategy.on_market(quote(200, 100.0, 102.0))
    assert [(s.target_weight, s.reference_price) for s in wide] == [(0.0, 101.0)]
    # the same ticks give the same signal ids (a replay regenerates them)
    again = spread()
    assert again.on_market(quote(0, 100.0, 100.5))[0].event_id == first[0].event_id


def test_another_instruments_target_on_a_tick_is_priced_at_its_latest_price() -> None:
    strategy = spread()
    with pytest.raises(StrategyQuarantinedError, match="no bar or tick yet"):
        strategy.on_market(trade(0, 100.0, 1.0, AggressorSide.BUYER))

    strategy = spread()
    eth_bar = make_bar(0, 2000.0, instrument=ETH)
    strategy.on_features(make_features(eth_bar, {"logret_1": None}), eth_bar)
    strategy.on_market(quote(0, 2001.0, 2003.0, instrument=ETH))  # ETH's latest: 2002 mid
    (signal,) = strategy.on_market(trade(61_000, 100.0, 1.0, AggressorSide.BUYER))
    assert (signal.instrument_id, signal.target_weight, signal.reference_price) == (
        ETH,
        0.5,
        2002.0,
    )


def test_timers_fire_on_ticks_in_event_time_before_the_tick_hook() -> None:
    strategy = spread()
    for ms in (0, 500, 1000, 3500):
        strategy.on_market(quote(ms, 100.0, 100.5))
    seen = strategy.strategy.seen  # type: ignore[attr-defined]
    assert seen == [
        ("quote", T0),
        ("quote", T0 + 500_000_000),
        ("tick", T0 + SECOND),
        ("quote", T0 + SECOND),
        ("tick", T0 + 2 * SECOND),  # due twice since the last tick: fires once
        ("quote", T0 + 3_500_000_000),
    ]


class Raises(Strategy[Params]):
    def on_book(self, book: BookSnapshot) -> None:
        raise ZeroDivisionError("empty side")


def test_a_tick_hook_that_raises_quarantines_the_strategy_with_an_alert_on_the_tick() -> None:
    strategy = PythonStrategy(Raises(Params()), "raises")
    snapshot = book(0, [(100.0, 1.0)], [(101.0, 1.0)])
    with pytest.raises(StrategyQuarantinedError, match="on_book raised ZeroDivisionError") as info:
        strategy.on_market(snapshot)
    alert = quarantine_alert(snapshot, info.value)
    assert (alert.code, alert.instrument_id, alert.causation_id) == (
        AlertCode.STRATEGY_QUARANTINED,
        BTC,
        snapshot.event_id,
    )
    assert strategy.on_market(snapshot) == []  # quarantined: decides nothing more


def test_quote_momentum_follows_the_mid_trend_in_spreads_and_holds_a_minimum_time() -> None:
    params = QuoteMomentumParams(fast=2, slow=10, scale_spreads=1, threshold=0.5, min_hold_s=5)
    strategy = PythonStrategy(QuoteMomentum(params), "qm")
    signals = []
    for i in range(20):  # a steady rise of 0.5 a quote with a spread of 0.1
        signals += strategy.on_market(quote(i * 100, 100 + i * 0.5, 100.1 + i * 0.5))
    assert [s.direction for s in signals] == [SignalDirection.LONG]
    signals = []
    for i in range(20, 40):  # a fall: the target waits out the 5 s minimum hold
        signals += strategy.on_market(quote(i * 100, 110 - i * 0.5, 110.1 - i * 0.5))
    assert signals == []
    later = strategy.on_market(quote(10_000, 90.0, 90.1))
    assert [s.direction for s in later] == [SignalDirection.SHORT]


def test_trade_flow_follows_the_aggressors_of_its_window() -> None:
    params = TradeFlowParams(window_s=1, min_trades=3, threshold=0.5, min_hold_s=0)
    strategy = PythonStrategy(TradeFlow(params), "tf")
    buys = [trade(i * 100, 100.0, 1.0, AggressorSide.BUYER) for i in range(3)]
    signals = [s for t in buys for s in strategy.on_market(t)]
    assert [s.direction for s in signals] == [SignalDirection.LONG]
    assert strategy.on_market(trade(250, 100.0, 5.0, AggressorSide.NONE)) == []  # no side
    # a second later the buys have left the window and sellers dominate
    sells = [trade(2000 + i * 100, 99.0, 2.0, AggressorSide.SELLER) for i in range(3)]
    signals = [s for t in sells for s in strategy.on_market(t)]
    assert [s.direction for s in signals] == [SignalDirection.SHORT]


def test_book_imbalance_leans_with_the_heavier_side_of_the_top_levels() -> None:
    params = BookImbalanceParams(levels=2, threshold=0.5, min_hold_s=0, short=False)
    strategy = PythonStrategy(BookImbalance(params), "bi")
    heavy_bid = book(0, [(100.0, 8.0), (99.0, 2.0), (98.0, 100.0)], [(101.0, 1.0), (102.0, 1.0)])
    assert [s.direction for s in strategy.on_market(heavy_bid)] == [SignalDirection.LONG]
    heavy_ask = book(100, [(100.0, 1.0)], [(101.0, 9.0), (102.0, 9.0)])
    assert [s.direction for s in strategy.on_market(heavy_ask)] == [SignalDirection.FLAT]
    assert strategy.on_market(book(200, [], [(101.0, 1.0)])) == []  # one-sided: no score


class BarsOnly(Strategy[Params]):
    def on_bar(self, bar: Bar, features: Features) -> None:
        self.target(bar.instrument_id, 1.0)


def test_a_bar_strategy_asks_for_no_ticks() -> None:
    assert PythonStrategy(BarsOnly(Params()), "bars").market_kinds == frozenset()
