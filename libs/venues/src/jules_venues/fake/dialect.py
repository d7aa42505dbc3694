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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.typedefs import Middleware
from jules_contracts import JulesError

from jules_venues.fake.faults import Faults
from jules_venues.fake.market import Market

__all__ = [
    "DIALECTS",
    "Dialect",
    "FakeContext",
    "Handler",
    "RequestRefusedError",
    "TradeFaultGate",
    "WsConnection",
    "WsSession",
    "add_routes",
    "get_dialect",
    "serve_websocket",
]

DIALECTS: dict[str, str] = {
    "binance": "jules_venues.fake.binance",
    "okx": "jules_venues.fake.okx",
}
"""Dialect name -> module exposing ``DIALECT``."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
"""An aiohttp request handler."""


class RequestRefusedError(JulesError):
    """A request the exchange refuses: HTTP ``status`` with the exchange's ``code`` and ``msg``.

    Each dialect subclasses it and turns it into the exchange's error body.
    """

    def __init__(self, code: int | str, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


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


def add_routes(
    app: web.Application,
    routes: Mapping[str, Handler],
    errors: Middleware,
) -> None:
    """Add a dialect's GET routes (path to handler) and its error middleware to ``app``."""
    app.middlewares.append(errors)
    for path, handler in routes.items():
        app.router.add_get(path, handler)


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


class TradeFaultGate:
    """Sends a trade stream's payloads through the trade faults (duplicates, swaps).

    A trade to reorder is held back and sent after the next trade of its stream.
    """

    def __init__(self, faults: Faults) -> None:
        self._faults = faults
        self._held: dict[str, Any] = {}

    def send(self, stream: str, payload: Any, publish: Callable[[str, Any], None]) -> None:
        """Publish ``payload`` on ``stream`` as the faults say (once, twice, or later)."""
        held = self._held.pop(stream, None)
        fault = self._faults.take_trade_fault()
        if fault == "reorder":
            self._held[stream] = payload
        else:
            publish(stream, payload)
            if fault == "duplicate":
                publish(stream, payload)
        if held is not None:
            publish(stream, held)


class WsSession(Protocol):
    """A dialect's side of one websocket connection."""

    def receive(self, text: str) -> None:
        """Handle a text message from the peer."""

    def close(self) -> None:
        """The peer went away: drop the connection's subscriptions."""


async def serve_websocket(
    request: web.Request,
    context: FakeContext,
    open_session: Callable[[WsConnection], WsSession],
) -> web.StreamResponse:
    """Serve one websocket connection through a dialect's session.

    While connections are refused (a fault), the handshake is answered 503. Otherwise the
    session is opened on the prepared connection, gets every text message until the peer
    leaves, and is closed. The server pings every ``context.ping_interval`` seconds and
    answers pings.
    """
    if context.faults.refusing_connections():
        return web.Response(status=503, text="Service Unavailable")
    ws = web.WebSocketResponse(heartbeat=context.ping_interval, autoping=True)
    await ws.prepare(request)
    connection = WsConnection(ws, context)
    session = open_session(connection)
    try:
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                session.receive(message.data)
    finally:
        session.close()
        await connection.finish()
    return ws
