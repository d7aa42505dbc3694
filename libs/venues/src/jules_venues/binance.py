"""The Binance spot adapter (ccxt exchange ``binance``): market data and instruments.

Binance specifics over the skeleton:

* markets: spot only (``exchangeInfo``), no currency or margin lists (private endpoints);
* top of book from the ``<symbol>@bookTicker`` stream (``watch_bids_asks``), each update
  numbered by its book update id ``u``, which the quote's id is derived from; spot
  ``bookTicker`` carries no time, so a quote's ``event_time`` is when it was received;
* trades from the ``<symbol>@trade`` stream (trade ids ``t``). With an API key (which ccxt
  asks for on ``historicalTrades``) the REST backfill pages through the same trade ids
  (``historicalTrades`` from the first id at ``since``, found with ``aggTrades``), so
  backfilled and streamed trades share their ids. Without one it pages ``aggTrades`` by time:
  an aggregate of one trade takes that trade's id (``f``), an aggregate of several keeps its
  own id prefixed ``agg`` (its quantity cannot be split back into the trades);
* books from ``<symbol>@depth@100ms`` diffs over a REST ``depth`` snapshot, ccxt checking that
  each diff's ``U`` follows the previous ``u``.

Execution is not offered yet: its calls raise ``VenueCapabilityError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

from jules_venues.adapter import VenueAdapter
from jules_venues.execution import MarketDataOnly

__all__ = ["BinanceAdapter"]

_HOUR_MS = 3_600_000


def _with_trade_id(trade: Mapping[str, Any]) -> Mapping[str, Any]:
    """An ``aggTrades`` trade with the stream's trade id when it aggregates a single trade."""
    info = trade.get("info") or {}
    first, last = info.get("f"), info.get("l")
    if first is not None and first == last:
        return {**trade, "id": str(first)}
    return {**trade, "id": f"agg{trade.get('id')}"}


class BinanceAdapter(VenueAdapter, MarketDataOnly):
    """Binance spot through ccxt: instruments, trades, quotes, books, bars and trades backfill."""

    exchange_id: ClassVar[str] = "binance"
    default_options: ClassVar[Mapping[str, Any]] = {
        "defaultType": "spot",
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
        "watchOrderBookLimit": 1000,
    }

    async def _watch_top(self, symbol: str) -> tuple[Mapping[str, Any] | None, int | None]:
        return await self._watch_bid_ask(symbol, "u")

    async def _first_trade_id(self, symbol: str, since_ms: int, until_ms: int) -> int | None:
        """The id of the first trade at or after ``since_ms``: ``aggTrades`` by the hour."""
        probe = since_ms
        while probe < until_ms:
            page = await self.rest.fetch_trades(
                symbol, probe, 1, {"until": min(probe + _HOUR_MS, until_ms) - 1}
            )
            if page:
                first = (page[0].get("info") or {}).get("f")
                return int(first) if first is not None else None
            probe += _HOUR_MS
        return None

    async def _trade_pages(
        self, symbol: str, since_ms: int, until_ms: int
    ) -> AsyncIterator[list[Mapping[str, Any]]]:
        if self.config.api_key is None:
            async for page in super()._trade_pages(symbol, since_ms, until_ms):
                yield [_with_trade_id(trade) for trade in page]
            return
        next_id = await self._first_trade_id(symbol, since_ms, until_ms)
        limit = self.config.page_limit
        while next_id is not None:
            trades: list[Mapping[str, Any]] = await self.rest.fetch_trades(
                symbol,
                None,
                limit,
                {"fetchTradesMethod": "publicGetHistoricalTrades", "fromId": next_id},
            )
            if not trades:
                return
            yield trades
            last = int(trades[-1]["id"])
            last_time = trades[-1].get("timestamp")
            if len(trades) < limit or last < next_id or (last_time or 0) >= until_ms:
                return
            next_id = last + 1
