"""The same inputs give byte-identical events, with ids derived from their causes."""

from __future__ import annotations

from jules_contracts import OrderSide, OrderType, TimeInForce, decode_event, encode_event
from jules_order_router.engine import FeeSchedule, KyleLambda

from .helpers import (  # type: ignore[import-not-found]
    ETH,
    approve,
    bar_time,
    make_bar,
    make_engine,
)


def run_scenario() -> list[bytes]:
    engine = make_engine(
        fill_model=KyleLambda(impact_lambda=0.01),
        fees=FeeSchedule(taker_bps=7, maker_bps=-1, min_fee=0.5),
        max_participation=0.2,
        latency_ns=1,
    )
    out = []
    decisions = [
        approve("m", OrderSide.BUY, 30, at=bar_time(0)),
        approve("l", OrderSide.SELL, 5, at=bar_time(0), order_type=OrderType.LIMIT, limit=104.0),
        approve(
            "s",
            OrderSide.BUY,
            4,
            at=bar_time(1),
            order_type=OrderType.STOP,
            stop=103.0,
            instrument=ETH,
        ),
        approve("g", OrderSide.SELL, 9, at=bar_time(1), tif=TimeInForce.GTD, expire=bar_time(3)),
    ]
    for decision in decisions:
        out.extend(engine.on_decision(decision))
    for index in range(1, 6):
        for instrument in ("BTCUSDT.BINANCE", ETH):
            bar = make_bar(
                index, 100.0 + index, 105.0 + index, 99.0, 102.0, volume=50.0, instrument=instrument
            )
            out.extend(engine.on_market(bar))
            out.append(engine.snapshot(bar.event_time, bar))
    out.extend(engine.close_all(make_bar(6, 101.0)))
    return [encode_event(event) for event in out]


def test_two_runs_of_the_same_inputs_give_identical_bytes() -> None:
    first = run_scenario()
    second = run_scenario()

    assert first == second
    assert len(first) > 20
    kinds = {decode_event(data).event_type for data in first}
    assert {"order.accepted", "order.partially_filled", "order.filled", "order.expired"} <= kinds
