"""Round trips (trades) rebuilt from fills.

A round trip opens when a position leaves zero and closes when it returns to zero. A fill that
reverses the position (long 10, sell 15) closes the round trip at that fill and opens a new
one in the other direction with the remainder. Fees are split pro rata by quantity. PnL and
notional count each instrument's contract multiplier (1 without one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Fill", "RoundTrip", "round_trips", "traded_notional"]

_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution: signed quantity (buy > 0, sell < 0), a row of ``fills.csv``.

    Attributes:
        instrument_id: The instrument.
        event_time: When it filled (ns since the epoch, UTC).
        quantity: Signed quantity: buy > 0, sell < 0.
        price: Fill price.
        fee: Fee paid (in the account currency).
        client_order_id: The order it fills.
        fill_id: The venue's id of the execution.
        liquidity: ``MAKER`` or ``TAKER``.
        side: ``BUY`` or ``SELL``.
    """

    instrument_id: str
    event_time: int
    quantity: float
    price: float
    fee: float
    client_order_id: str
    fill_id: str
    liquidity: str
    side: str


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """A closed (or, at the end of a run, still open) position episode."""

    instrument_id: str
    side: str
    size: float
    entry_time: int
    entry_price: float
    exit_time: int | None
    exit_price: float | None
    pnl: float
    fees: float

    @property
    def net_pnl(self) -> float:
        """PnL after fees."""
        return self.pnl - self.fees


@dataclass
class _Open:
    side: int
    size: float
    entry_time: int
    entry_notional: float
    entry_fees: float
    exit_size: float = 0.0
    exit_notional: float = 0.0
    exit_fees: float = 0.0
    exit_time: int = 0

    def close(self, instrument_id: str, multiplier: float) -> RoundTrip:
        entry_price = self.entry_notional / self.size
        exit_price = self.exit_notional / self.exit_size
        return RoundTrip(
            instrument_id=instrument_id,
            side="LONG" if self.side > 0 else "SHORT",
            size=self.size,
            entry_time=self.entry_time,
            entry_price=entry_price,
            exit_time=self.exit_time,
            exit_price=exit_price,
            pnl=self.side * (exit_price - entry_price) * self.size * multiplier,
            fees=self.entry_fees + self.exit_fees,
        )


def traded_notional(fills: list[Fill], multipliers: Mapping[str, float] | None = None) -> float:
    """Sum of ``|quantity| * price * multiplier`` over the fills (multiplier 1 by default)."""
    factors = multipliers or {}
    return sum(abs(f.quantity) * f.price * factors.get(f.instrument_id, 1.0) for f in fills)


def round_trips(
    fills: list[Fill], multipliers: Mapping[str, float] | None = None
) -> list[RoundTrip]:
    """Rebuild round trips from fills in time order, per instrument.

    Scaling in adds to the open round trip (the entry price becomes the average); scaling out
    closes it only when the position reaches zero, at the average exit price. Round trips
    still open at the end are returned with ``exit_time`` and ``exit_price`` of ``None``, their
    remaining ``size``, and as ``pnl`` what their partial exits realised.

    Args:
        fills: The fills, in time order.
        multipliers: Contract multipliers of the instruments that have one (others: 1).
    """
    factors = multipliers or {}
    trips: list[RoundTrip] = []
    open_by_instrument: dict[str, _Open] = {}
    position: dict[str, float] = {}
    for fill in fills:
        remaining = fill.quantity
        fee_per_unit = fill.fee / abs(fill.quantity) if fill.quantity else 0.0
        while abs(remaining) > _EPS:
            current = position.get(fill.instrument_id, 0.0)
            trip = open_by_instrument.get(fill.instrument_id)
            if trip is None or abs(current) <= _EPS:
                trip = _Open(1 if remaining > 0 else -1, 0.0, fill.event_time, 0.0, 0.0)
                open_by_instrument[fill.instrument_id] = trip
            if (remaining > 0) == (trip.side > 0):  # adding
                trip.size += abs(remaining)
                trip.entry_notional += abs(remaining) * fill.price
                trip.entry_fees += abs(remaining) * fee_per_unit
                position[fill.instrument_id] = current + remaining
                remaining = 0.0
                continue
            closing = min(abs(remaining), abs(current))
            trip.exit_size += closing
            trip.exit_notional += closing * fill.price
            trip.exit_fees += closing * fee_per_unit
            trip.exit_time = fill.event_time
            step = closing if remaining > 0 else -closing
            position[fill.instrument_id] = current + step
            remaining -= step
            if abs(position[fill.instrument_id]) <= _EPS:
                position[fill.instrument_id] = 0.0
                trips.append(trip.close(fill.instrument_id, factors.get(fill.instrument_id, 1.0)))
                del open_by_instrument[fill.instrument_id]
    for instrument_id, trip in sorted(open_by_instrument.items()):
        entry_price = trip.entry_notional / trip.size
        realized = (
            trip.side
            * (trip.exit_notional / trip.exit_size - entry_price)
            * trip.exit_size
            * factors.get(instrument_id, 1.0)
            if trip.exit_size
            else 0.0
        )
        trips.append(
            RoundTrip(
                instrument_id=instrument_id,
                side="LONG" if trip.side > 0 else "SHORT",
                size=trip.size - trip.exit_size,
                entry_time=trip.entry_time,
                entry_price=entry_price,
                exit_time=None,
                exit_price=None,
                pnl=realized,
                fees=trip.entry_fees + trip.exit_fees,
            )
        )
    return sorted(trips, key=lambda t: (t.entry_time, t.instrument_id))
