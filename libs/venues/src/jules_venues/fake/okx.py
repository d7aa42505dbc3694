"""The OKX spot dialect: ``/api/v5`` REST market data and the public websocket channels.

REST (public, no API key), every answer in OKX's envelope ``{"code": "0", "msg": "", "data":
[...]}``: ``public/time``, ``public/instruments`` (``instType=SPOT``; the other instrument
types list nothing), ``market/books`` (and ``books-full``), ``market/trades``,
``market/history-trades`` (paged by trade id, ``type=1``, or by time, ``type=2``, with
``after``/``before``), ``market/candles`` and ``market/history-candles`` (bars built from the
trades, newest first, ``after``/``before`` in ms), ``market/ticker``, ``market/tickers``, and
``system/status``. Errors are OKX's: HTTP 400 with ``{"code": "51001", "msg": "Instrument ID
does not exist"}`` and the like; over the rate limit, HTTP 429 with ``Retry-After`` and code
50011. The websocket channels are in :mod:`jules_venues.fake.okx_ws`.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from jules_venues.fake import okx_format as fmt
from jules_venues.fake.dialect import FakeContext, Handler, RequestRefusedError, add_routes
from jules_venues.fake.feed import Trade
from jules_venues.fake.market import Bar, SymbolState, build_bars
from jules_venues.fake.okx_ws import OkxChannels

__all__ = ["DIALECT", "OkxDialect", "OkxError", "select_bars"]


_CONTEXT = web.AppKey("okx_context", FakeContext)


class OkxError(RequestRefusedError):
    """A request OKX would refuse: HTTP ``status`` with ``{"code", "msg", "data": []}``."""


def _ok(data: list[Any]) -> web.Response:
    body = {"code": "0", "msg": "", "data": data}
    return web.json_response(body, dumps=lambda d: json.dumps(d, separators=(",", ":")))


def _state(request: web.Request) -> SymbolState:
    instrument = request.query.get("instId")
    if not instrument:
        raise OkxError("50014", "Parameter instId can not be empty.")
    symbol = fmt.symbol_of(instrument)
    try:
        if symbol is None:
            raise KeyError(instrument)
        return request.app[_CONTEXT].market.state(symbol)
    except KeyError:
        raise OkxError("51001", "Instrument ID does not exist") from None


def _int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise OkxError("51000", f"Parameter {name} error") from None


def _limit(request: web.Request, default: int, hi: int) -> int:
    value = _int(request, "limit") or _int(request, "sz") or default
    return min(max(value, 1), hi)


async def server_time(request: web.Request) -> web.Response:
    """``GET /api/v5/public/time``: the replay's exchange clock."""
    return _ok([{"ts": str(request.app[_CONTEXT].market.now_ms)}])


async def system_status(request: web.Request) -> web.Response:
    """``GET /api/v5/system/status``: no maintenance."""
    return _ok([])


async def instruments(request: web.Request) -> web.Response:
    """``GET /api/v5/public/instruments``: the spot instruments of the replayed symbols."""
    kind = request.query.get("instType")
    if not kind:
        raise OkxError("50014", "Parameter instType can not be empty.")
    if kind != "SPOT":
        return _ok([])
    market = request.app[_CONTEXT].market
    listed = [s for s in market.symbols if s in fmt.INSTRUMENTS]
    wanted = request.query.get("instId")
    first_ms = market.feed.events[0].recv_ns // 1_000_000 + market.feed.clock_offset_ms
    return _ok(
        [fmt.instrument(s, first_ms) for s in listed if wanted is None or fmt.inst_id(s) == wanted]
    )


async def books(request: web.Request) -> web.Response:
    """``GET /api/v5/market/books`` (and ``books-full``): the book now, ``sz`` levels a side."""
    state = _state(request)
    if state.book is None:
        raise OkxError("51001", "Instrument ID does not exist")
    full = request.path.endswith("books-full")
    bids, asks = state.book.levels(_limit(request, 1, 5000 if full else 400))
    now = request.app[_CONTEXT].market.now_ms
    return _ok([{"asks": fmt.book_levels(asks), "bids": fmt.book_levels(bids), "ts": str(now)}])


async def trades(request: web.Request) -> web.Response:
    """``GET /api/v5/market/trades``: the most recent trades, newest first."""
    state = _state(request)
    recent = state.trades[-_limit(request, 100, 500) :]
    return _ok([fmt.trade_row(t) for t in reversed(recent)])


def _trade_window(
    trades: list[Trade], key: Callable[[Trade], int], after: int | None, before: int | None
) -> tuple[int, int]:
    """The slice of ``trades`` (ascending in ``key``) with ``before < key < after``."""
    lo = 0 if before is None else bisect.bisect_right(trades, before, key=key)
    hi = len(trades) if after is None else bisect.bisect_left(trades, after, key=key)
    return lo, max(hi, lo)


