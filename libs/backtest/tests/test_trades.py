"""Round trips rebuilt from fills."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jules_backtest.trades import Fill, round_trips


def fill(t: int, qty: float, price: float, fee: float = 0.0, inst: str = "BTCUSD.X") -> Fill:
    side = "BUY" if qty > 0 else "SELL"
    return Fill(inst, t, qty, price, fee, f"o-{t}", f"f-{t}", "TAKER", side)


def test_buy_then_sell_is_one_long_round_trip_with_its_pnl_and_fees():
    [trip] = round_trips([fill(1, 2, 100.0, fee=1.0), fill(2, -2, 110.0, fee=1.0)])
    assert (trip.side, trip.size, trip.entry_price, trip.exit_price) == ("LONG", 2, 100.0, 110.0)
    assert trip.pnl == pytest.approx(20.0)
    assert trip.fees == pytest.approx(2.0)
    assert trip.net_pnl == pytest.approx(18.0)


def test_a_reversing_fill_closes_the_long_and_opens_a_short():
    trips = round_trips([fill(1, 10, 100.0), fill(2, -15, 90.0), fill(3, 5, 80.0)])
    assert [(t.side, t.size, t.entry_price, t.exit_price) for t in trips] == [
        ("LONG", 10, 100.0, 90.0),
        ("SHORT", 5, 90.0, 80.0),
    ]
    assert [t.pnl for t in trips] == pytest.approx([-100.0, 50.0])


def test_scaling_in_averages_the_entry_and_scaling_out_closes_at_zero():
    [trip] = round_trips(
        [fill(1, 1, 100.0), fill(2, 1, 110.0), fill(3, -1, 120.0), fill(4, -1, 130.0)]
    )
    assert trip.entry_price == pytest.approx(105.0)
    assert trip.exit_price == pytest.approx(125.0)
    assert trip.pnl == pytest.approx(40.0)
    assert (trip.entry_time, trip.exit_time) == (1, 4)


def test_an_open_position_at_the_end_is_reported_open():
    [trip] = round_trips([fill(1, -3, 50.0)])
    assert (trip.side, trip.size, trip.exit_time, trip.exit_price) == ("SHORT", 3, None, None)


def test_instruments_are_kept_apart():
    trips = round_trips(
        [fill(1, 1, 10.0, inst="A.X"), fill(2, 1, 20.0, inst="B.X"), fill(3, -1, 11.0, inst="A.X")]
    )
    assert [(t.instrument_id, t.exit_price) for t in trips] == [("A.X", 11.0), ("B.X", None)]


@given(
    st.lists(
        st.tuples(st.integers(-5, 5).filter(bool), st.floats(1, 1000, allow_nan=False)),
        min_size=1,
        max_size=30,
    )
)
def test_closed_pnl_plus_open_mark_equals_cash_flow_accounting(steps):
    fills = [fill(i, float(q), p) for i, (q, p) in enumerate(steps)]
    trips = round_trips(fills)
    position = sum(q for q, _ in steps)
    last_price = steps[-1][1]
    cash = -sum(q * p for q, p in steps)
    mark_to_market = cash + position * last_price
    open_pnl = sum(
        (1 if t.side == "LONG" else -1) * (last_price - t.entry_price) * t.size
        for t in trips
        if t.exit_time is None
    )
    closed_pnl = sum(t.pnl for t in trips)  # open trips carry what partial exits realised
    assert closed_pnl + open_pnl == pytest.approx(mark_to_market, rel=1e-9, abs=1e-6)
