"""OKX public websocket channels over the fake market.

Endpoints, as OKX serves them: ``/ws/v5/public`` and ``/ws/v5/business`` (ccxt opens candle
channels on the latter; both serve every channel here). A client sends ``{"op": "subscribe",
"args": [{"channel": "trades", "instId": "BTC-USDT"}]}`` (or ``unsubscribe``) and gets one
``{"event": "subscribe", "arg": {...}, "connId": ...}`` per argument, or ``{"event": "error",
"code": "60018", ...}`` for an unknown channel or instrument; the text ``ping`` is answered
``pong``. Pushes are ``{"arg": {...}, "data": [...]}``.

Channels (the stream names that faults match are ``<channel>:<instId>``, as
``trades:BTC-USDT``): ``trades``; ``bbo-tbt`` (each recorded best bid/offer, ``seqId`` its
book update id); ``tickers`` (on every trade and best bid/offer); ``books`` (a 400-level
``snapshot`` at subscription, then an ``update`` per recorded diff with ``prevSeqId``/
``seqId`` chaining the book's update ids and the checksum of the top 25 levels);
``books5`` (the top 5 levels after each diff); ``candle<bar>`` (``candle1m``, ``candle1H``;
built from the trades, sent on every trade, a bar closed by the next one sent once more with
``confirm`` ``"1"``).
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from typing import Any

from aiohttp import web

from jules_venues.fake import okx_format as fmt
from jules_venues.fake.dialect import FakeContext, TradeFaultGate, WsConnection, serve_websocket
from jules_venues.fake.feed import DepthDiff, Event, Quote, Trade
from jules_venues.fake.market import Bar, bar_with

__all__ = ["BOOK_DEPTH", "OkxChannels", "parse_channel"]

BOOK_DEPTH = 400
"""Levels per side of a ``books`` snapshot."""

_CHANNELS = ("trades", "tickers", "bbo-tbt", "books", "books5")
_CONN_IDS = itertools.count(1)


def parse_channel(arg: object) -> tuple[str, str] | None:
    """A subscription argument as ``(channel, symbol)``; ``None`` if not served."""
    if not isinstance(arg, dict):
        return None
    channel, instrument = arg.get("channel"), arg.get("instId")
    if not isinstance(channel, str) or not isinstance(instrument, str):
        return None
    symbol = fmt.symbol_of(instrument)
    candle = channel.startswith("candle") and fmt.bar_length_ms(channel[6:]) is not None
    if symbol is None or (channel not in _CHANNELS and not candle):
        return None
    return channel, symbol


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


class _Session:
    """One websocket connection and the channels it subscribed to."""

    def __init__(self, owner: OkxChannels, connection: WsConnection) -> None:
        self.owner = owner
        self.connection = connection
        self.conn_id = f"{next(_CONN_IDS):08x}"
        self.streams: list[str] = []
        self.snapshots: list[str] = []

    def receive(self, text: str) -> None:
        """Answer ``ping`` or a subscribe/unsubscribe request."""
        if text == "ping":
            self.connection.send("pong")
            return
        for answer in self.owner.request(self, text):
            self.connection.send(_dumps(answer))
        self.owner.send_snapshots(self)

    def close(self) -> None:
        """Drop the connection's subscriptions."""
        for stream in list(self.streams):
            self.owner.unsubscribe(self, stream)


