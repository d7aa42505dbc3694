"""Portfolio accounting: cash, average price, realised/unrealised PnL, reversals, equity."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jules_contracts import OrderSide, derive_event_id
from jules_order_router.engine import Portfolio

from .helpers import (  # type: ignore[import-not-found]
    ACCOUNT,
    BTC,
    ETH,
    T0,
    make_bar,
    position_of,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL
START = 50_000.0
Fill = tuple[str, OrderSide, float, float, float]


def portfolio() -> Portfolio:
    return Portfolio(ACCOUNT, "USDT", START)


def test_adding_to_a_position_averages_the_entry_price() -> None:
    book = portfolio()

    book.apply_fill(BTC, BUY, 2, 100.0, 0.0)
    book.apply_fill(BTC, BUY, 6, 108.0, 0.0)

    position = position_of(book, BTC)
    assert position.quantity == 8.0
    assert position.average_price == pytest.approx((2 * 100 + 6 * 108) / 8)
    assert position.realized_pnl == 0.0


def test_a_reversal_from_long_10_to_short_5_realises_the_closed_part_only() -> None:
    book = portfolio()
    book.apply_fill(BTC, BUY, 10, 100.0, 0.0)

    book.apply_fill(BTC, SELL, 15, 110.0, 0.0)

    position = position_of(book, BTC)
    assert position.quantity == -5.0
    assert position.average_price == 110.0
    assert position.realized_pnl == pytest.approx(10 * (110 - 100))
    book.mark(BTC, 104.0, T0)
    assert book.unrealized_pnl == pytest.approx(-5 * (104 - 110))


def test_a_short_reversed_to_long_realises_the_short_side() -> None:
    book = portfolio()
    book.apply_fill(BTC, SELL, 4, 50.0, 0.0)

    book.apply_fill(BTC, BUY, 6, 45.0, 0.0)

    position = position_of(book, BTC)
    assert (position.quantity, position.average_price) == (2.0, 45.0)
    assert position.realized_pnl == pytest.approx(4 * (50 - 45))


def test_closing_to_flat_resets_the_average_price() -> None:
    book = portfolio()
    book.apply_fill(BTC, BUY, 0.1, 100.0, 0.0)
    book.apply_fill(BTC, BUY, 0.2, 100.0, 0.0)

    book.apply_fill(BTC, SELL, 0.3, 101.0, 0.0)  # 0.1 + 0.2 - 0.3 is float dust

    position = position_of(book, BTC)
    assert (position.quantity, position.average_price) == (0.0, 0.0)
    assert position.realized_pnl == pytest.approx(0.3)


def test_fees_reduce_cash_and_are_reported_apart_from_realised_pnl() -> None:
    book = portfolio()
    book.apply_fill(BTC, BUY, 1, 100.0, 0.25)
    book.apply_fill(BTC, SELL, 1, 100.0, 0.25)

    assert book.cash == START - 0.5
    assert book.fees_paid == 0.5
    assert book.realized_pnl == 0.0
    assert book.equity == START - 0.5


def test_an_older_mark_does_not_replace_a_newer_one() -> None:
    book = portfolio()
    book.apply_fill(BTC, BUY, 1, 100.0, 0.0)
    book.mark(BTC, 105.0, T0 + 10)

    book.mark(BTC, 90.0, T0 + 5)

    assert position_of(book, BTC).last_price == 105.0


def test_the_snapshot_has_a_deterministic_id_and_consistent_totals() -> None:
    book = portfolio()
    book.apply_fill(BTC, BUY, 2, 100.0, 1.0)
    book.apply_fill(ETH, SELL, 3, 10.0, 0.5)
    book.mark(BTC, 110.0, T0)
    book.mark(ETH, 12.0, T0)
    cause = make_bar(0, 110.0)

    snap = book.snapshot(T0 + 7, cause)

    assert snap.event_id == derive_event_id(
        "portfolio.snapshot", cause.event_id, f"{ACCOUNT}@{T0 + 7}"
    )
    assert snap.event_time == T0 + 7
    assert [p.instrument_id for p in snap.positions] == sorted([BTC, ETH])
    assert snap.cash == pytest.approx(START - 200.0 - 1.0 + 30.0 - 0.5)
    assert snap.equity == pytest.approx(snap.cash + 2 * 110.0 - 3 * 12.0)
    assert snap.unrealized_pnl == pytest.approx(2 * 10.0 - 3 * 2.0)
    assert snap.gross_exposure == pytest.approx(220.0 + 36.0)
    assert snap.net_exposure == pytest.approx(220.0 - 36.0)
    assert snap.fees_paid == 1.5
    assert book.snapshot(T0 + 7, cause) == snap


def test_instruments_only_marked_never_traded_are_not_positions() -> None:
    book = portfolio()
    book.mark(ETH, 10.0, T0)

    assert book.positions == ()
    assert book.snapshot(T0, make_bar(0, 1.0)).positions == ()


fill_st = st.tuples(
    st.sampled_from([BTC, ETH]),
    st.sampled_from([BUY, SELL]),
    st.floats(min_value=0.001, max_value=100, allow_subnormal=False),
    st.floats(min_value=1, max_value=1_000, allow_subnormal=False),
    st.floats(min_value=-1, max_value=5, allow_subnormal=False),
)
marks_st = st.dictionaries(
    st.sampled_from([BTC, ETH]), st.floats(min_value=1, max_value=1_000), max_size=2
)


@settings(max_examples=200, deadline=None)
@given(fills=st.lists(fill_st, max_size=25), marks=marks_st)
def test_equity_is_cash_plus_marked_positions_whatever_the_fills(
    fills: list[Fill], marks: dict[str, float]
) -> None:
    book = portfolio()
    for instrument, side, quantity, price, fee in fills:
        book.apply_fill(instrument, side, quantity, price, fee)
    for instrument, price in marks.items():
        book.mark(instrument, price, T0)

    # independent computation from the fills alone
    signed = [(i, q if s is BUY else -q, p, f) for i, s, q, p, f in fills]
    cash = START - sum(q * p + f for _, q, p, f in signed)
    last_fill = {i: p for i, _, p, _ in signed}
    held = {i: sum(q for j, q, _, _ in signed if j == i) for i in last_fill}
    value = sum(held[i] * marks.get(i, last_fill[i]) for i in held)
    scale = 1 + sum(abs(q * p) for _, q, p, _ in signed)

    assert book.cash == pytest.approx(cash, abs=1e-9 * scale)
    assert book.equity == pytest.approx(cash + value, abs=1e-6 * scale)
    assert book.equity - START == pytest.approx(
        book.realized_pnl + book.unrealized_pnl - book.fees_paid, abs=1e-6 * scale
    )


@settings(max_examples=200, deadline=None)
@given(fills=st.lists(fill_st, min_size=1, max_size=25))
def test_once_flat_the_realised_pnl_is_the_net_cash_flow_of_the_trades(fills: list[Fill]) -> None:
    book = portfolio()
    for instrument, side, quantity, price, _ in fills:
        book.apply_fill(instrument, side, quantity, price, 0.0)
    for instrument in (BTC, ETH):  # close what is left at a last price
        held = book.quantity(instrument)
        if held:
            book.apply_fill(instrument, SELL if held > 0 else BUY, abs(held), 321.0, 0.0)
            fills.append((instrument, SELL if held > 0 else BUY, abs(held), 321.0, 0.0))

    flow = sum((p * q if s is SELL else -p * q) for _, s, q, p, _ in fills)
    scale = 1 + sum(q * p for _, _, q, p, _ in fills)
    assert all(p.quantity == 0 for p in book.positions)
    assert book.realized_pnl == pytest.approx(flow, abs=1e-6 * scale)
    assert book.unrealized_pnl == 0.0


@given(
    quantity=st.floats(min_value=1e-6, max_value=1e6, allow_subnormal=False),
    price=st.floats(min_value=1e-4, max_value=1e6, allow_subnormal=False),
    side=st.sampled_from([BUY, SELL]),
)
def test_a_round_trip_at_the_same_price_without_fees_leaves_equity_unchanged(
    quantity: float, price: float, side: OrderSide
) -> None:
    book = portfolio()
    other = SELL if side is BUY else BUY

    book.apply_fill(BTC, side, quantity, price, 0.0)
    book.apply_fill(BTC, other, quantity, price, 0.0)

    assert book.equity == pytest.approx(START, rel=1e-12)
    assert book.realized_pnl == 0.0
    assert position_of(book, BTC).quantity == 0.0
