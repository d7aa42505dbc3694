"""What a dialect is, the registry of dialects, and the websocket plumbing they share.

A dialect is a module that speaks one exchange's HTTP and WebSocket API over the shared
:class:`~jules_venues.fake.market.Market`: it exposes ``DIALECT``, an object with a ``name``,
``install(app, context)`` (add its routes and streams to the aiohttp application),
``rate_limited(retry_after)`` (the exchange's HTTP 429 response) and ``ccxt_config(http_base,
ws_base)`` (the ccxt constructor options that point that exchange's ccxt class at the fake).
Adding a dialect is adding a module and a line to :data:`DIALECTS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import WSCloseCode, web

from jules_venues.fake.faults import Faults
from jules_venues.fake.market import Market

__all__ = ["DIALECTS", "Dialect", "FakeContext", "WsConnection", "get_dialect"]

DIALECTS: dict[str, str] = {"binance": "jules_venues.fake.binance"}
"""Dialect name -> module exposing ``DIALECT``."""


@dataclass(slots=True)
class FakeContext:
    """What a dialect serves from: the market, the faults and the open websocket connections.

    ``ping_interval`` is the seconds between the server's websocket pings; ``subscriptions``
    counts the subscribers of every stream name (the dialect keeps it up to date).
    """

    market: Market
    faults: Faults
    ping_interval: float = 20.0
    connections: set[WsConnection] = field(default_factory=set)
    subscriptions: Counter[str] = field(default_factory=Counter)

    async def drop_connections(self) -> int:
        """Close every websocket connection; how many were open."""
        connections = list(self.connections)
        await asyncio.gather(*(c.close() for c in connections))
        return len(connections)


class Dialect(Protocol):
    """One exchange's API over the fake market."""

    name: str

    def install(self, app: web.Application, context: FakeContext) -> None:
        """Add the dialect's HTTP routes and websocket endpoints to ``app``."""

    def rate_limited(self, retry_after: int) -> web.Response:
        """The exchange's answer to a request over its rate limit."""

    def ccxt_config(self, http_base: str, ws_base: str) -> dict[str, Any]:
        """Options for the exchange's ccxt class so that it talks to the fake only."""


def get_dialect(name: str) -> Dialect:
    """The dialect called ``name``.

    Raises:
        ValueError: There is no such dialect.
    """
    try:
        module = DIALECTS[name]
    except KeyError:
        known = ", ".join(sorted(DIALECTS))
        raise ValueError(f"unknown dialect {name!r} (known: {known})") from None
    dialect: Dialect = importlib.import_module(module).DIALECT
    return dialect


class WsConnection:
    """A websocket connection whose messages go out in order, after the injected latency.

    Args:
        ws: The prepared websocket response.
        context: The fake's context (the connection registers itself there).
    """

    def __init__(self, ws: web.WebSocketResponse, context: FakeContext) -> None:
        self.ws = ws
        self._context = context
        self._queue: asyncio.Queue[tuple[float, str] | None] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write())
        context.connections.add(self)

    def send(self, text: str) -> None:
        """Queue a text message (it leaves after the current websocket latency)."""
        if self.ws.closed:
            return
        due = asyncio.get_running_loop().time() + self._context.faults.ws_latency_ms / 1000
        self._queue.put_nowait((due, text))

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while (item := await self._queue.get()) is not None:
            due, text = item
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return

    async def close(self) -> None:
        """Close the connection (as an exchange going away) and stop its writer."""
        self._context.connections.discard(self)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        await self.ws.close(code=WSCloseCode.GOING_AWAY, message=b"going away")

    async def finish(self) -> None:
        """Stop the writer after the peer went away."""
        self._context.connections.discard(self)
        self._queue.put_nowait(None)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
