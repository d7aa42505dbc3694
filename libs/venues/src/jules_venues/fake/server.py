"""The fake exchange server: one dialect over a replayed market, with misbehaviour on demand.

Start one in-process::

    market = Market(load_feed(default_data_files(data_dir)), speed=10)
    async with FakeExchange(market, port=0) as fake:  # port 0: a free port
        exchange = ccxt.pro.binance(fake.ccxt_config())

Control endpoints (JSON), beside the dialect's API:

- ``GET /_fake/status``: the replay's position, clock, speed, symbols and connections;
- ``GET /_fake/faults``, ``POST /_fake/faults`` (a :class:`FaultUpdate`), ``DELETE
  /_fake/faults`` (clear): the faults and the counts of what was injected;
- ``POST /_fake/replay``: ``{"speed": x}`` (``null`` pauses) and/or ``{"step": n}``.

REST latency and 429s apply to the dialect's HTTP routes, not to the control endpoints nor to
websocket handshakes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jules_venues.fake.dialect import Dialect, FakeContext, get_dialect
from jules_venues.fake.faults import Faults, FaultUpdate
from jules_venues.fake.market import Market

__all__ = [
    "FakeExchange",
    "FakeUrls",
    "ReplayControl",
    "default_data_files",
    "files_or_default",
]

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DEFAULT_FILES = (
    "hftbacktest/examples/spot/btcusdt_20240808.gz",
    "hftbacktest/examples/spot/btcusdt_20240809.gz",
)
"""The recordings served by default (Binance spot BTCUSDT, about 11 minutes), under the data
folder."""


def default_data_files(data_dir: Path) -> tuple[Path, ...]:
    """The default recordings under the sample data folder."""
    return tuple(data_dir / name for name in DEFAULT_FILES)


@dataclass(frozen=True, slots=True)
class FakeUrls:
    """Where a started fake listens: ``http://host:port`` and ``ws://host:port``."""

    http: str
    ws: str
    port: int


class ReplayControl(BaseModel):
    """``POST /_fake/replay``: change the speed (``None`` pauses) and/or apply events now."""

    model_config = ConfigDict(extra="forbid")

    speed: float | None = Field(default=None, ge=0)
    step: int = Field(default=0, ge=0)


class FakeExchange:
    """A local exchange server speaking one dialect over a replayed market.

    Args:
        market: The replayed market (its replay task runs while the server does).
        dialect: The dialect's name (see :data:`jules_venues.fake.dialect.DIALECTS`).
        host: The address to listen on.
        port: The port; 0 picks a free one.
        faults: Faults to start with.
        ping_interval: Seconds between the server's websocket pings.
    """

    def __init__(
        self,
        market: Market,
        *,
        dialect: str = "binance",
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultUpdate | None = None,
        ping_interval: float = 20.0,
    ) -> None:
        self.market = market
        self.dialect: Dialect = get_dialect(dialect)
        self.context = FakeContext(market=market, faults=Faults(), ping_interval=ping_interval)
        if faults is not None:
            self.context.faults.apply(faults)
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self._replay: asyncio.Task[None] | None = None
        self._urls: FakeUrls | None = None

    @property
    def faults(self) -> Faults:
        """The live faults."""
        return self.context.faults

    @property
    def urls(self) -> FakeUrls:
        """Where the server listens (once started)."""
        if self._urls is None:
            raise RuntimeError("the fake exchange is not started")
        return self._urls

    def ccxt_config(self) -> dict[str, Any]:
        """Constructor options for the dialect's ccxt class (``urls`` and ``options``)."""
        return self.dialect.ccxt_config(self.urls.http, self.urls.ws)

    def build_app(self) -> web.Application:
        """The aiohttp application: the dialect's routes, the control routes, the faults."""
        app = web.Application(middlewares=[self._misbehave])
        app.router.add_get("/_fake/status", self._status)
        app.router.add_get("/_fake/faults", self._get_faults)
        app.router.add_post("/_fake/faults", self._post_faults)
        app.router.add_delete("/_fake/faults", self._clear_faults)
        app.router.add_post("/_fake/replay", self._post_replay)
        self.dialect.install(app, self.context)
        return app

    async def start(self) -> FakeUrls:
        """Listen, and start the replay; the server's URLs."""
        runner = web.AppRunner(self.build_app(), handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._runner = runner
        port = int(runner.addresses[0][1])
        self._urls = FakeUrls(f"http://{self._host}:{port}", f"ws://{self._host}:{port}", port)
        self._replay = asyncio.create_task(self.market.run(), name="fake-exchange-replay")
        return self._urls

    async def stop(self) -> None:
        """Stop the replay, close the websocket connections and the server."""
        if self._replay is not None:
            self._replay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replay
            self._replay = None
        await self.context.drop_connections()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeExchange:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def set_faults(self, update: FaultUpdate) -> dict[str, Any]:
        """Apply faults now (dropping connections if asked); the faults as JSON-ready data."""
        self.faults.apply(update)
        if update.drop_connections is not None:
            await self.context.drop_connections()
        return self.faults.describe()

    def status(self) -> dict[str, Any]:
        """The replay's state, as JSON-ready data."""
        market = self.market
        return {
            "dialect": self.dialect.name,
            "symbols": list(market.symbols),
            "position": market.position,
            "events": len(market.feed.events),
            "finished": market.finished,
            "now_ms": market.now_ms,
            "speed": market.speed,
            "connections": len(self.context.connections),
            "subscriptions": {k: n for k, n in self.context.subscriptions.items() if n},
        }

    @web.middleware
    async def _misbehave(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        if request.path.startswith("/_fake/") or request.headers.get("Upgrade"):
            return await handler(request)
        if self.faults.rest_latency_ms > 0:
            await asyncio.sleep(self.faults.rest_latency_ms / 1000)
        retry_after = self.faults.take_rate_limit()
        if retry_after is not None:
            return self.dialect.rate_limited(retry_after)
        return await handler(request)

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response(self.status())

    async def _get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.faults.describe())

    async def _post_faults(self, request: web.Request) -> web.Response:
        try:
            update = FaultUpdate.model_validate_json(await request.read())
        except ValidationError as exc:
            return web.json_response(
                {"error": exc.errors(include_url=False, include_context=False)}, status=400
            )
        return web.json_response(await self.set_faults(update))

    async def _clear_faults(self, request: web.Request) -> web.Response:
        return web.json_response(await self.set_faults(FaultUpdate(clear=True)))

    async def _post_replay(self, request: web.Request) -> web.Response:
        try:
            body = await request.read()
            control = ReplayControl.model_validate_json(body or b"{}")
        except ValidationError as exc:
            return web.json_response(
                {"error": exc.errors(include_url=False, include_context=False)}, status=400
            )
        if "speed" in control.model_fields_set:
            self.market.set_speed(control.speed)
        if control.step:
            self.market.step(control.step)
        return web.json_response(self.status())


def files_or_default(files: Sequence[Path], data_dir: Path) -> tuple[Path, ...]:
    """``files`` if any, else the default recordings under ``data_dir``."""
    return tuple(files) if files else default_data_files(data_dir)
