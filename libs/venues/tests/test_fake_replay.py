"""The replay: the recorded feed, the market's clock and speed, and the control endpoints."""

from __future__ import annotations

import itertools
from decimal import Decimal

import aiohttp
import pytest
from jules_venues.fake import FakeExchange, FaultUpdate, Market, load_feed
from jules_venues.fake.dialect import get_dialect
from jules_venues.fake.feed import DepthDiff, Trade
from pydantic import ValidationError

from .test_fake_support import SPOT_FILE, new_market, recorded_stream, until


def test_the_feed_holds_the_recording_with_aggregates_of_its_trades() -> None:
    feed = load_feed((SPOT_FILE,))
    assert feed.symbols == ("BTCUSDT",)
    trades = [e for e in feed.events if isinstance(e, Trade)]
    assert len(trades) == 9_757
    aggs = [t.agg for t in trades if t.agg is not None]
    assert trades[-1].agg is not None
    assert [a.agg_id for a in aggs] == list(range(1, len(aggs) + 1))
    assert sum(Decimal(a.qty) for a in aggs) == sum(Decimal(t.qty) for t in trades)
    assert all(a.first_id <= a.last_id for a in aggs)
    # the exchange clock runs about 1.3 s ahead of the collector's clock in this recording
    assert 1_000 < feed.clock_offset_ms < 1_600


def test_the_spot_files_chain_into_one_feed() -> None:
    second = SPOT_FILE.with_name("btcusdt_20240809.gz")
    feed = load_feed((SPOT_FILE, second))
    diffs = [e for e in feed.events if isinstance(e, DepthDiff)]
    assert len(diffs) == 3_451 + 3_044
    assert all(b.first_id == a.last_id + 1 for a, b in itertools.pairwise(diffs))


async def test_as_fast_as_possible_the_diffs_chain_from_the_snapshot_to_the_end() -> None:
    market = Market(load_feed((SPOT_FILE,)), speed=None)
    book = market.state("BTCUSDT").book
    assert book is not None
    opened_at = book.last_update_id
    async with FakeExchange(market) as fake, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{fake.urls.ws}/ws/btcusdt@depth@100ms")
        await until(lambda: fake.context.subscriptions["btcusdt@depth@100ms"] > 0)
        async with session.post(f"{fake.urls.http}/_fake/replay", json={"speed": 0}) as r:
            assert (await r.json())["speed"] == 0
        await until(lambda: market.finished)
        diffs = [d for d in recorded_stream("depth@100ms") if d["u"] > opened_at]
        received = [await ws.receive_json(timeout=5) for _ in diffs]
        await ws.close()
    assert received == diffs
    assert received[0]["U"] == opened_at + 1
    assert book.last_update_id == diffs[-1]["u"]


async def test_real_time_replay_at_a_speed_reaches_the_end_and_the_clock_follows() -> None:
    market = new_market()
    last = market.feed.events[-1]
    async with FakeExchange(market):
        market.set_speed(2_000)  # the recording's six minutes in a fraction of a second
        await until(lambda: market.finished)
    assert market.now_ms == last.recv_ns // 1_000_000 + market.feed.clock_offset_ms


def test_due_events_follow_the_speed() -> None:
    market = new_market()
    events = market.feed.events
    start = events[market.position - 1].recv_ns
    market.set_speed(10)
    market.due_events(100.0)  # anchors the replay: recorded time ``start`` at 100.0 s
    in_two_seconds = sum(
        1 for e in events[market.position :] if e.recv_ns <= start + 20_000_000_000
    )
    assert market.due_events(102.0) == min(in_two_seconds, 2_000)
    market.set_speed(None)
    assert market.due_events(500.0) == 0


async def test_control_endpoints_step_report_and_validate() -> None:
    market = new_market()
    async with FakeExchange(market) as fake, aiohttp.ClientSession() as session:
        position = market.position
        async with session.post(f"{fake.urls.http}/_fake/replay", json={"step": 5}) as r:
            status = await r.json()
        assert status["position"] == position + 5 == market.position
        assert status["symbols"] == ["BTCUSDT"]
        async with session.post(f"{fake.urls.http}/_fake/faults", json={"nope": 1}) as r:
            assert r.status == 400
        async with session.get(f"{fake.urls.http}/_fake/faults") as r:
            assert (await r.json())["rate_limited_requests_left"] == 0


def test_fault_updates_are_validated_and_dialects_are_known() -> None:
    with pytest.raises(ValidationError):
        FaultUpdate.model_validate({"latency_ms": -1})
    with pytest.raises(ValueError, match="unknown dialect"):
        get_dialect("nope")
    assert get_dialect("binance").name == "binance"
