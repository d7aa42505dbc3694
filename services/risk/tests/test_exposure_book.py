"""The exposure book keeps its working orders by instrument as well: every query answers as a
scan of all working orders would, whatever the order of additions, fills and cancels."""

from __future__ import annotations

import random

from jules_contracts.enums import OrderSide
from jules_contracts.orders import SubmitOrder
from jules_risk.engine.book import ExposureBook, WorkingOrder

from .helpers import canceled, filled, intent

INSTRUMENTS = ("AAA.TEST", "BBB.TEST", "CCC.TEST", "DDD.TEST")


def _scan(orders: list[WorkingOrder], instrument: str) -> tuple[float, float]:
    buys = sells = 0.0
    for order in orders:
        if order.instrument_id == instrument:
            if order.side is OrderSide.BUY:
                buys += order.leaves
            else:
                sells += order.leaves
    return buys, sells


def test_queries_by_instrument_equal_a_scan_of_every_working_order() -> None:
    rng = random.Random(7)
    book = ExposureBook()
    live: list[tuple[SubmitOrder, float]] = []  # (order, filled so far), in order added
    for t in range(1, 600):
        if live and rng.random() < 0.45:
            index = rng.randrange(len(live))
            order, done = live[index]
            if rng.random() < 0.3:
                book.apply_order_event(canceled(order, t))
                live.pop(index)
            else:
                part = min(order.quantity - done, rng.choice([1.0, 2.0]))
                event = filled(
                    order, t, 100.0, quantity=part, cumulative=done + part, fill_id=str(t)
                )
                book.apply_order_event(event)
                if done + part >= order.quantity:
                    live.pop(index)
                else:
                    live[index] = (order, done + part)
        else:
            side = rng.choice([OrderSide.BUY, OrderSide.SELL])
            order = intent(t, side, rng.choice([1.0, 2.0, 3.0]), instrument=rng.choice(INSTRUMENTS))
            book.add_working(order, order.quantity)
            live.append((order, 0.0))

        every = book.working_orders()
        assert [o.client_order_id for o in every] == sorted(o.client_order_id for o, _ in live)
        for instrument in INSTRUMENTS:
            assert book.working_totals(instrument) == _scan(every, instrument)
            mine = book.working_orders(instrument)
            assert mine == [o for o in every if o.instrument_id == instrument]
        held = {i for i in INSTRUMENTS if book.position(i) != 0}
        assert book.instruments() == sorted(held | {o.instrument_id for o in every})
    assert book.open_order_count() == len(live) > 0


def test_an_instrument_without_working_orders_has_none_left() -> None:
    book = ExposureBook()
    order = intent(1, OrderSide.BUY, 2.0, instrument="AAA.TEST")
    book.add_working(order, 2.0)
    assert book.instruments() == ["AAA.TEST"]

    book.apply_order_event(filled(order, 2, 100.0))

    assert book.working_totals("AAA.TEST") == (0.0, 0.0)
    assert book.working_orders("AAA.TEST") == []
    assert book.instruments() == ["AAA.TEST"]  # now held as a position
    assert book.position("AAA.TEST") == 2.0
