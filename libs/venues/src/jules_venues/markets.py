"""Instrument specs from ccxt markets: tick, lot, minimums and contract size.

ccxt states a market's precision in one of three modes, the exchange's ``precisionMode``:

* ``TICK_SIZE``: ``precision["price"]`` is the tick itself (Binance: ``0.01``);
* ``DECIMAL_PLACES``: it is a number of decimals (``2`` means a tick of ``0.01``);
* ``SIGNIFICANT_DIGITS``: a number of significant digits, which fixes no grid; the tick is
  then the market's smallest price (``limits["price"]["min"]``) when it has one.

``market_rules`` reads one market into ``MarketRules``: the ``InstrumentSpec`` the risk and
order-router engines use, plus the venue's limits the spec does not carry (minimum notional,
maximum quantity).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from jules_contracts.base import Contract, InstrumentId, PositiveFloat
from jules_contracts.instruments import InstrumentSpec

from jules_venues.errors import VenueDataError

__all__ = ["DECIMAL_PLACES", "SIGNIFICANT_DIGITS", "TICK_SIZE", "MarketRules", "market_rules"]

# ccxt.base.decimal_to_precision's constants (restated: the spec reads no ccxt module).
DECIMAL_PLACES = 2
SIGNIFICANT_DIGITS = 3
TICK_SIZE = 4


class MarketRules(Contract):
    """One instrument's trading rules at a venue, as ccxt's market states them.

    Attributes:
        instrument_id: Our instrument id.
        symbol: The ccxt symbol.
        spec: The instrument spec (tick, lot, minimum quantity, multiplier, quote currency).
        min_notional: Smallest ``quantity * price`` of an order, when the venue has one.
        max_quantity: Largest order quantity, when the venue has one.
        active: Whether the venue lists the market as trading.
    """

    instrument_id: InstrumentId
    symbol: str
    spec: InstrumentSpec
    min_notional: PositiveFloat | None = None
    max_quantity: PositiveFloat | None = None
    active: bool = True


def _positive(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _increment(precision: object, mode: int, minimum: object, what: str, symbol: str) -> float:
    value = _positive(precision)
    if mode == TICK_SIZE and value is not None:
        return value
    if mode == DECIMAL_PLACES and precision is not None and not isinstance(precision, bool):
        places = float(precision)  # type: ignore[arg-type]
        if places.is_integer():
            return float(f"1e-{int(places)}") if places >= 0 else 10.0**-places
    fallback = _positive(minimum)
    if fallback is not None:
        return fallback
    raise VenueDataError(
        f"market {symbol}: no {what} increment (precision {precision!r} in mode {mode}, "
        f"no minimum either)"
    )


def _limit(market: Mapping[str, Any], name: str, bound: str) -> object:
    limits = market.get("limits") or {}
    return (limits.get(name) or {}).get(bound)


def market_rules(
    market: Mapping[str, Any], *, instrument_id: str, precision_mode: int
) -> MarketRules:
    """Read a ccxt market into the instrument's rules.

    Args:
        market: ccxt's unified market (``exchange.markets[symbol]``).
        instrument_id: Our id of the instrument.
        precision_mode: The exchange's ``precisionMode`` (``TICK_SIZE``, ``DECIMAL_PLACES``
            or ``SIGNIFICANT_DIGITS``).

    Returns:
        The rules: tick from the price precision, lot from the amount precision, minimum
        quantity and notional from the limits, multiplier from the contract size (1 for spot).

    Raises:
        VenueDataError: The market has no usable price or amount increment, or its quote
            currency is not a currency code.
    """
    symbol = str(market.get("symbol"))
    precision = market.get("precision") or {}
    tick = _increment(
        precision.get("price"), precision_mode, _limit(market, "price", "min"), "price", symbol
    )
    lot = _increment(
        precision.get("amount"), precision_mode, _limit(market, "amount", "min"), "amount", symbol
    )
    try:
        spec = InstrumentSpec(
            instrument_id=instrument_id,
            tick_size=tick,
            lot_size=lot,
            min_quantity=_positive(_limit(market, "amount", "min")),
            multiplier=_positive(market.get("contractSize")) or 1.0,
            quote_currency=str(market.get("quote")),
        )
    except ValueError as error:
        raise VenueDataError(f"market {symbol}: {error}") from None
    return MarketRules(
        instrument_id=instrument_id,
        symbol=symbol,
        spec=spec,
        min_notional=_positive(_limit(market, "cost", "min")),
        max_quantity=_positive(_limit(market, "amount", "max")),
        active=market.get("active") is not False,
    )
