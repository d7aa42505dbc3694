"""Binance spot market-data websocket streams over the fake market.

Endpoints, as Binance serves them: ``/ws`` and ``/ws/<stream>[/<stream>...]`` send raw
payloads; ``/stream?streams=<a>/<b>`` and ``/stream/<anything>`` send combined-stream frames
``{"stream": name, "data": payload}`` (ccxt's Binance class is pointed at ``/stream``, which it
recognises as a spot endpoint). On any of them a client sends ``{"method": "SUBSCRIBE",
"params": [...], "id": n}`` (or ``UNSUBSCRIBE``, ``LIST_SUBSCRIPTIONS``, ``SET_PROPERTY``,
``GET_PROPERTY``) and gets ``{"result": null, "id": n}``. The server pings every
``ping_interval`` seconds and answers pings.

Streams: ``<symbol>@trade``, ``@aggTrade``, ``@bookTicker``, ``@depth@100ms`` (``@depth`` is
the same diffs), ``@kline_<interval>``. The trade, best bid/offer and diff payloads are the
recorded ones; klines are built from the trades and sent on every trade (a bar that an
interval's first trade closes goes out once more with ``"x": true``).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

from aiohttp import web

from jules_venues.fake import binance_format as fmt
from jules_venues.fake.dialect import (
    FakeContext,
    TradeFaultGate,
    WsConnection,
    serve_websocket,
)
from jules_venues.fake.feed import DepthDiff, Event, Quote, Trade
from jules_venues.fake.market import Bar, bar_with

__all__ = ["BinanceStreams", "parse_stream"]

_STREAM = re.compile(
    r"^(?P<symbol>[a-z0-9]+)@(?P<kind>trade|aggTrade|bookTicker|depth(?:@100ms)?|kline_\w+)$"
)


def parse_stream(name: str) -> tuple[str, str] | None:
    """``btcusdt@kline_1m`` -> ``("BTCUSDT", "kline_1m")``; ``None`` if not a served stream."""
    match = _STREAM.match(name)
    if match is None:
        return None
    kind = match["kind"]
    if kind.startswith("kline_") and kind.removeprefix("kline_") not in fmt.INTERVALS:
        return None
    return match["symbol"].upper(), kind


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


class _Client:
    """One websocket connection and the streams it subscribed to."""

    def __init__(self, owner: BinanceStreams, connection: WsConnection, combined: bool) -> None:
        self.owner = owner
        self.connection = connection
        self.combined = combined
        self.streams: list[str] = []

    def receive(self, text: str) -> None:
        """Answer a client request."""
        self.connection.send(_dumps(self.owner._request(self, text)))

    def close(self) -> None:
        """Drop the connection's subscriptions."""
        self.owner._unsubscribe(self, list(self.streams))