async def history_trades(request: web.Request) -> web.Response:
    """``GET /api/v5/market/history-trades``: trades older than ``after`` / newer than ``before``.

    ``type=1`` (the default) pages by trade id, ``type=2`` by time (ms). Newest first; with
    only ``before``, the ``limit`` trades just after it.
    """
    state = _state(request)
    limit = _limit(request, 100, 100)
    kind = request.query.get("type", "1")
    if kind not in ("1", "2"):
        raise OkxError("51000", "Parameter type error")

    def key(trade: Trade) -> int:
        return trade.trade_id if kind == "1" else trade.time_ms

    after, before = _int(request, "after"), _int(request, "before")
    lo, hi = _trade_window(state.trades, key, after, before)
    if after is None and before is not None:
        hi = min(hi, lo + limit)
    selected = state.trades[max(lo, hi - limit) : hi]
    return _ok([fmt.trade_row(t) for t in reversed(selected)])


def select_bars(
    state: SymbolState, interval_ms: int, after: int | None, before: int | None, limit: int
) -> list[Bar]:
    """Bars starting in ``(before, after)`` (open bounds when ``None``): the newest ``limit``."""
    lower = None if before is None else before + 1 - (before + 1) % interval_ms
    bars = build_bars(state.trades_between(lower, None), interval_ms)
    bars = [
        b
        for b in bars
        if (before is None or b.open_ms > before) and (after is None or b.open_ms < after)
    ]
    return bars[-limit:]


async def candles(request: web.Request) -> web.Response:
    """``GET /api/v5/market/candles`` (and ``history-candles``): bars from the trades."""
    state = _state(request)
    interval_ms = fmt.bar_length_ms(request.query.get("bar", "1m"))
    if interval_ms is None:
        raise OkxError("51000", "Parameter bar error")
    now = request.app[_CONTEXT].market.now_ms
    after, before = _int(request, "after"), _int(request, "before")
    bars = select_bars(state, interval_ms, after, before, _limit(request, 100, 300))
    rows = [fmt.candle_row(b, b.open_ms + interval_ms <= now) for b in reversed(bars)]
    return _ok(rows)


def _ticker(state: SymbolState, now_ms: int) -> dict[str, str]:
    window = state.trades_between(now_ms - 86_400_000, None)
    prices = [Decimal(t.price) for t in window]
    volume = sum((Decimal(t.qty) for t in window), Decimal(0))
    notional = sum((Decimal(t.qty) * Decimal(t.price) for t in window), Decimal(0))
    open_price = fmt.number(prices[0]) if prices else "0"
    return fmt.top_of_book(state, now_ms) | {
        "open24h": open_price,
        "high24h": fmt.number(max(prices, default=Decimal(0))),
        "low24h": fmt.number(min(prices, default=Decimal(0))),
        "volCcy24h": fmt.number(notional),
        "vol24h": fmt.number(volume),
        "sodUtc0": open_price,
        "sodUtc8": open_price,
    }


async def ticker(request: web.Request) -> web.Response:
    """``GET /api/v5/market/ticker``: last trade, best bid/offer and 24 h statistics."""
    return _ok([_ticker(_state(request), request.app[_CONTEXT].market.now_ms)])


async def tickers(request: web.Request) -> web.Response:
    """``GET /api/v5/market/tickers``: the tickers of every spot instrument."""
    market = request.app[_CONTEXT].market
    if request.query.get("instType", "SPOT") != "SPOT":
        return _ok([])
    states = [s for s in market.symbols.values() if s.symbol in fmt.INSTRUMENTS]
    return _ok([_ticker(s, market.now_ms) for s in states])


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except OkxError as exc:
        body: dict[str, Any] = {"code": exc.code, "msg": exc.msg, "data": []}
        return web.json_response(body, status=exc.status)


class OkxDialect:
    """OKX spot over the fake market."""

    name = "okx"

    def install(self, app: web.Application, context: FakeContext) -> None:
        """Add the REST routes and the websocket endpoints."""
        app[_CONTEXT] = context
        routes: dict[str, Handler] = {
            "public/time": server_time,
            "public/instruments": instruments,
            "system/status": system_status,
            "market/books": books,
            "market/books-full": books,
            "market/trades": trades,
            "market/history-trades": history_trades,
            "market/candles": candles,
            "market/history-candles": candles,
            "market/ticker": ticker,
            "market/tickers": tickers,
        }
        add_routes(app, {f"/api/v5/{path}": h for path, h in routes.items()}, _errors)
        OkxChannels(context).install(app)

    def rate_limited(self, retry_after: int) -> web.Response:
        """HTTP 429, ``Retry-After`` and OKX's code 50011."""
        body = {"code": "50011", "msg": "Too Many Requests", "data": []}
        return web.json_response(body, status=429, headers={"Retry-After": str(retry_after)})

    def ccxt_config(self, http_base: str, ws_base: str) -> dict[str, Any]:
        """Options for ``ccxt.okx`` / ``ccxt.pro.okx``: the fake's urls, spot markets only.

        ccxt's OKX classes put every REST call under ``urls.api.rest`` and open websockets
        at ``urls.api.ws`` plus ``/public`` or ``/business``; markets load from the spot
        instruments alone (the currency list needs an API key, ccxt skips it without one).
        """
        return {
            "urls": {"api": {"rest": http_base, "ws": f"{ws_base}/ws/v5"}},
            "options": {"fetchMarkets": {"types": ["spot"]}, "defaultType": "spot"},
        }


DIALECT = OkxDialect()
"""The OKX spot dialect."""
