"""The fake Binance's websocket streams, through the real ``ccxt.pro.binance`` and raw."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from jules_venues.fake import FakeExchange, Market
from jules_venues.fake.feed import DepthDiff, Trade

from .test_fake_support import (
    new_market,
    recorded,
    recorded_stream,
    rest_client,
    started_fake,
    subscribed,
    until,
    ws_client,
)


async def collect_trades(exchange: Any, market: Market, count: int) -> list[dict[str, Any]]:
    """Watch trades while stepping the market until ``count`` trades arrived."""
    trades: list[dict[str, Any]] = []
    while len(trades) < count:
        market.step_until(lambda e: isinstance(e, Trade))
        trades.extend(await asyncio.wait_for(exchange.watch_trades("BTC/USDT"), 5))
    return trades


async def test_watch_trades_gets_the_recorded_trades_in_order() -> None:
    market = new_market()
    async with started_fake(market) as fake, ws_client(fake) as exchange:
        first = asyncio.create_task(exchange.watch_trades("BTC/USDT"))
        await until(subscribed(fake, "btcusdt@trade"))
        market.step_until(lambda e: isinstance(e, Trade))
        trades = await asyncio.wait_for(first, 5)
        trades += await collect_trades(exchange, market, 60)
    expected = recorded_stream("trade")[: len(trades)]
    assert [t["id"] for t in trades] == [str(t["t"]) for t in expected]
    assert [(t["price"], t["amount"]) for t in trades] == [
        (float(t["p"]), float(t["q"])) for t in expected
    ]
    assert [t["timestamp"] for t in trades] == [t["T"] for t in expected]


async def test_watch_order_book_follows_the_book_through_the_diffs() -> None:
    market = new_market()
    async with started_fake(market) as fake, ws_client(fake) as exchange:
        watching = asyncio.create_task(exchange.watch_order_book("BTC/USDT"))
        await until(subscribed(fake, "btcusdt@depth@100ms"))
        book = await asyncio.wait_for(watching, 5)  # the REST snapshot, then the diffs
        diffs = 0
        while diffs < 30:
            diffs += isinstance(
                market.step_until(lambda e: isinstance(e, DepthDiff))[-1], DepthDiff
            )
            book = await asyncio.wait_for(exchange.watch_order_book("BTC/USDT"), 5)
    state = market.state("BTCUSDT").book
    assert state is not None
    assert book["nonce"] == state.last_update_id
    bids, asks = state.levels(20)
    assert book["bids"][:20] == [[float(p), float(q)] for p, q in bids]
    assert book["asks"][:20] == [[float(p), float(q)] for p, q in asks]


async def test_watch_ohlcv_and_bids_asks_match_the_replayed_market() -> None:
    market = new_market()
    async with started_fake(market) as fake, ws_client(fake) as exchange:
        candles = asyncio.create_task(exchange.watch_ohlcv("BTC/USDT", "1m"))
        quotes = asyncio.create_task(exchange.watch_bids_asks(["BTC/USDT"]))
        await until(subscribed(fake, "btcusdt@kline_1m"))
        await until(subscribed(fake, "btcusdt@bookTicker"))
        market.step(3000)
        await asyncio.wait_for(candles, 5)
        last = market.state("BTCUSDT").quote
        assert last is not None
        await asyncio.wait_for(quotes, 5)
        # every quote arrives, the last one last
        await until(lambda: exchange.bidsasks["BTC/USDT"]["info"]["u"] == last.update_id)
        quote = exchange.bidsasks["BTC/USDT"]
        async with rest_client(fake) as rest:
            bars = await rest.fetch_ohlcv("BTC/USDT", "1m", limit=2)
        # the bar in progress, as every kline message leaves it, is the REST one
        await until(lambda: exchange.ohlcvs["BTC/USDT"]["1m"][-2:] == bars)
    assert (quote["bid"], quote["ask"]) == (float(last.bid), float(last.ask))


async def _receive_json(ws: aiohttp.ClientWebSocketResponse) -> Any:
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)


async def test_raw_and_combined_streams_send_the_recorded_messages() -> None:
    market = new_market()
    async with started_fake(market) as fake, aiohttp.ClientSession() as session:
        raw = await session.ws_connect(f"{fake.urls.ws}/ws/btcusdt@trade")
        combined = await session.ws_connect(f"{fake.urls.ws}/stream?streams=btcusdt@bookTicker")
        await until(subscribed(fake, "btcusdt@trade"))
        await until(subscribed(fake, "btcusdt@bookTicker"))
        market.step_until(lambda e: isinstance(e, Trade))
        first_trade = await _receive_json(raw)
        first_quote = await _receive_json(combined)
        await raw.close()
        await combined.close()
    assert first_trade == recorded_stream("trade")[0]
    quote = next(m for _, m in recorded() if m.get("stream") == "btcusdt@bookTicker")
    assert first_quote == quote


async def test_subscribe_list_unsubscribe_and_errors_as_binance_answers() -> None:
    async with started_fake() as fake, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{fake.urls.ws}/ws")
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 1})
        assert await _receive_json(ws) == {"result": None, "id": 1}
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 2})
        assert await _receive_json(ws) == {"result": ["btcusdt@aggTrade"], "id": 2}
        await ws.send_json({"method": "UNSUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 3})
        assert await _receive_json(ws) == {"result": None, "id": 3}
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@nonsense"], "id": 4})
        assert (await _receive_json(ws))["error"]["code"] == 2
        await ws.send_str("not json")
        assert (await _receive_json(ws))["error"]["code"] == 3
        await ws.close()


async def test_agg_trade_stream_matches_rest_agg_trades() -> None:
    market = new_market()
    async with started_fake(market) as fake, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{fake.urls.ws}/ws/btcusdt@aggTrade")
        await until(subscribed(fake, "btcusdt@aggTrade"))
        market.step(1500)
        async with session.get(
            f"{fake.urls.http}/api/v3/aggTrades", params={"symbol": "BTCUSDT", "limit": "1000"}
        ) as response:
            rest = await response.json()
        streamed = [await _receive_json(ws) for _ in rest]
        await ws.close()
    assert [{k: v for k, v in s.items() if k not in "eEs"} for s in streamed] == rest
    trades = recorded_stream("trade")[: rest[-1]["l"] - rest[0]["f"] + 1]
    assert [t["t"] for t in trades] == list(range(rest[0]["f"], rest[-1]["l"] + 1))


async def test_the_server_pings_and_answers_pings() -> None:
    async with (
        FakeExchange(new_market(), ping_interval=0.1) as fake,
        aiohttp.ClientSession() as session,
    ):
        ws = await session.ws_connect(f"{fake.urls.ws}/ws", autoping=False)
        await ws.ping(b"hello")
        kinds: set[aiohttp.WSMsgType] = set()
        while not {aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG} <= kinds:
            message = await asyncio.wait_for(ws.receive(), 5)
            kinds.add(message.type)
            if message.type == aiohttp.WSMsgType.PING:
                await ws.pong(message.data)
        await ws.close()
