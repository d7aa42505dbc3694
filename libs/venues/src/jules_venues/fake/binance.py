"""The Binance spot dialect: ``/api/v3`` REST market data and the market-data websocket streams.

REST (public, no API key): ``ping``, ``time``, ``exchangeInfo``, ``depth``, ``trades``,
``historicalTrades``, ``aggTrades``, ``klines`` (and ``uiKlines``), ``avgPrice``,
``ticker/24hr``, ``ticker/price``, ``ticker/bookTicker``, and ``/sapi/v1/system/status``.
Errors are Binance's: HTTP 400 with ``{"code": -1121, "msg": "Invalid symbol."}`` and the
like; over the rate limit, HTTP 429 with ``Retry-After`` and code -1003. The websocket streams
are in :mod:`jules_venues.fake.binance_ws`.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from jules_venues.fake import binance_format as fmt
from jules_venues.fake.binance_info import RATE_LIMITS, symbol_info
from jules_venues.fake.binance_ws import BinanceStreams
from jules_venues.fake.dialect import FakeContext, Handler, RequestRefusedError, add_routes
from jules_venues.fake.market import SymbolState

__all__ = ["DIALECT", "BinanceDialect", "BinanceError", "ccxt_urls"]


_CONTEXT = web.AppKey("binance_context", FakeContext)


class BinanceError(RequestRefusedError):
    """A request Binance would refuse: HTTP ``status`` with ``{"code", "msg"}``."""


def _json(data: Any) -> web.Response:
    return web.json_response(data, dumps=lambda d: json.dumps(d, separators=(",", ":")))


def _state(request: web.Request, *, required: bool = True) -> SymbolState | None:
    context = request.app[_CONTEXT]
    symbol = request.query.get("symbol")
    if not symbol:
        if required:
            raise BinanceError(
                -1102,
                "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
            )
        return None
    try:
        return context.market.state(symbol)
    except KeyError:
        raise BinanceError(-1121, "Invalid symbol.") from None


def _symbol(request: web.Request) -> SymbolState:
    state = _state(request)
    assert state is not None
    return state


def _states(request: web.Request) -> list[SymbolState]:
    """The symbol of ``symbol``, those of ``symbols`` (a JSON list), or every symbol."""
    if (state := _state(request, required=False)) is not None:
        return [state]
    market = request.app[_CONTEXT].market
    if raw := request.query.get("symbols"):
        try:
            return [market.state(s) for s in json.loads(raw)]
        except (KeyError, ValueError, TypeError):
            raise BinanceError(-1121, "Invalid symbol.") from None
    return list(market.symbols.values())


def _int(request: web.Request, name: str, default: int | None, hi: int | None = None) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from None
    if value < 0 or (hi is not None and value > hi):
        raise BinanceError(-1100, f"Illegal value for parameter '{name}'.")
    return value


def _limit(request: web.Request, default: int, hi: int) -> int:
    value = _int(request, "limit", default, hi)
    assert value is not None
    return max(value, 1)


async def ping(request: web.Request) -> web.Response:
    """``GET /api/v3/ping``."""
    return _json({})


async def server_time(request: web.Request) -> web.Response:
    """``GET /api/v3/time``: the replay's exchange clock."""
    return _json({"serverTime": request.app[_CONTEXT].market.now_ms})


async def exchange_info(request: web.Request) -> web.Response:
    """``GET /api/v3/exchangeInfo``."""
    return _json(
        {
            "timezone": "UTC",
            "serverTime": request.app[_CONTEXT].market.now_ms,
            "rateLimits": RATE_LIMITS,
            "exchangeFilters": [],
            "symbols": [symbol_info(s.symbol) for s in _states(request)],
        }
    )


async def depth(request: web.Request) -> web.Response:
    """``GET /api/v3/depth``: the book now, ``lastUpdateId`` chaining with the diff stream."""
    book = _symbol(request).book
    if book is None:
        raise BinanceError(-1121, "Invalid symbol.")
    bids, asks = book.levels(_limit(request, 100, 5000))
    return _json({"lastUpdateId": book.last_update_id, "bids": bids, "asks": asks})


def _trade_rows(request: web.Request, state: SymbolState, start: int) -> web.Response:
    rows = [
        {
            "id": t.trade_id,
            "price": t.price,
            "qty": t.qty,
            "quoteQty": fmt.number(Decimal(t.price) * Decimal(t.qty)),
            "time": t.time_ms,
            "isBuyerMaker": t.buyer_maker,
            "isBestMatch": True,
        }
        for t in state.trades[start : start + _limit(request, 500, 1000)]
    ]
    return _json(rows)


