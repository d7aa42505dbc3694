"""Venues: ccxt adapters for live market data and instruments, and the local fake exchange.

``VenueConfig`` configures a venue, ``adapter_for`` builds its adapter (``VenueAdapter``:
instruments, trades, quotes, books, REST backfill and the execution interface), and
``jules_venues.ccxt_events`` holds the pure conversions of ccxt structures to events.
"""

from jules_venues.adapter import VenueAdapter
from jules_venues.binance import BinanceAdapter
from jules_venues.config import VenueConfig, load_venue_configs
from jules_venues.errors import (
    VenueCapabilityError,
    VenueConfigError,
    VenueDataError,
    VenueError,
)
from jules_venues.execution import (
    MarketDataOnly,
    VenueExecution,
    VenueFill,
    VenueOrder,
    VenuePosition,
)
from jules_venues.markets import MarketRules
from jules_venues.okx import OkxAdapter
from jules_venues.venues import VENUES, adapter_for, register_venue

__all__ = [
    "VENUES",
    "BinanceAdapter",
    "MarketDataOnly",
    "MarketRules",
    "OkxAdapter",
    "VenueAdapter",
    "VenueCapabilityError",
    "VenueConfig",
    "VenueConfigError",
    "VenueDataError",
    "VenueError",
    "VenueExecution",
    "VenueFill",
    "VenueOrder",
    "VenuePosition",
    "adapter_for",
    "load_venue_configs",
    "register_venue",
]
