"""The venue adapter skeleton: instruments, live market data, backfill and execution.

``VenueAdapter`` does what every ccxt venue shares: it builds the two ccxt clients (REST with
``ccxt.async_support``, websockets with ``ccxt.pro``; the markets are loaded once and shared),
turns ccxt markets into instrument specs, streams trades, top of book and L2 books as contract
events, and backfills bars and trades over REST page by page. A venue subclass names its ccxt
exchange and options, and overrides the hooks where its dialect differs (``_watch_top``,
``_trade_pages``) and the execution interface (``VenueExecution``).

Use it as an async context manager, which closes both clients::

    async with BinanceAdapter(config) as venue:
        specs = await venue.instruments()
        async for trade in venue.watch_trades("BTCUSDT.BINANCE"):
            ...
"""

from __future__ import annotations

import time
from abc import ABC
from collections.abc import AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import Any, ClassVar, Self

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
from ccxt.base.errors import ChecksumError, InvalidNonce
from jules_contracts import Bar, BookSnapshot, Quote, Trade
from jules_contracts.instruments import InstrumentSpec
from jules_runtime.logging import logger

from jules_venues.ccxt_events import (
    NANOS_PER_MS,
    bar_from_ohlcv,
    book_from_order_book,
    interval_of_timeframe,
    quote_from_ticker,
    trade_from_ccxt,
)
from jules_venues.config import VenueConfig
from jules_venues.errors import VenueConfigError, VenueDataError
from jules_venues.execution import VenueExecution
from jules_venues.markets import MarketRules, market_rules

__all__ = ["VenueAdapter"]

Clock = Callable[[], int]
"""Returns the time now, in UTC nanoseconds."""


TRADES_CACHE = 20_000
"""Trades ccxt keeps per symbol between two reads of a stream (its ``tradesLimit``, 1,000 by
default): a consumer that falls behind by more loses the older ones, with no gap to see."""