async def trades(request: web.Request) -> web.Response:
    """``GET /api/v3/trades``: the most recent trades."""
    state = _symbol(request)
    return _trade_rows(request, state, max(len(state.trades) - _limit(request, 500, 1000), 0))


async def historical_trades(request: web.Request) -> web.Response:
    """``GET /api/v3/historicalTrades``: trades from ``fromId`` (default: the most recent)."""
    state = _symbol(request)
    from_id = _int(request, "fromId", None)
    if from_id is None or not state.trades:
        return await trades(request)
    start = next((i for i, t in enumerate(state.trades) if t.trade_id >= from_id), None)
    return _trade_rows(request, state, len(state.trades) if start is None else start)


async def agg_trades(request: web.Request) -> web.Response:
    """``GET /api/v3/aggTrades``: by ``fromId``, by ``startTime``/``endTime``, or the latest."""
    state = _symbol(request)
    limit = _limit(request, 500, 1000)
    from_id = _int(request, "fromId", None)
    start, end = _int(request, "startTime", None), _int(request, "endTime", None)
    aggs = state.agg_trades
    if from_id is not None:
        selected = [a for a in aggs if a.agg_id >= from_id][:limit]
    elif start is not None or end is not None:
        if start is not None and end is not None and end - start > 3_600_000:
            raise BinanceError(-1127, "More than 1 hours between startTime and endTime.")
        selected = [
            a
            for a in aggs
            if (start is None or a.time_ms >= start) and (end is None or a.time_ms <= end)
        ][:limit]
    else:
        selected = aggs[-limit:]
    return _json([fmt.agg_trade(a) for a in selected])


async def klines(request: web.Request) -> web.Response:
    """``GET /api/v3/klines`` (and ``uiKlines``): bars built from the replayed trades."""
    state = _symbol(request)
    interval = request.query.get("interval", "")
    if interval not in fmt.INTERVALS:
        raise BinanceError(-1120, "Invalid interval.")
    bars = state.bars(
        fmt.INTERVALS[interval],
        _int(request, "startTime", None),
        _int(request, "endTime", None),
        _limit(request, 500, 1000),
    )
    return _json([fmt.kline_row(b) for b in bars])


def _ticker_24hr(state: SymbolState, now_ms: int) -> dict[str, Any]:
    window = state.trades_between(now_ms - 86_400_000, None)
    prices = [Decimal(t.price) for t in window]
    volume = sum((Decimal(t.qty) for t in window), Decimal(0))
    quote_volume = sum((Decimal(t.qty) * Decimal(t.price) for t in window), Decimal(0))
    zero = Decimal(0)
    first, last = (prices[0], prices[-1]) if prices else (zero, zero)
    quote = state.quote
    return {
        "symbol": state.symbol,
        "priceChange": fmt.number(last - first),
        "priceChangePercent": f"{(last - first) / first * 100 if first else zero:.3f}",
        "weightedAvgPrice": fmt.number(quote_volume / volume if volume else zero),
        "prevClosePrice": fmt.number(first),
        "lastPrice": fmt.number(last),
        "lastQty": window[-1].qty if window else fmt.number(zero),
        "bidPrice": quote.bid if quote else fmt.number(zero),
        "bidQty": quote.bid_qty if quote else fmt.number(zero),
        "askPrice": quote.ask if quote else fmt.number(zero),
        "askQty": quote.ask_qty if quote else fmt.number(zero),
        "openPrice": fmt.number(first),
        "highPrice": fmt.number(max(prices, default=zero)),
        "lowPrice": fmt.number(min(prices, default=zero)),
        "volume": fmt.number(volume),
        "quoteVolume": fmt.number(quote_volume),
        "openTime": now_ms - 86_400_000,
        "closeTime": now_ms,
        "firstId": window[0].trade_id if window else -1,
        "lastId": window[-1].trade_id if window else -1,
        "count": len(window),
    }


def _one_or_all(request: web.Request, rows: list[dict[str, Any]]) -> web.Response:
    return _json(rows[0] if "symbol" in request.query else rows)


async def ticker_24hr(request: web.Request) -> web.Response:
    """``GET /api/v3/ticker/24hr``: statistics of the replayed trades of the last 24 h."""
    now = request.app[_CONTEXT].market.now_ms
    return _one_or_all(request, [_ticker_24hr(s, now) for s in _states(request)])


async def ticker_price(request: web.Request) -> web.Response:
    """``GET /api/v3/ticker/price``: the last trade's price."""
    rows = [
        {"symbol": s.symbol, "price": s.trades[-1].price if s.trades else fmt.number(Decimal(0))}
        for s in _states(request)
    ]
    return _one_or_all(request, rows)


