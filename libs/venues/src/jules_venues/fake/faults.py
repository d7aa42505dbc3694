"""Misbehaviour knobs of the fake exchange, set at start and at run time.

A :class:`FaultUpdate` is what a caller sends (the server's options, or JSON posted to
``/_fake/faults``); :class:`Faults` is the live state the server and the dialects consult:

- ``rest_latency_ms`` / ``ws_latency_ms`` (``latency_ms`` sets both): every REST response,
  and every websocket message, goes out that much later (websocket messages keep their order).
- ``rate_limit``: the next ``count`` REST requests get HTTP 429 with ``Retry-After``.
- ``drop_connections``: every websocket connection is closed now; new ones are refused for
  ``refuse_seconds``.
- ``depth_gap``: the next ``n`` order-book diffs are not sent, so subscribers see a gap in the
  update ids (the book itself, and REST snapshots, still include them).
- ``stale``: the streams matching the patterns (``fnmatch``: ``btcusdt@trade``, ``*@depth*``,
  ``*``) send nothing for ``seconds`` (or until cleared); what they miss is not sent later.
- ``duplicate_trades`` / ``reorder_trades``: the next ``n`` trades of the trade stream are sent
  twice / each swapped with the trade after it.
"""

from __future__ import annotations

import fnmatch
import time
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DropConnections", "FaultUpdate", "Faults", "RateLimit", "Stale", "TradeFault"]

TradeFault = Literal["duplicate", "reorder"]
"""What happens to one trade of the trade stream."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimit(_Model):
    """Answer the next ``count`` REST requests with HTTP 429 and ``Retry-After``."""

    count: int = Field(ge=0)
    retry_after: int = Field(default=1, ge=0, description="Seconds, in the Retry-After header.")


class DropConnections(_Model):
    """Close every websocket connection now; refuse new ones for ``refuse_seconds``."""

    refuse_seconds: float = Field(default=0.0, ge=0)


class Stale(_Model):
    """Send nothing on the matching streams for ``seconds`` (``None``: until cleared)."""

    streams: tuple[str, ...] = ("*",)
    seconds: float | None = Field(default=None, gt=0)


class FaultUpdate(_Model):
    """Faults to set (fields left out keep their current value).

    ``clear`` first resets every fault (no latency, no pending 429s, gaps, stale streams or
    trade faults, connections accepted).
    """

    clear: bool = False
    latency_ms: float | None = Field(default=None, ge=0)
    rest_latency_ms: float | None = Field(default=None, ge=0)
    ws_latency_ms: float | None = Field(default=None, ge=0)
    rate_limit: RateLimit | None = None
    drop_connections: DropConnections | None = None
    depth_gap: int | None = Field(default=None, ge=0)
    stale: Stale | None = None
    duplicate_trades: int | None = Field(default=None, ge=0)
    reorder_trades: int | None = Field(default=None, ge=0)


class Faults:
    """The live fault state; counters of what was injected are in :attr:`injected`."""

    def __init__(self) -> None:
        self.injected: Counter[str] = Counter()
        self._reset()

    def _reset(self) -> None:
        self.rest_latency_ms = 0.0
        self.ws_latency_ms = 0.0
        self.rate_limited = 0
        self.retry_after = 1
        self.refuse_until = 0.0
        self.depth_gap = 0
        self.stale: dict[str, float | None] = {}
        self.duplicate_trades = 0
        self.reorder_trades = 0

    def apply(self, update: FaultUpdate) -> None:
        """Set the faults of ``update`` (closing connections is the server's part)."""
        if update.clear:
            self._reset()
        if update.latency_ms is not None:
            self.rest_latency_ms = self.ws_latency_ms = update.latency_ms
        if update.rest_latency_ms is not None:
            self.rest_latency_ms = update.rest_latency_ms
        if update.ws_latency_ms is not None:
            self.ws_latency_ms = update.ws_latency_ms
        if update.rate_limit is not None:
            self.rate_limited = update.rate_limit.count
            self.retry_after = update.rate_limit.retry_after
        if update.drop_connections is not None:
            self.refuse_until = time.monotonic() + update.drop_connections.refuse_seconds
        if update.depth_gap is not None:
            self.depth_gap = update.depth_gap
        if update.stale is not None:
            seconds = update.stale.seconds
            until = None if seconds is None else time.monotonic() + seconds
            for pattern in update.stale.streams:
                self.stale[pattern] = until
        if update.duplicate_trades is not None:
            self.duplicate_trades = update.duplicate_trades
        if update.reorder_trades is not None:
            self.reorder_trades = update.reorder_trades

    def take_rate_limit(self) -> int | None:
        """For one REST request: the ``Retry-After`` seconds if it is to be refused."""
        if self.rate_limited <= 0:
            return None
        self.rate_limited -= 1
        self.injected["rate_limited"] += 1
        return self.retry_after

    def refusing_connections(self) -> bool:
        """Whether a new websocket connection is to be refused now."""
        refuse = time.monotonic() < self.refuse_until
        if refuse:
            self.injected["refused_connections"] += 1
        return refuse

    def take_depth_gap(self) -> bool:
        """For one order-book diff that has subscribers: whether to leave it out."""
        if self.depth_gap <= 0:
            return False
        self.depth_gap -= 1
        self.injected["skipped_depth_diffs"] += 1
        return True

    def is_stale(self, stream: str) -> bool:
        """Whether ``stream`` is to send nothing now."""
        now = time.monotonic()
        for pattern, until in list(self.stale.items()):
            if until is not None and now >= until:
                del self.stale[pattern]
            elif fnmatch.fnmatchcase(stream, pattern):
                self.injected["stale_messages"] += 1
                return True
        return False

    def take_trade_fault(self) -> TradeFault | None:
        """For one trade of the trade stream: duplicate it, reorder it, or neither."""
        if self.duplicate_trades > 0:
            self.duplicate_trades -= 1
            self.injected["duplicated_trades"] += 1
            return "duplicate"
        if self.reorder_trades > 0:
            self.reorder_trades -= 1
            self.injected["reordered_trades"] += 1
            return "reorder"
        return None

    def describe(self) -> dict[str, Any]:
        """The current faults and the counts of what was injected, as JSON-ready data."""
        now = time.monotonic()
        return {
            "rest_latency_ms": self.rest_latency_ms,
            "ws_latency_ms": self.ws_latency_ms,
            "rate_limited_requests_left": self.rate_limited,
            "retry_after": self.retry_after,
            "refusing_connections_for": max(self.refuse_until - now, 0.0),
            "depth_diffs_to_skip": self.depth_gap,
            "stale_streams": {
                p: (None if u is None else max(u - now, 0.0)) for p, u in self.stale.items()
            },
            "duplicate_trades_left": self.duplicate_trades,
            "reorder_trades_left": self.reorder_trades,
            "injected": dict(self.injected),
        }
