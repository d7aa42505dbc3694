"""The venue registry: venue names to adapter classes.

``adapter_for(config)`` builds the adapter of a ``VenueConfig`` by its ``name``. A new venue
registers its class here (``VENUES``) or, from outside this package, with ``register_venue``.
"""

from __future__ import annotations

from jules_venues.adapter import Clock, VenueAdapter
from jules_venues.binance import BinanceAdapter
from jules_venues.config import VenueConfig
from jules_venues.errors import VenueConfigError
from jules_venues.okx import OkxAdapter

__all__ = ["VENUES", "adapter_for", "register_venue"]

VENUES: dict[str, type[VenueAdapter]] = {"binance": BinanceAdapter, "okx": OkxAdapter}
"""Adapter classes by venue name."""


def register_venue(name: str, adapter: type[VenueAdapter]) -> None:
    """Register an adapter class under a venue name.

    Raises:
        VenueConfigError: Another class is registered under that name.
    """
    known = VENUES.get(name)
    if known is not None and known is not adapter:
        raise VenueConfigError(f"venue {name} is already registered ({known.__name__})")
    VENUES[name] = adapter


def adapter_for(config: VenueConfig, *, clock: Clock | None = None) -> VenueAdapter:
    """The adapter for a venue config, by its ``name``, else its ccxt ``exchange_id``.

    Raises:
        VenueConfigError: No adapter is registered under that name.
    """
    adapter = VENUES.get(config.name) or VENUES.get(config.ccxt_id)
    if adapter is None:
        raise VenueConfigError(
            f"venue {config.name}: no adapter (known venues: {', '.join(sorted(VENUES))})"
        )
    return adapter(config) if clock is None else adapter(config, clock=clock)