async def ticker_book(request: web.Request) -> web.Response:
    """``GET /api/v3/ticker/bookTicker``: the last best bid/offer."""
    rows = [
        {
            "symbol": s.symbol,
            "bidPrice": s.quote.bid,
            "bidQty": s.quote.bid_qty,
            "askPrice": s.quote.ask,
            "askQty": s.quote.ask_qty,
        }
        for s in _states(request)
        if s.quote is not None
    ]
    return _one_or_all(request, rows)


async def avg_price(request: web.Request) -> web.Response:
    """``GET /api/v3/avgPrice``: the volume-weighted price of the last 5 minutes."""
    state = _symbol(request)
    now = request.app[_CONTEXT].market.now_ms
    window = state.trades_between(now - 300_000, None)
    volume = sum((Decimal(t.qty) for t in window), Decimal(0))
    notional = sum((Decimal(t.qty) * Decimal(t.price) for t in window), Decimal(0))
    price = notional / volume if volume else Decimal(0)
    close = window[-1].time_ms if window else now
    return _json({"mins": 5, "price": fmt.number(price), "closeTime": close})


async def system_status(request: web.Request) -> web.Response:
    """``GET /sapi/v1/system/status``: normal."""
    return _json({"status": 0, "msg": "normal"})


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except BinanceError as exc:
        return web.json_response({"code": exc.code, "msg": exc.msg}, status=exc.status)


def ccxt_urls(http_base: str, ws_base: str) -> dict[str, Any]:
    """The ``urls`` option of ``ccxt.binance`` / ``ccxt.pro.binance`` for a fake at these bases.

    Every API url of ccxt's Binance classes is rewritten to the fake (the path kept), so no
    request leaves the machine: spot REST is served, other product lines (futures, options)
    answer 404. Spot websockets go to the fake's combined-stream endpoint ``/stream``.

    Args:
        http_base: The fake's HTTP base, e.g. ``http://127.0.0.1:8765``.
        ws_base: The fake's websocket base, e.g. ``ws://127.0.0.1:8765``.

    Returns:
        ``{"api": {...}}``, to pass as ``ccxt.pro.binance({"urls": ...})``.
    """

    def rewrite(key: str, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: rewrite(f"{key}/{k}", v) for k, v in value.items()}
        parts = urlsplit(str(value))
        if parts.scheme in ("http", "https"):
            return http_base + parts.path
        if key in ("ws/spot", "ws/margin"):
            return ws_base + "/stream"
        return f"{ws_base}/unsupported/{parts.hostname}{parts.path}"

    return {"api": {k: rewrite(k, v) for k, v in _ccxt_api_urls().items()}}


@cache
def _ccxt_api_urls() -> dict[str, Any]:
    """The API urls of ccxt's Binance classes (REST and websockets)."""
    import ccxt.pro

    urls: dict[str, Any] = ccxt.pro.binance().urls["api"]
    return urls


class BinanceDialect:
    """Binance spot over the fake market."""

    name = "binance"

    def install(self, app: web.Application, context: FakeContext) -> None:
        """Add the REST routes and the websocket endpoints."""
        app[_CONTEXT] = context
        routes: dict[str, Handler] = {
            "/api/v3/ping": ping,
            "/api/v3/time": server_time,
            "/api/v3/exchangeInfo": exchange_info,
            "/api/v3/depth": depth,
            "/api/v3/trades": trades,
            "/api/v3/historicalTrades": historical_trades,
            "/api/v3/aggTrades": agg_trades,
            "/api/v3/klines": klines,
            "/api/v3/uiKlines": klines,
            "/api/v3/avgPrice": avg_price,
            "/api/v3/ticker/24hr": ticker_24hr,
            "/api/v3/ticker/price": ticker_price,
            "/api/v3/ticker/bookTicker": ticker_book,
            "/sapi/v1/system/status": system_status,
        }
        add_routes(app, routes, _errors)
        BinanceStreams(context).install(app)

    def rate_limited(self, retry_after: int) -> web.Response:
        """HTTP 429, ``Retry-After`` and Binance's code -1003."""
        body = {
            "code": -1003,
            "msg": "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per "
            "minute. Please use the websocket for live updates to avoid polling the API.",
        }
        return web.json_response(body, status=429, headers={"Retry-After": str(retry_after)})

    def ccxt_config(self, http_base: str, ws_base: str) -> dict[str, Any]:
        """Options for ``ccxt.binance`` / ``ccxt.pro.binance``: the fake's urls, spot only.

        Markets load from spot ``exchangeInfo`` alone (no futures, no currencies endpoint,
        which needs an API key).
        """
        return {
            "urls": ccxt_urls(http_base, ws_base),
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False},
        }


DIALECT = BinanceDialect()
"""The Binance spot dialect."""
