"""The fake OKX's websocket channels, through the real ``ccxt.pro.okx`` and raw."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import aiohttp
import ccxt
import pytest
from jules_venues.fake import FaultUpdate, Market
from jules_venues.fake.feed import DepthDiff, Trade
from jules_venues.fake.okx_format import checksum

from .test_fake_support import (
    new_market,
    recorded_stream,
    rest_client,
    started_fake,
    subscribed,
    until,
    ws_client,
)
from .test_fake_ws import collect_trades

TRADES = "trades:BTC-USDT"
BOOKS = "books:BTC-USDT"


async def watching_trades(fake: Any, exchange: Any, market: Market) -> list[dict[str, Any]]:
    """Subscribe to the trades channel and get the first trade."""
    first = asyncio.create_task(exchange.watch_trades("BTC/USDT"))
    await until(subscribed(fake, TRADES))
    market.step_until(lambda e: isinstance(e, Trade))
    return list(await asyncio.wait_for(first, 5))


async def test_watch_trades_gets_the_recorded_trades_in_order() -> None:
    market = new_market()
    async with started_fake(market, dialect="okx") as fake, ws_client(fake) as exchange:
        trades = await watching_trades(fake, exchange, market)
        trades += await collect_trades(exchange, market, 60)
    expected = recorded_stream("trade")[: len(trades)]
    assert [t["id"] for t in trades] == [str(t["t"]) for t in expected]
    assert [(t["price"], t["amount"], t["timestamp"]) for t in trades] == [
        (float(t["p"]), float(t["q"]), t["T"]) for t in expected
    ]
    assert [t["side"] for t in trades] == ["sell" if t["m"] else "buy" for t in expected]


async def test_watch_order_book_follows_the_book_through_the_updates() -> None:
    market = new_market()
    async with started_fake(market, dialect="okx") as fake, ws_client(fake) as exchange:
        watching = asyncio.create_task(exchange.watch_order_book("BTC/USDT"))
        await until(subscribed(fake, BOOKS))
        book = await asyncio.wait_for(watching, 5)  # the snapshot
        nonces = [book["nonce"]]
        for _ in range(30):
            market.step_until(lambda e: isinstance(e, DepthDiff))
            book = await asyncio.wait_for(exchange.watch_order_book("BTC/USDT"), 5)
            nonces.append(book["nonce"])
    state = market.state("BTCUSDT").book
    assert state is not None
    assert book["nonce"] == state.last_update_id
    assert nonces == sorted(nonces)
    bids, asks = state.levels(25)
    assert book["bids"][:25] == [[float(p), float(q)] for p, q in bids]
    assert book["asks"][:25] == [[float(p), float(q)] for p, q in asks]


async def receive_json(ws: aiohttp.ClientWebSocketResponse) -> Any:
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)


def apply_levels(side: dict[str, str], levels: list[list[str]]) -> None:
    for price, size, *_ in levels:
        if Decimal(size) == 0:
            side.pop(price, None)
        else:
            side[price] = size


def top(side: dict[str, str], reverse: bool) -> list[list[str]]:
    prices = sorted(side, key=Decimal, reverse=reverse)[:25]
    return [[p, side[p]] for p in prices]


async def test_every_books_message_carries_okx_checksum_of_the_top_25_levels() -> None:
    market = new_market()
    arg = {"channel": "books", "instId": "BTC-USDT"}
    async with started_fake(market, dialect="okx") as fake, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{fake.urls.ws}/ws/v5/public")
        await ws.send_json({"op": "subscribe", "args": [arg]})
        ack = await receive_json(ws)
        assert (ack["event"], ack["arg"]) == ("subscribe", arg)
        snapshot = await receive_json(ws)
        assert (snapshot["arg"], snapshot["action"]) == (arg, "snapshot")
        bids: dict[str, str] = {}
        asks: dict[str, str] = {}
        messages = [snapshot]
        market.step(3_000)
        while len(messages) < 40:
            messages.append(await receive_json(ws))
        await ws.send_str("ping")
        while (await asyncio.wait_for(ws.receive(), 5)).data != "pong":
            pass
        await ws.close()
    previous = None
    for message in messages:
        data = message["data"][0]
        apply_levels(bids, data["bids"])
        apply_levels(asks, data["asks"])
        assert data["checksum"] == checksum(top(bids, True), top(asks, False))
        assert data["prevSeqId"] == (-1 if previous is None else previous)
        previous = data["seqId"]
    assert [m["action"] for m in messages[1:]] == ["update"] * 39


def test_checksum_is_okx_documented_crc32() -> None:
    # "3366.1:7:3366.8:9:3366:6:3368:8", CRC32 2413953002, as a signed 32-bit integer
    bids, asks = [["3366.1", "7"], ["3366", "6"]], [["3366.8", "9"], ["3368", "8"]]
    assert checksum(bids, asks) == 2413953002 - 2**32
    # one side longer: its levels alone once the other runs out ("1:2:3:4:5:6")
    assert checksum([["1", "2"], ["5", "6"]], [["3", "4"]]) == checksum(
        [["1", "2"]], [["3", "4"], ["5", "6"]]
    )
    assert checksum([["1", "1"]] * 30, []) == checksum([["1", "1"]] * 25, [])


async def test_subscribe_errors_and_unsubscribe_as_okx_answers() -> None:
    async with started_fake(dialect="okx") as fake, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{fake.urls.ws}/ws/v5/public")
        bad = {"channel": "trades", "instId": "DOGE-USDT"}
        await ws.send_json({"op": "subscribe", "args": [bad]})
        error = await receive_json(ws)
        assert (error["event"], error["code"]) == ("error", "60018")
        good = {"channel": "trades", "instId": "BTC-USDT"}
        await ws.send_json({"op": "subscribe", "args": [good]})
        assert (await receive_json(ws))["event"] == "subscribe"
        assert fake.context.subscriptions[TRADES] == 1
        await ws.send_json({"op": "unsubscribe", "args": [good]})
        assert (await receive_json(ws))["event"] == "unsubscribe"
        assert fake.context.subscriptions[TRADES] == 0
        await ws.close()


async def test_bids_asks_ticker_and_candles_follow_the_replay() -> None:
    market = new_market()
    async with started_fake(market, dialect="okx") as fake, ws_client(fake) as exchange:
        quotes = asyncio.create_task(exchange.watch_bids_asks(["BTC/USDT"]))
        ticker = asyncio.create_task(exchange.watch_ticker("BTC/USDT"))
        candles = asyncio.create_task(exchange.watch_ohlcv("BTC/USDT", "1m"))
        for stream in ("bbo-tbt:BTC-USDT", "tickers:BTC-USDT", "candle1m:BTC-USDT"):
            await until(subscribed(fake, stream))
        market.step(3_000)
        await asyncio.wait_for(asyncio.gather(quotes, ticker, candles), 5)
        last = market.state("BTCUSDT").quote
        assert last is not None
        best = (float(last.bid), float(last.ask))
        await until(
            lambda: (
                (exchange.bidsasks["BTC/USDT"]["bid"], exchange.bidsasks["BTC/USDT"]["ask"]) == best
            )
        )
        await until(lambda: exchange.tickers["BTC/USDT"]["bid"] == float(last.bid))
        async with rest_client(fake) as rest:
            bars = await rest.fetch_ohlcv("BTC/USDT", "1m", limit=2)
        await until(lambda: exchange.ohlcvs["BTC/USDT"]["1m"][-2:] == bars)


async def test_a_prev_seq_id_gap_fails_the_book_until_it_resynchronises() -> None:
    market = new_market()
    async with started_fake(market, dialect="okx") as fake, ws_client(fake) as exchange:
        watching = asyncio.create_task(exchange.watch_order_book("BTC/USDT"))
        await until(subscribed(fake, BOOKS))
        await asyncio.wait_for(watching, 5)
        fake.faults.apply(FaultUpdate(depth_gap=2))
        for _ in range(3):  # two left out, the third sent with the second's seqId as prevSeqId
            market.step_until(lambda e: isinstance(e, DepthDiff))
        with pytest.raises(ccxt.InvalidNonce):
            await asyncio.wait_for(exchange.watch_order_book("BTC/USDT"), 5)
        assert fake.faults.injected["skipped_depth_diffs"] == 2
        # watching again unsubscribes, subscribes and starts from a new snapshot
        book = await asyncio.wait_for(exchange.watch_order_book("BTC/USDT"), 5)
        state = market.state("BTCUSDT").book
        assert state is not None
        assert book["nonce"] == state.last_update_id
        market.step_until(lambda e: isinstance(e, DepthDiff))
        book = await asyncio.wait_for(exchange.watch_order_book("BTC/USDT"), 5)
        assert book["nonce"] == state.last_update_id


async def test_duplicate_reordered_and_stale_trades() -> None:
    market = new_market()
    ids = [str(t["t"]) for t in recorded_stream("trade")]
    async with started_fake(market, dialect="okx") as fake, ws_client(fake) as exchange:
        await watching_trades(fake, exchange, market)
        fake.faults.apply(FaultUpdate(duplicate_trades=1, reorder_trades=1))
        received = exchange.trades["BTC/USDT"]
        for _ in range(3):  # the first sent twice, the second held back until after the third
            market.step_until(lambda e: isinstance(e, Trade))
        await until(lambda: len(received) >= 5)
        faulty = [t["id"] for t in list(received)[1:]]
        fake.faults.apply(FaultUpdate.model_validate({"stale": {"streams": ["trades:*"]}}))
        for _ in range(3):
            market.step_until(lambda e: isinstance(e, Trade))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(exchange.watch_trades("BTC/USDT"), 0.3)
        fake.faults.apply(FaultUpdate(clear=True))
        after = [t["id"] for t in await collect_trades(exchange, market, 1)]
    assert faulty == [ids[1], ids[1], ids[3], ids[2]]
    assert fake.faults.injected["stale_messages"] == 3
    assert after[-1] == ids[7]
    assert not set(ids[4:7]) & set(after)  # the three stale trades never came


async def test_dropped_connections_raise_network_errors() -> None:
    market = new_market()
    async with started_fake(market, dialect="okx") as fake, ws_client(fake) as exchange:
        await watching_trades(fake, exchange, market)
        pending = asyncio.create_task(exchange.watch_trades("BTC/USDT"))
        await asyncio.sleep(0)
        await fake.set_faults(FaultUpdate.model_validate({"drop_connections": {}}))
        with pytest.raises(ccxt.NetworkError):
            await asyncio.wait_for(pending, 5)
        trades = await watching_trades(fake, exchange, market)
    assert trades