class VenueAdapter(VenueExecution, ABC):
    """One venue through ccxt: instruments, market data and (per venue) execution.

    Subclasses set ``exchange_id`` (the ccxt exchange) and ``default_options`` (ccxt options
    the adapter relies on), and implement the execution interface.

    Attributes:
        config: The venue's configuration.
        book_resyncs: How many times each instrument's book was rebuilt from a snapshot
            after a gap in its update sequence.
    """

    exchange_id: ClassVar[str] = ""
    default_options: ClassVar[Mapping[str, Any]] = {}
    book_timestamps: ClassVar[bool] = True
    """The venue dates its book updates: a book without a time (a bare REST snapshot) is not
    published; ``False`` dates books by their arrival instead."""

    def __init__(self, config: VenueConfig, *, clock: Clock = time.time_ns) -> None:
        self.config = config
        self.book_resyncs: dict[str, int] = {}
        self._clock = clock
        self._offset_ns = 0
        """The venue's clock minus ours, as last measured (its server time at the first
        ``load_markets``, then each dated trade)."""
        self._rest: Any = None
        self._ws: Any = None
        self._markets_shared = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(venue={self.config.name!r})"

    @property
    def venue_label(self) -> str:
        """The venue's name, as messages name it."""
        return f"venue {self.config.name}"

    # --- clients ------------------------------------------------------------------------

    def _client_settings(self) -> dict[str, Any]:
        """The ccxt constructor's settings: throttle, timeout, options, urls, credentials."""
        settings: dict[str, Any] = {
            "enableRateLimit": True,
            "timeout": self.config.timeout_ms,
            "options": {
                "tradesLimit": TRADES_CACHE,
                **self.default_options,
                **self.config.options,
            },
        }
        if self.config.rate_limit_ms is not None:
            settings["rateLimit"] = self.config.rate_limit_ms
        if self.config.urls is not None:
            settings["urls"] = self.config.urls  # ccxt deep-merges it over its own urls
        settings.update(self.config.ccxt_credentials())
        return settings

    def _new_client(self, module: Any) -> Any:
        exchange_id = self.config.ccxt_id
        factory = getattr(module, exchange_id, None)
        if factory is None:
            raise VenueConfigError(f"{self.venue_label}: ccxt has no exchange {exchange_id!r}")
        client = factory(self._client_settings())
        if self.config.sandbox:
            client.set_sandbox_mode(True)
        return client

    @property
    def rest(self) -> Any:
        """The ccxt REST client (``ccxt.async_support``), created on first use."""
        if self._rest is None:
            self._rest = self._new_client(ccxt_async)
        return self._rest

    @property
    def ws(self) -> Any:
        """The ccxt websocket client (``ccxt.pro``), created on first use."""
        if self._ws is None:
            self._ws = self._new_client(ccxt_pro)
        return self._ws

    async def load_markets(self, *, reload: bool = False) -> Mapping[str, Any]:
        """Load the venue's markets over REST (once) and share them with the websocket client.

        Returns:
            ccxt's markets by symbol.
        """
        markets: Mapping[str, Any] = await self.rest.load_markets(reload)
        if not self._markets_shared:
            await self._measure_offset()
        if reload or not self._markets_shared:
            self.ws.set_markets(self.rest.markets, self.rest.currencies)
            self._markets_shared = True
        return markets

    def venue_time(self) -> int:
        """Now on the venue's clock as far as we can tell: ours plus the last measured offset.

        It dates what the venue sends undated (Binance spot's ``bookTicker``, a bare book), so
        that those events share the clock of the venue's dated ones: a venue whose clock runs
        apart from ours (a fake exchange replaying a recorded day) gets consistent event times.
        """
        return self._clock() + self._offset_ns

    async def _measure_offset(self) -> None:
        """Set the clock offset from the venue's server time, if it tells it (else keep it)."""
        if not self.rest.has.get("fetchTime"):
            return
        before = self._clock()
        try:
            server_ms = await self.rest.fetch_time()
        except ccxt_async.BaseError as error:
            logger.info(
                "{}: server time unknown ({}): its own clock is used", self.venue_label, error
            )
            return
        if isinstance(server_ms, int | float) and not isinstance(server_ms, bool):
            after = self._clock()
            self._offset_ns = int(server_ms) * NANOS_PER_MS - (before + after) // 2

    async def close(self) -> None:
        """Close both ccxt clients (their sessions and websocket connections)."""
        clients, self._rest, self._ws = (self._rest, self._ws), None, None
        self._markets_shared = False
        for client in clients:
            if client is not None:
                await client.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # --- instruments --------------------------------------------------------------------

    async def market_rules(self) -> dict[str, MarketRules]:
        """The configured instruments' trading rules, from the venue's markets.

        Raises:
            VenueConfigError: A configured symbol is not one of the venue's markets.
        """
        markets = await self.load_markets()
        mode = int(self.rest.precisionMode)
        rules: dict[str, MarketRules] = {}
        for instrument_id, symbol in self.config.instruments.items():
            market = markets.get(symbol)
            if market is None:
                raise VenueConfigError(
                    f"{self.venue_label}: {instrument_id} trades as {symbol}, "
                    "which the venue does not list"
                )
            rules[instrument_id] = market_rules(
                market, instrument_id=instrument_id, precision_mode=mode
            )
        return rules

    async def instruments(self) -> dict[str, InstrumentSpec]:
        """The configured instruments' specs (tick, lot, minimum, multiplier), by our id."""
        return {key: rules.spec for key, rules in (await self.market_rules()).items()}

    # --- live market data ---------------------------------------------------------------

    async def watch_trades(self, instrument_id: str) -> AsyncIterator[Trade]:
        """Stream an instrument's trades as the venue prints them.

        A trade the venue sends twice keeps its id (deterministic), so the consumer drops it.
        A malformed trade is logged and skipped.
        """
        symbol = self.config.symbol(instrument_id)
        await self.load_markets()
        while True:
            trades = await self.ws.watch_trades(symbol)
            received = self._clock()
            stamp = trades[-1].get("timestamp") if trades else None
            if isinstance(stamp, int | float) and not isinstance(stamp, bool):
                self._offset_ns = int(stamp) * NANOS_PER_MS - received
            for trade in trades:
                try:
                    yield trade_from_ccxt(
                        trade,
                        instrument_id=instrument_id,
                        source=self.config.source,
                        received_ns=received,
                    )
                except VenueDataError as error:
                    logger.warning("{}: trade skipped: {}", self.venue_label, error)

    async def _watch_top(self, symbol: str) -> tuple[Mapping[str, Any] | None, int | None]:
        """Wait for the next top of book: ccxt's ticker and the venue's update id, if any.

        The default watches ccxt's ticker; a venue with a book-ticker stream overrides it.
        """
        ticker: Mapping[str, Any] = await self.ws.watch_ticker(symbol)
        return ticker, None

    async def _watch_bid_ask(
        self, symbol: str, sequence_field: str
    ) -> tuple[Mapping[str, Any] | None, int | None]:
        """The top of book from ccxt's ``watch_bids_asks`` (a venue's best bid/offer stream).

        Args:
            symbol: The ccxt symbol.
            sequence_field: The field of the venue's raw message that numbers the update.
        """
        tickers: Mapping[str, Any] = await self.ws.watch_bids_asks([symbol])
        ticker = tickers.get(symbol)
        if ticker is None:
            return None, None
        sequence = (ticker.get("info") or {}).get(sequence_field)
        return ticker, int(sequence) if sequence is not None else None

    async def watch_quotes(self, instrument_id: str) -> AsyncIterator[Quote]:
        """Stream an instrument's best bid and offer (one-sided updates are skipped)."""
        symbol = self.config.symbol(instrument_id)
        await self.load_markets()
        while True:
            ticker, sequence = await self._watch_top(symbol)
            if ticker is None:
                continue
            try:
                quote = quote_from_ticker(
                    ticker,
                    instrument_id=instrument_id,
                    source=self.config.source,
                    received_ns=self.venue_time(),
                    sequence=sequence,
                )
            except VenueDataError as error:
                logger.warning("{}: quote skipped: {}", self.venue_label, error)
                continue
            if quote is not None:
                yield quote

    async def watch_book(
        self, instrument_id: str, depth: int | None = None
    ) -> AsyncIterator[BookSnapshot]:
        """Stream an instrument's L2 book: a snapshot of the top ``depth`` levels per update.

        ccxt.pro fetches the REST snapshot, applies the websocket deltas after it and checks
        their sequence. On a gap it drops the book; the next wait subscribes again and rebuilds
        it from a new snapshot (counted in ``book_resyncs``, logged), so a snapshot is never
        published from a book with a hole in it.

        Args:
            instrument_id: Our instrument id.
            depth: Levels per side; ``None``: the config's ``book_depth``.
        """
        symbol = self.config.symbol(instrument_id)
        levels = depth or self.config.book_depth
        await self.load_markets()
        last_nonce: object = None
        while True:
            try:
                book = await self.ws.watch_order_book(symbol)
            except (ChecksumError, InvalidNonce) as error:
                self.book_resyncs[instrument_id] = self.book_resyncs.get(instrument_id, 0) + 1
                logger.warning(
                    "{}: {} book sequence gap, resynchronising from a snapshot ({})",
                    self.venue_label,
                    instrument_id,
                    type(error).__name__,
                )
                last_nonce = None
                continue
            nonce = book.get("nonce")
            if nonce is not None and nonce == last_nonce:
                continue
            if book.get("timestamp") is None and self.book_timestamps:
                # a REST snapshot alone carries no venue time: the first book after a (re)sync
                # published is the one its first update dates (never one dated by our clock,
                # which the venue's next updates could precede)
                continue
            last_nonce = nonce
            try:
                yield book_from_order_book(
                    book,
                    instrument_id=instrument_id,
                    source=self.config.source,
                    received_ns=self.venue_time(),
                    depth=levels,
                )
            except VenueDataError as error:
                logger.warning("{}: book skipped: {}", self.venue_label, error)

    # --- REST backfill ------------------------------------------------------------------

    async def fetch_ohlcv(
        self, instrument_id: str, timeframe: str, since: int, until: int | None = None
    ) -> list[Bar]:
        """Backfill an instrument's closed bars starting in ``[since, until)``, page by page.

        Args:
            instrument_id: Our instrument id.
            timeframe: A ccxt timeframe (``1m``, ``1h``, ``1d``).
            since: The earliest bar start, UTC nanoseconds.
            until: No bar starting at or after this (UTC nanoseconds); ``None``: now. A bar
                still open now is left out: it will be fetched once it has closed.

        Returns:
            The bars, oldest first, without repeats.
        """
        symbol = self.config.symbol(instrument_id)
        await self.load_markets()
        _, length = interval_of_timeframe(timeframe)
        now = self._clock()
        end = now if until is None else min(until, now)
        cursor = since // NANOS_PER_MS
        bars: dict[int, Bar] = {}
        while cursor * NANOS_PER_MS < end:
            rows = await self.rest.fetch_ohlcv(symbol, timeframe, cursor, self.config.page_limit)
            fresh = [row for row in rows if row and int(row[0]) >= cursor]
            if not fresh:
                break
            for row in fresh:
                bar = bar_from_ohlcv(
                    row,
                    instrument_id=instrument_id,
                    source=self.config.source,
                    timeframe=timeframe,
                )
                if bar.start_time < since or bar.start_time >= end or bar.event_time > now:
                    continue
                bars[bar.start_time] = bar
            cursor = int(fresh[-1][0]) + length // NANOS_PER_MS
        return [bars[start] for start in sorted(bars)]

    async def _trade_pages(
        self, symbol: str, since_ms: int, until_ms: int
    ) -> AsyncIterator[list[Mapping[str, Any]]]:
        """Yield pages of ccxt trades from ``since_ms`` on, by time.

        The default pages by timestamp (``fetch_trades(symbol, since)``), each page from the
        last one's latest timestamp, trades already seen dropped; a venue whose REST trades
        are numbered like its stream's overrides it to page by trade id.
        """
        cursor = since_ms
        seen: set[str] = set()
        while cursor < until_ms:
            page = await self.rest.fetch_trades(symbol, cursor, self.config.page_limit)
            fresh = [t for t in page if str(t.get("id")) not in seen]
            if not fresh:
                if len(page) < self.config.page_limit:
                    return
                # a full page within one millisecond: step past it (its rest is lost)
                logger.warning(
                    "{}: more than {} trades at {} ms, some not backfilled",
                    self.venue_label,
                    self.config.page_limit,
                    cursor,
                )
                cursor += 1
                continue
            seen.update(str(t.get("id")) for t in fresh)
            yield fresh
            cursor = max(cursor, int(fresh[-1].get("timestamp") or cursor))

    async def fetch_trades(
        self, instrument_id: str, since: int, until: int | None = None
    ) -> list[Trade]:
        """Backfill an instrument's trades in ``[since, until)`` (UTC nanoseconds), oldest first.

        The trades have the ids the live stream gave them (derived from the venue's trade
        id), so a backfill after a gap overlaps the stream without doubling a trade.
        """
        symbol = self.config.symbol(instrument_id)
        await self.load_markets()
        end = self._clock() if until is None else until
        since_ms, until_ms = since // NANOS_PER_MS, -(-end // NANOS_PER_MS)
        trades: dict[str, Trade] = {}
        async for page in self._trade_pages(symbol, since_ms, until_ms):
            received = self._clock()
            past_end = False
            for raw in page:
                trade = trade_from_ccxt(
                    raw,
                    instrument_id=instrument_id,
                    source=self.config.source,
                    received_ns=received,
                )
                if trade.event_time >= end:
                    past_end = True
                    break
                if trade.event_time >= since:
                    trades.setdefault(trade.event_id, trade)
            if past_end:
                break
        return list(trades.values())