class OkxChannels:
    """The channels of the OKX dialect: subscriptions, fan-out and the stream faults."""

    def __init__(self, context: FakeContext) -> None:
        self.context = context
        self.subscribers: defaultdict[str, set[_Session]] = defaultdict(set)
        self._trade_faults = TradeFaultGate(context.faults)
        self._bars: dict[str, Bar | None] = {}
        self._seq = {
            s.symbol: s.book.last_update_id for s in context.market.symbols.values() if s.book
        }
        context.market.add_listener(self.on_event)

    def install(self, app: web.Application) -> None:
        """Add the websocket endpoints."""
        for path in ("/ws/v5/public", "/ws/v5/business"):
            app.router.add_get(path, self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """A websocket connection: client requests and pushes."""
        return await serve_websocket(
            request, self.context, lambda connection: _Session(self, connection)
        )

    # -- fan-out -----------------------------------------------------------------------

    def __contains__(self, stream: str) -> bool:
        return bool(self.subscribers.get(stream))

    def publish(self, stream: str, message: dict[str, Any]) -> None:
        """Send a push to the stream's subscribers (unless the stream is stale)."""
        sessions = self.subscribers.get(stream)
        if not sessions or self.context.faults.is_stale(stream):
            return
        raw = _dumps(message)
        for session in list(sessions):
            session.connection.send(raw)

    def _push(self, channel: str, symbol: str, data: list[Any], **extra: Any) -> None:
        instrument = fmt.inst_id(symbol)
        stream = f"{channel}:{instrument}"
        if stream in self:
            message = {"arg": {"channel": channel, "instId": instrument}, **extra, "data": data}
            self.publish(stream, message)

    def on_event(self, event: Event) -> None:
        """Publish an applied market event on its channels."""
        if event.symbol not in fmt.INSTRUMENTS:
            return
        now = self.context.market.now_ms
        if isinstance(event, Trade):
            self._on_trade(event)
        elif isinstance(event, Quote):
            level = {"asks": fmt.book_levels([(event.ask, event.ask_qty)])}
            level["bids"] = fmt.book_levels([(event.bid, event.bid_qty)])
            bbo = level | {"ts": str(now), "seqId": event.update_id}
            self._push("bbo-tbt", event.symbol, [bbo])
        elif isinstance(event, DepthDiff):
            self._on_diff(event, now)
        if isinstance(event, Trade | Quote):
            state = self.context.market.state(event.symbol)
            self._push("tickers", event.symbol, [fmt.top_of_book(state, now)])

    def _on_trade(self, trade: Trade) -> None:
        stream = f"trades:{fmt.inst_id(trade.symbol)}"
        if stream in self:
            self._trade_faults.send(stream, trade, self._publish_trade)
        for stream in [s for s in self.subscribers if s.startswith("candle")]:
            channel, _, instrument = stream.partition(":")
            interval_ms = fmt.bar_length_ms(channel[6:])
            if instrument != fmt.inst_id(trade.symbol) or interval_ms is None or stream not in self:
                continue
            bar = self._bars.get(stream)
            start = trade.time_ms - trade.time_ms % interval_ms
            if bar is not None and bar.open_ms != start:
                self._push(channel, trade.symbol, [fmt.candle_row(bar, True)])
            bar = self._bars[stream] = bar_with(bar, trade, interval_ms)
            self._push(channel, trade.symbol, [fmt.candle_row(bar, False)])

    def _publish_trade(self, stream: str, trade: Trade) -> None:
        self._push("trades", trade.symbol, [fmt.trade_row(trade)])

    def _on_diff(self, diff: DepthDiff, now: int) -> None:
        previous = self._seq.get(diff.symbol, diff.first_id - 1)
        if diff.last_id <= previous:
            return  # the book already covered it
        self._seq[diff.symbol] = diff.last_id
        instrument = fmt.inst_id(diff.symbol)
        watched = f"books:{instrument}" in self
        if watched and self.context.faults.take_depth_gap():
            return
        book = self.context.market.state(diff.symbol).book
        if book is None:
            return
        bids, asks = book.levels(fmt.CHECKSUM_LEVELS)
        top_bids, top_asks = fmt.book_levels(bids), fmt.book_levels(asks)
        if watched:
            update = {
                "asks": fmt.book_levels(diff.asks),
                "bids": fmt.book_levels(diff.bids),
                "ts": str(now),
                "checksum": fmt.checksum(top_bids, top_asks),
                "prevSeqId": previous,
                "seqId": diff.last_id,
            }
            self._push("books", diff.symbol, [update], action="update")
        top5 = {"asks": top_asks[:5], "bids": top_bids[:5], "instId": instrument}
        self._push("books5", diff.symbol, [top5 | {"ts": str(now), "seqId": diff.last_id}])

    def _book_snapshot(self, session: _Session, symbol: str) -> None:
        """Send the ``books`` snapshot to a new subscriber."""
        book = self.context.market.state(symbol).book
        if book is None:
            return
        bids, asks = book.levels(BOOK_DEPTH)
        levels = {"asks": fmt.book_levels(asks), "bids": fmt.book_levels(bids)}
        snapshot = levels | {
            "ts": str(self.context.market.now_ms),
            "checksum": fmt.checksum(levels["bids"], levels["asks"]),
            "prevSeqId": -1,
            "seqId": book.last_update_id,
        }
        arg = {"channel": "books", "instId": fmt.inst_id(symbol)}
        session.connection.send(_dumps({"arg": arg, "action": "snapshot", "data": [snapshot]}))

    # -- subscriptions -----------------------------------------------------------------

    def subscribe(self, session: _Session, channel: str, symbol: str) -> None:
        """Add ``session`` to a channel's subscribers (a ``books`` one gets a snapshot)."""
        stream = f"{channel}:{fmt.inst_id(symbol)}"
        if stream in session.streams:
            return
        if channel.startswith("candle") and stream not in self:
            self._bars[stream] = self._bar_in_progress(symbol, channel)
        session.streams.append(stream)
        self.subscribers[stream].add(session)
        self.context.subscriptions[stream] = len(self.subscribers[stream])

    def _bar_in_progress(self, symbol: str, channel: str) -> Bar | None:
        interval_ms = fmt.bar_length_ms(channel[6:])
        state = self.context.market.state(symbol)
        if interval_ms is None or not state.trades:
            return None
        last = state.trades[-1].time_ms
        bars = state.bars(interval_ms, last - last % interval_ms, None, 1)
        return bars[-1] if bars else None

    def unsubscribe(self, session: _Session, stream: str) -> None:
        """Remove ``session`` from a stream's subscribers."""
        if stream in session.streams:
            session.streams.remove(stream)
        self.subscribers[stream].discard(session)
        self.context.subscriptions[stream] = len(self.subscribers[stream])

    def send_snapshots(self, session: _Session) -> None:
        """Send the ``books`` snapshots of the session's new subscriptions."""
        while session.snapshots:
            self._book_snapshot(session, session.snapshots.pop(0))

    def request(self, session: _Session, text: str) -> list[dict[str, Any]]:
        """The answers to one client request (a ``books`` subscription's snapshot follows)."""
        try:
            request = json.loads(text)
        except ValueError:
            return [self._error(session, "60012", f"Invalid request: {text}")]
        op = request.get("op") if isinstance(request, dict) else None
        args = request.get("args") if isinstance(request, dict) else None
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list):
            return [self._error(session, "60012", f"Invalid request: {text}")]
        answers: list[dict[str, Any]] = []
        for arg in args:
            parsed = parse_channel(arg)
            if parsed is None:
                answers.append(self._error(session, "60018", f"Wrong URL or channel: {arg}"))
                continue
            channel, symbol = parsed
            if op == "subscribe":
                self.subscribe(session, channel, symbol)
                if channel == "books":
                    session.snapshots.append(symbol)
            else:
                self.unsubscribe(session, f"{channel}:{fmt.inst_id(symbol)}")
            arg_out = {"channel": channel, "instId": fmt.inst_id(symbol)}
            answers.append({"event": op, "arg": arg_out, "connId": session.conn_id})
        return answers

    @staticmethod
    def _error(session: _Session, code: str, msg: str) -> dict[str, Any]:
        return {"event": "error", "code": code, "msg": msg, "connId": session.conn_id}