class BinanceStreams:
    """The streams of the Binance dialect: subscriptions, fan-out and the stream faults."""

    def __init__(self, context: FakeContext) -> None:
        self.context = context
        self.subscribers: defaultdict[str, set[_Client]] = defaultdict(set)
        self._bars: dict[str, Bar | None] = {}
        self._trade_faults = TradeFaultGate(context.faults)
        context.market.add_listener(self.on_event)

    def install(self, app: web.Application) -> None:
        """Add the websocket endpoints."""
        for path in ("/ws", "/ws/{tail:.*}", "/stream", "/stream/{tail:.*}"):
            app.router.add_get(path, self.handle)

    # -- fan-out -----------------------------------------------------------------------

    def publish(self, stream: str, payload: dict[str, Any]) -> None:
        """Send a payload to the stream's subscribers (unless the stream is stale)."""
        clients = self.subscribers.get(stream)
        if not clients or self.context.faults.is_stale(stream):
            return
        raw = _dumps(payload)
        combined = f'{{"stream":"{stream}","data":{raw}}}'
        for client in list(clients):
            client.connection.send(combined if client.combined else raw)

    def on_event(self, event: Event) -> None:
        """Publish an applied market event on its streams."""
        prefix = event.symbol.lower()
        if isinstance(event, Trade):
            self._on_trade(prefix, event)
        elif isinstance(event, Quote):
            self.publish(f"{prefix}@bookTicker", fmt.book_ticker(event))
        elif isinstance(event, DepthDiff):
            streams = [s for s in (f"{prefix}@depth@100ms", f"{prefix}@depth") if s in self]
            if streams and not self.context.faults.take_depth_gap():
                payload = fmt.depth_update(event)
                for stream in streams:
                    self.publish(stream, payload)

    def __contains__(self, stream: str) -> bool:
        return bool(self.subscribers.get(stream))

    def _on_trade(self, prefix: str, trade: Trade) -> None:
        stream = f"{prefix}@trade"
        if stream in self:
            self._trade_faults.send(stream, fmt.trade_event(trade), self.publish)
        if trade.agg is not None:
            payload = {"e": "aggTrade", "E": trade.event_ms, "s": trade.symbol}
            self.publish(f"{prefix}@aggTrade", payload | fmt.agg_trade(trade.agg))
        for interval, interval_ms in fmt.INTERVALS.items():
            stream = f"{prefix}@kline_{interval}"
            if stream not in self:
                continue
            bar = self._bars.get(stream)
            start = trade.time_ms - trade.time_ms % interval_ms
            if bar is not None and bar.open_ms != start:
                closed = fmt.kline_event(trade.symbol, interval, bar, trade.event_ms, True)
                self.publish(stream, closed)
            bar = self._bars[stream] = bar_with(bar, trade, interval_ms)
            self.publish(
                stream, fmt.kline_event(trade.symbol, interval, bar, trade.event_ms, False)
            )

    # -- subscriptions -----------------------------------------------------------------

    def _subscribe(self, client: _Client, streams: list[str]) -> None:
        for stream in streams:
            if stream in client.streams:
                continue
            client.streams.append(stream)
            if "@kline_" in stream:
                self._start_bar(stream)
            self.subscribers[stream].add(client)
            self.context.subscriptions[stream] = len(self.subscribers[stream])

    def _start_bar(self, stream: str) -> None:
        """The bar in progress of a kline stream that gets its first subscriber."""
        if stream in self:
            return
        parsed = parse_stream(stream)
        assert parsed is not None
        symbol, kind = parsed
        interval_ms = fmt.INTERVALS[kind.removeprefix("kline_")]
        state = self.context.market.state(symbol)
        if not state.trades:
            self._bars[stream] = None
            return
        last = state.trades[-1].time_ms
        bars = state.bars(interval_ms, last - last % interval_ms, None, 1)
        self._bars[stream] = bars[-1] if bars else None

    def _unsubscribe(self, client: _Client, streams: list[str]) -> None:
        for stream in streams:
            if stream in client.streams:
                client.streams.remove(stream)
            self.subscribers[stream].discard(client)
            self.context.subscriptions[stream] = len(self.subscribers[stream])

    def _request(self, client: _Client, text: str) -> dict[str, Any]:
        """The answer to one client request."""
        try:
            request = json.loads(text)
        except ValueError as exc:
            return {"error": {"code": 3, "msg": f"Invalid JSON: {exc}"}, "id": None}
        if not isinstance(request, dict):
            return {"error": {"code": 3, "msg": "Invalid JSON: expected an object"}, "id": None}
        request_id = request.get("id")
        method, params = request.get("method"), request.get("params", [])
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                return {"error": {"code": 1, "msg": "Invalid value type"}, "id": request_id}
            unknown = [p for p in params if parse_stream(p) is None]
            if unknown and method == "SUBSCRIBE":
                msg = f"Invalid request: unknown stream {unknown[0]!r}"
                return {"error": {"code": 2, "msg": msg}, "id": request_id}
            if method == "SUBSCRIBE":
                self._subscribe(client, params)
            else:
                self._unsubscribe(client, params)
            return {"result": None, "id": request_id}
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": list(client.streams), "id": request_id}
        if method == "SET_PROPERTY":
            return {"result": None, "id": request_id}
        if method == "GET_PROPERTY":
            return {"result": client.combined, "id": request_id}
        return {"error": {"code": 2, "msg": f"Invalid request: {method!r}"}, "id": request_id}

    # -- endpoint ----------------------------------------------------------------------

    def _initial_streams(self, request: web.Request) -> list[str]:
        names = request.query.get("streams", "").split("/")
        names += request.match_info.get("tail", "").split("/")
        return [n for n in names if parse_stream(n) is not None]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """A websocket connection: initial streams from the URL, then client requests."""
        combined = request.path.startswith("/stream")

        def open_session(connection: WsConnection) -> _Client:
            client = _Client(self, connection, combined)
            self._subscribe(client, self._initial_streams(request))
            return client

        return await serve_websocket(request, self.context, open_session)
