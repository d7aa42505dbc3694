"""Real Coinbase BTCUSD minute bars through the router: fills at the next existing bar's open,
participation caps against real volumes, and accounting that adds up."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from jules_contracts import Bar, OrderSide, derive_event_id
from jules_order_router.engine import FeeSchedule

from .helpers import (  # type: ignore[import-not-found]
    approve,
    fills,
    make_engine,
)

DATA = Path(
    os.environ.get("JULES_DATA_DIR", Path(__file__).resolve().parents[3].parent / "shared" / "data")
)
BARS_FILE = DATA / "QuantConnect_Lean/Data/crypto/coinbase/minute/btcusd/20161007_trade.zip"
DAY_START = 1_475_798_400_000_000_000  # 2016-10-07T00:00:00Z
MINUTE = 60_000_000_000
INSTRUMENT = "BTCUSD.COINBASE"

pytestmark = pytest.mark.skipif(not BARS_FILE.exists(), reason=f"no market data at {BARS_FILE}")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    frame = pd.read_csv(BARS_FILE, header=None, names=["ms", "o", "h", "l", "c", "v"])
    frame["start"] = DAY_START + frame["ms"].astype("int64") * 1_000_000
    return frame


def to_bars(frame: pd.DataFrame) -> list[Bar]:
    return [
        Bar(
            event_id=derive_event_id("coinbase", INSTRUMENT, int(row.start)),
            source="replay:coinbase",
            event_time=int(row.start) + MINUTE,
            instrument_id=INSTRUMENT,
            interval="1m",
            start_time=int(row.start),
            open=float(row.o),
            high=float(row.h),
            low=float(row.l),
            close=float(row.c),
            volume=float(row.v),
        )
        for row in frame.itertuples()
    ]


def test_orders_decided_on_real_bars_fill_at_the_next_existing_bars_open(
    frame: pd.DataFrame,
) -> None:
    bars = to_bars(frame)
    engine = make_engine(fees=FeeSchedule(taker_bps=25), instruments=(INSTRUMENT,))
    decided_at: dict[str, int] = {}
    all_fills = []
    for index, bar in enumerate(bars):
        all_fills.extend(fills(engine.on_market(bar)))
        if index % 45 == 0:  # flip between long 1 and short 1 BTC
            side = OrderSide.BUY if (index // 45) % 2 == 0 else OrderSide.SELL
            quantity = 1.0 if index == 0 else 2.0
            decision = approve(
                f"real-{index}", side, quantity, at=bar.event_time, instrument=INSTRUMENT
            )
            engine.on_decision(decision)
            decided_at[decision.client_order_id] = bar.event_time

    last_start = int(frame["start"].iloc[-1])
    fillable = {coid for coid, decided in decided_at.items() if decided <= last_start}
    assert {f.client_order_id for f in all_fills} == fillable
    assert len(all_fills) == len(fillable) > 20
    for fill in all_fills:
        decided = decided_at[fill.client_order_id]
        following = frame[frame["start"] >= decided].iloc[0]  # independent of the engine
        assert fill.last_price == float(following.o)
        assert fill.event_time == int(following.start) + MINUTE
    cash = 100_000.0 - sum(
        (f.last_quantity if f.side is OrderSide.BUY else -f.last_quantity) * f.last_price + f.fee
        for f in all_fills
    )
    held = sum(f.last_quantity if f.side is OrderSide.BUY else -f.last_quantity for f in all_fills)
    assert engine.cash == pytest.approx(cash, rel=1e-12)
    assert engine.equity == pytest.approx(cash + held * float(frame.iloc[-1].c), rel=1e-12)


def test_participation_caps_fills_by_real_bar_volumes(frame: pd.DataFrame) -> None:
    bars = to_bars(frame)[:400]
    engine = make_engine(max_participation=0.05, instruments=(INSTRUMENT,))
    engine.on_decision(
        approve("big", OrderSide.BUY, 3.0, at=bars[0].event_time, instrument=INSTRUMENT)
    )
    volumes = {bar.event_time: bar.volume for bar in bars}

    events = []
    for bar in bars[1:]:
        events.extend(fills(engine.on_market(bar)))

    assert len(events) > 1
    for fill in events[:-1]:
        assert fill.last_quantity == pytest.approx(0.05 * volumes[fill.event_time], rel=1e-12)
    assert events[-1].last_quantity <= 0.05 * volumes[events[-1].event_time] * (1 + 1e-12)
    assert events[-1].cumulative_quantity == 3.0
    assert sum(f.last_quantity for f in events) == pytest.approx(3.0, rel=1e-12)
