"""Helpers of the fake exchange tests: the recording, read on its own, and a started fake.

The recording is read here independently of ``jules_venues.fake.feed``, so the tests compare
what ccxt receives with the file itself.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
from jules_venues.fake import FakeExchange, FaultUpdate, Market, load_feed

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
SPOT_FILE = DATA_DIR / "hftbacktest" / "examples" / "spot" / "btcusdt_20240808.gz"


@cache
def recorded() -> list[tuple[int, dict[str, Any]]]:
    """The file's messages as ``(receive ns, JSON)``, from the REST snapshot on."""
    with gzip.open(SPOT_FILE, "rt") as lines:
        pairs = [line.split(" ", 1) for line in lines]
    messages = [(int(stamp), json.loads(body)) for stamp, body in pairs]
    start = next(i for i, (_, m) in enumerate(messages) if "lastUpdateId" in m)
    return messages[start:]


def recorded_stream(kind: str) -> list[dict[str, Any]]:
    """The recorded payloads of one stream (``trade``, ``bookTicker``, ``depth@100ms``)."""
    return [m["data"] for _, m in recorded() if m.get("stream") == f"btcusdt@{kind}"]


def new_market() -> Market:
    """A paused market over the 2024-08-08 spot recording."""
    return Market(load_feed((SPOT_FILE,)), speed=None)


@asynccontextmanager
async def started_fake(
    market: Market | None = None, faults: FaultUpdate | None = None, dialect: str = "binance"
) -> AsyncIterator[FakeExchange]:
    """A fake exchange (Binance unless told) on a free port (the market paused unless given)."""
    async with FakeExchange(
        market or new_market(), dialect=dialect, faults=faults, ping_interval=5.0
    ) as fake:
        yield fake


@asynccontextmanager
async def rest_client(fake: FakeExchange, **options: Any) -> AsyncIterator[Any]:
    """The dialect's ``ccxt.async_support`` class pointed at the fake (no client throttle)."""
    factory = getattr(ccxt_async, fake.dialect.name)
    exchange = factory(fake.ccxt_config() | {"enableRateLimit": False} | options)
    try:
        yield exchange
    finally:
        await exchange.close()


@asynccontextmanager
async def ws_client(fake: FakeExchange) -> AsyncIterator[Any]:
    """The dialect's ``ccxt.pro`` class pointed at the fake, markets loaded."""
    exchange = getattr(ccxt_pro, fake.dialect.name)(fake.ccxt_config() | {"enableRateLimit": False})
    try:
        await exchange.load_markets()
        yield exchange
    finally:
        await exchange.close()


async def until(condition: Callable[[], bool], step: Callable[[], object] | None = None) -> None:
    """Wait (yielding to the loop, at most ~10 s) until ``condition`` holds."""
    import asyncio

    for _ in range(2_000):
        if condition():
            return
        if step is not None:
            step()
        await asyncio.sleep(0.005)
    raise AssertionError("condition not met")


def subscribed(fake: FakeExchange, stream: str) -> Callable[[], bool]:
    """Whether some websocket client of the fake subscribed to ``stream``."""

    return lambda: fake.context.subscriptions[stream] > 0
