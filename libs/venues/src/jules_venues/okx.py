"""The OKX spot adapter (ccxt exchange ``okx``): market data and instruments.

OKX specifics over the skeleton:

* markets: spot instruments only (``public/instruments?instType=SPOT``); ccxt asks for the
  currency list only with an API key. The tick is ``tickSz``, the lot ``lotSz``, the minimum
  ``minSz`` (ccxt's ``TICK_SIZE`` precision mode);
* top of book from the ``bbo-tbt`` channel (``watch_bids_asks``), each update numbered by the
  book's ``seqId``, which the quote's id is derived from;
* trades from the ``trades`` channel (trade ids ``tradeId``). ``market/trades`` only lists the
  latest trades and ignores ``since``, so the REST backfill walks ``market/history-trades``
  backwards from ``until`` (by time first, then by trade id), which gives the stream's trade
  ids, and returns the trades oldest first;
* books from the ``books`` channel: a snapshot then updates, ccxt checking that each
  update's ``prevSeqId`` is the previous ``seqId`` (a gap raises ``InvalidNonce``, and the
  skeleton resubscribes for a new snapshot);
* bars from ``market/candles`` / ``history-candles`` (ccxt picks one by age).

Execution is not offered yet: its calls raise ``VenueCapabilityError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

from jules_venues.adapter import VenueAdapter
from jules_venues.execution import MarketDataOnly

__all__ = ["OkxAdapter"]

_HISTORY_PAGE = 100
"""Trades per page of ``market/history-trades`` (OKX's maximum)."""


def _trade_key(trade: Mapping[str, Any]) -> tuple[int, int, str]:
    ident = str(trade.get("id"))
    return int(trade.get("timestamp") or 0), int(ident) if ident.isdigit() else 0, ident


class OkxAdapter(VenueAdapter, MarketDataOnly):
    """OKX spot through ccxt: instruments, trades, quotes, books, bars and trades backfill."""

    exchange_id: ClassVar[str] = "okx"
    default_options: ClassVar[Mapping[str, Any]] = {
        "defaultType": "spot",
        "fetchMarkets": {"types": ["spot"]},
    }

    async def _watch_top(self, symbol: str) -> tuple[Mapping[str, Any] | None, int | None]:
        return await self._watch_bid_ask(symbol, "seqId")

    async def _trade_pages(
        self, symbol: str, since_ms: int, until_ms: int
    ) -> AsyncIterator[list[Mapping[str, Any]]]:
        """One page: the trades in ``[since_ms, until_ms)``, walked backwards, oldest first."""
        limit = min(self.config.page_limit, _HISTORY_PAGE)
        params: dict[str, Any] = {
            "method": "publicGetMarketHistoryTrades",
            "type": 2,
            "after": until_ms,
        }
        found: dict[str, Mapping[str, Any]] = {}
        while True:
            page: list[Mapping[str, Any]] = await self.rest.fetch_trades(
                symbol, None, limit, params
            )
            if not page:
                break
            for trade in page:
                found.setdefault(str(trade.get("id")), trade)
            oldest = min(page, key=_trade_key)
            if len(page) < limit or int(oldest.get("timestamp") or 0) < since_ms:
                break
            params = {"method": "publicGetMarketHistoryTrades", "type": 1, "after": oldest["id"]}
        trades = sorted(
            (t for t in found.values() if since_ms <= int(t.get("timestamp") or 0) < until_ms),
            key=_trade_key,
        )
        if trades:
            yield trades
