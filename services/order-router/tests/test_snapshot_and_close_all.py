"""The engine's portfolio snapshots, accounting through fills, and close_all."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jules_contracts import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderSide,
    OrderType,
    derive_event_id,
)
from jules_contracts.ids import client_order_id
from jules_order_router.engine import FeeSchedule, OrderRouterEngine

from .helpers import (  # type: ignore[import-not-found]
    ACCOUNT,
    BTC,
    ETH,
    approve,
    bar_time,
    feed,
    make_bar,
    make_book,
    make_engine,
    make_quote,
    make_trade,
    reason_of,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def test_the_engine_snapshot_is_derived_from_its_cause_with_the_account_and_time_key() -> None:
    engine = make_engine()
    engine.on_decision(approve("a", BUY, 2, at=bar_time(0)))
    bar = make_bar(1, 100.0, 104.0, 99.0, 103.0)
    feed(engine, [bar])

    snap = engine.snapshot(bar.event_time, bar)

    assert snap.event_id == derive_event_id(
        "portfolio.snapshot", bar.event_id, f"{ACCOUNT}@{bar.event_time}"
    )
    assert snap.causation_id == bar.event_id
    assert (snap.account_id, snap.currency, snap.source) == (ACCOUNT, "USDT", "order-router")
    assert snap.cash == 100_000.0 - 200.0
    assert snap.equity == 100_000.0 - 200.0 + 2 * 103.0  # marked at the bar's close
    assert snap.unrealized_pnl == pytest.approx(6.0)
    assert engine.equity == snap.equity
    assert engine.cash == snap.cash


def test_close_all_cancels_working_orders_and_closes_positions_at_the_bars_open() -> None:
    engine = make_engine(fees=FeeSchedule(taker_bps=10))
    engine.on_decision(approve("long", BUY, 2, at=bar_time(0)))
    engine.on_decision(approve("short", SELL, 5, at=bar_time(0), instrument=ETH))
    feed(engine, [make_bar(1, 100.0), make_bar(1, 20.0, instrument=ETH)])
    resting = approve("rest", BUY, 1, at=bar_time(1), order_type=OrderType.LIMIT, limit=50.0)
    engine.on_decision(resting)
    last_btc = make_bar(2, 110.0, 111.0, 105.0, 106.0)
    last_eth = make_bar(2, 18.0, 19.0, 17.0, 18.5, instrument=ETH)
    cash_before = engine.cash

    events = engine.close_all([last_btc, last_eth])

    canceled, *closing = events
    assert isinstance(canceled, OrderCanceled)
    assert canceled.client_order_id == resting.client_order_id
    assert reason_of(canceled).startswith("CLOSE_ALL: ")
    assert [type(e) for e in closing] == [OrderAccepted, OrderFilled, OrderAccepted, OrderFilled]
    btc_fill, eth_fill = closing[1], closing[3]
    assert (btc_fill.side, btc_fill.last_quantity, btc_fill.last_price) == (SELL, 2.0, 110.0)
    assert (eth_fill.side, eth_fill.last_quantity, eth_fill.last_price) == (BUY, 5.0, 18.0)
    assert btc_fill.client_order_id == client_order_id("close-all", last_btc.event_id, BTC)
    assert btc_fill.fee == pytest.approx(220.0 * 10 / 10_000)
    expected_cash = cash_before + 220.0 - 90.0 - (220.0 + 90.0) * 10 / 10_000
    assert engine.cash == pytest.approx(expected_cash)
    assert all(p.quantity == 0 for p in engine.positions)
    assert engine.equity == pytest.approx(engine.cash)
    assert engine.working_orders == ()
    assert engine.close_all(last_btc) == []  # nothing left to do


def test_close_all_closes_an_instrument_without_a_bar_at_its_last_mark() -> None:
    engine = make_engine()
    engine.on_decision(approve("eth", BUY, 1, at=bar_time(0), instrument=ETH))
    feed(engine, [make_bar(1, 20.0, 22.0, 19.0, 21.0, instrument=ETH)])

    _, filled = engine.close_all(make_bar(2, 100.0), price_field="close")

    assert (filled.instrument_id, filled.last_price) == (ETH, 21.0)


def test_close_all_needs_a_bar() -> None:
    with pytest.raises(ValueError, match="bars is empty"):
        make_engine().close_all([])


trades = st.lists(
    st.tuples(st.sampled_from([BUY, SELL]), st.integers(min_value=1, max_value=20)),
    min_size=1,
    max_size=12,
)
prices = st.lists(st.integers(min_value=50, max_value=150), min_size=13, max_size=13)


@settings(max_examples=60, deadline=None)
@given(trades=trades, opens=prices, closes=prices)
def test_engine_equity_is_always_cash_plus_marked_positions(
    trades: list[tuple[OrderSide, int]], opens: list[int], closes: list[int]
) -> None:
    engine = make_engine(fees=FeeSchedule(taker_bps=5))
    for index, (side, quantity) in enumerate(trades):
        engine.on_decision(approve(f"t{index}", side, quantity, at=bar_time(index)))
        bar = make_bar(index + 1, float(opens[index]), close=float(closes[index]))
        feed(engine, [bar])

        snap = engine.snapshot(bar.event_time, bar)
        marked = sum(p.quantity * p.last_price for p in engine.positions)
        assert engine.equity == pytest.approx(engine.cash + marked)
        assert snap.equity - 100_000.0 == pytest.approx(
            snap.realized_pnl + snap.unrealized_pnl - snap.fees_paid, abs=1e-6
        )
        # every order filled at its bar's open; the position is the net of the trades so far
        net = sum(q if s is BUY else -q for s, q in trades[: index + 1])
        assert engine.position(BTC).quantity == net


def holding(btc: float, eth: float) -> OrderRouterEngine:
    """An engine holding ``btc`` BTC bought at 100 and ``eth`` ETH (signed) at 10."""
    engine: OrderRouterEngine = make_engine()
    for instrument, quantity, price in ((BTC, btc, 100.0), (ETH, eth, 10.0)):
        side = BUY if quantity > 0 else SELL
        engine.on_decision(
            approve(instrument, side, abs(quantity), at=bar_time(0), instrument=instrument)
        )
        feed(engine, [make_bar(1, price, price + 1, price - 1, price + 0.5, instrument=instrument)])
    return engine


def test_close_all_on_ticks_crosses_the_spread_of_the_last_quote_or_book() -> None:
    engine = holding(2, -3)
    last_quote = make_quote(bar_time(2), 104.0, 106.0)
    last_book = make_book(bar_time(2), [(9.0, 1.0)], [(9.5, 1.0), (9.6, 5.0)], instrument=ETH)

    events = engine.close_all([last_quote, last_book])

    closing = {e.instrument_id: e for e in events if isinstance(e, OrderFilled)}
    # the long sells at the bid
    assert (closing[BTC].side, closing[BTC].last_price) == (SELL, 104.0)
    assert (closing[ETH].side, closing[ETH].last_price) == (BUY, 9.5)  # the short buys at the ask
    assert closing[BTC].correlation_id == last_quote.chain_id  # the chain of its tick
    assert all(p.quantity == 0 for p in engine.positions)


def test_close_all_on_a_trade_closes_at_its_price_and_on_a_one_sided_book_at_the_mark() -> None:
    engine = holding(1, 1)

    events = engine.close_all(
        [
            make_trade(bar_time(2), 103.0, 1.0),
            make_book(bar_time(2), [], [(11.0, 1.0)], instrument=ETH),
        ]
    )

    prices = {e.instrument_id: e.last_price for e in events if isinstance(e, OrderFilled)}
    assert prices == {BTC: 103.0, ETH: 10.5}  # ETH's book has no bid: its last mark
