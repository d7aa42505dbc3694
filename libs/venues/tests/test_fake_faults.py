"""Every fault of the fake exchange, as the real ccxt Binance classes observe it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import ccxt
import pytest
from jules_venues.fake import FakeExchange, FaultUpdate, Market, RateLimit
from jules_venues.fake.feed import DepthDiff, Trade

from .test_fake_support import (
    new_market,
    recorded_stream,
    rest_client,
    started_fake,
    subscribed,
    until,
    ws_client,
)


async def _post_faults(fake: FakeExchange, body: dict[str, Any]) -> dict[str, Any]:
    """Set faults through the control endpoint, as an operator would."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.urls.http}/_fake/faults", json=body) as response,
    ):
        assert response.status == 200, await response.text()
        result: dict[str, Any] = await response.json()
        return result


async def _watching_trades(fake: FakeExchange, exchange: Any, market: Market) -> list[Any]:
    """Subscribe to trades and receive the first one."""
    first = asyncio.create_task(exchange.watch_trades("BTC/USDT"))
    await until(subscribed(fake, "btcusdt@trade"))
    market.step_until(lambda e: isinstance(e, Trade))
    trades: list[Any] = await asyncio.wait_for(first, 5)
    return trades


def _step_trades(market: Market, count: int) -> None:
    for _ in range(count):
        market.step_until(lambda e: isinstance(e, Trade))


async def _new_trade_ids(exchange: Any, market: Market, steps: int, messages: int) -> list[str]:
    """Step ``steps`` trades; the ids of the ``messages`` trades ccxt receives, in order."""
    received = exchange.trades["BTC/USDT"]  # ccxt's cache of every trade received
    seen = len(received)
    _step_trades(market, steps)
    await until(lambda: len(received) >= seen + messages)
    return [t["id"] for t in list(received)[seen:]]


async def test_rest_latency_delays_every_response() -> None:
    async with (
        started_fake(faults=FaultUpdate(rest_latency_ms=200)) as fake,
        rest_client(fake) as exchange,
    ):
        await exchange.load_markets()
        started = time.perf_counter()
        await exchange.fetch_time()
        assert time.perf_counter() - started >= 0.2
        await _post_faults(fake, {"latency_ms": 0})
        assert fake.faults.rest_latency_ms == 0


async def test_websocket_latency_delays_every_message() -> None:
    market = new_market()
    async with started_fake(market) as fake, ws_client(fake) as exchange:
        await _watching_trades(fake, exchange, market)
        await _post_faults(fake, {"ws_latency_ms": 200})
        started = time.perf_counter()
        market.step_until(lambda e: isinstance(e, Trade))
        await asyncio.wait_for(exchange.watch_trades("BTC/USDT"), 5)
        assert time.perf_counter() - started >= 0.2


async def test_429_with_retry_after_for_the_next_requests() -> None:
    faults = FaultUpdate(rate_limit=RateLimit(count=2, retry_after=7))
    async with started_fake(faults=faults) as fake, rest_client(fake) as exchange:
        for _ in range(2):
            with pytest.raises(ccxt.DDoSProtection, match="-1003"):
                await exchange.fetch_time()
            assert exchange.last_response_headers["Retry-After"] == "7"
        assert await exchange.fetch_time() == fake.market.now_ms
        await _post_faults(fake, {"rate_limit": {"count": 1, "retry_after": 3}})
        with pytest.raises(ccxt.DDoSProtection):
            await exchange.load_markets()
        assert exchange.last_response_headers["Retry-After"] == "3"
        assert "BTC/USDT" in await exchange.load_markets()
    assert fake.faults.injected["rate_limited"] == 3


