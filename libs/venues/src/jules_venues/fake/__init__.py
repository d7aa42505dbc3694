"""A local fake exchange: real exchange dialects over a recorded market, misbehaving on demand.

The real ccxt classes run against it (their URLs pointed at it, see
:meth:`FakeExchange.ccxt_config`); it replays recorded market data as a live market
(:class:`Market`), and it can add latency, answer 429, drop connections, leave gaps in a
book's updates, go stale, and duplicate or reorder trades (:class:`FaultUpdate`).
"""

from jules_venues.fake.dialect import DIALECTS, get_dialect
from jules_venues.fake.faults import DropConnections, Faults, FaultUpdate, RateLimit, Stale
from jules_venues.fake.feed import RecordedFeed, load_feed
from jules_venues.fake.market import Market
from jules_venues.fake.server import FakeExchange, FakeUrls, default_data_files, files_or_default

__all__ = [
    "DIALECTS",
    "DropConnections",
    "FakeExchange",
    "FakeUrls",
    "FaultUpdate",
    "Faults",
    "Market",
    "RateLimit",
    "RecordedFeed",
    "Stale",
    "default_data_files",
    "files_or_default",
    "get_dialect",
    "load_feed",
]