async def test_dropped_connections_raise_network_errors_and_reconnects_are_refused() -> None:
    market = new_market()
    async with started_fake(market) as fake, ws_client(fake) as exchange:
        await _watching_trades(fake, exchange, market)
        pending = asyncio.create_task(exchange.watch_trades("BTC/USDT"))
        await asyncio.sleep(0)
        await _post_faults(fake, {"drop_connections": {"refuse_seconds": 0.5}})
        with pytest.raises(ccxt.NetworkError, match="closed"):
            await asyncio.wait_for(pending, 5)
        with pytest.raises(ccxt.NetworkError):  # refused: HTTP 503 on the handshake
            await asyncio.wait_for(exchange.watch_trades("BTC/USDT"), 5)
        assert fake.faults.injected["refused_connections"] >= 1
        await until(lambda: not fake.faults.refusing_connections())
        trades = await _watching_trades(fake, exchange, market)
    assert trades  # the fresh connection gets trades again


async def test_a_depth_gap_fails_the_book_until_it_resynchronises() -> None:
    market = new_market()
    async with started_fake(market) as fake, ws_client(fake) as exchange:
        watching = asyncio.create_task(exchange.watch_order_book("BTC/USDT"))
        await until(subscribed(fake, "btcusdt@depth@100ms"))
        await asyncio.wait_for(watching, 5)
        fake.faults.apply(FaultUpdate(depth_gap=2))
        for _ in range(3):  # two left out, the third sent
            market.step_until(lambda e: isinstance(e, DepthDiff))
        with pytest.raises(ccxt.InvalidNonce):
            await asyncio.wait_for(exchange.watch_order_book("BTC/USDT"), 5)
        assert fake.faults.injected["skipped_depth_diffs"] == 2
        # watching again takes a new snapshot and follows the diffs from there
        watching = asyncio.create_task(exchange.watch_order_book("BTC/USDT"))
        await asyncio.sleep(0.05)
        market.step_until(lambda e: isinstance(e, DepthDiff))
        book = await asyncio.wait_for(watching, 5)
    state = market.state("BTCUSDT").book
    assert state is not None
    assert book["nonce"] == state.last_update_id


async def test_a_stale_stream_sends_nothing_until_cleared() -> None:
    market = new_market()
    async with started_fake(market) as fake, ws_client(fake) as exchange:
        first = await _watching_trades(fake, exchange, market)
        await _post_faults(fake, {"stale": {"streams": ["*@trade"]}})
        _step_trades(market, 5)
        assert fake.faults.injected["stale_messages"] == 5
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(exchange.watch_trades("BTC/USDT"), 0.3)
        async with aiohttp.ClientSession() as session:
            await session.delete(f"{fake.urls.http}/_fake/faults")
        after = await _new_trade_ids(exchange, market, 1, 1)
    recorded = [str(t["t"]) for t in recorded_stream("trade")]
    assert [t["id"] for t in first] == recorded[:1]
    assert after == recorded[6:7]  # the five stale trades never came


async def test_a_stale_stream_for_some_seconds_recovers_by_itself() -> None:
    market = new_market()
    async with started_fake(market) as fake:
        fake.faults.apply(FaultUpdate.model_validate({"stale": {"seconds": 0.2}}))
        assert fake.faults.is_stale("btcusdt@depth@100ms")
        await until(lambda: not fake.faults.is_stale("btcusdt@depth@100ms"))


async def test_duplicate_and_out_of_order_trades() -> None:
    market = new_market()
    recorded = [str(t["t"]) for t in recorded_stream("trade")]
    async with started_fake(market) as fake, ws_client(fake) as exchange:
        await _watching_trades(fake, exchange, market)
        await _post_faults(fake, {"duplicate_trades": 2})
        duplicated = await _new_trade_ids(exchange, market, 3, 5)
        await _post_faults(fake, {"reorder_trades": 1})
        reordered = await _new_trade_ids(exchange, market, 3, 3)
    assert duplicated == [recorded[1], recorded[1], recorded[2], recorded[2], recorded[3]]
    assert reordered == [recorded[5], recorded[4], recorded[6]]
