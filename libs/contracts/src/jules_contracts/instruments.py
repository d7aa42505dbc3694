"""Instrument specifications: what a venue's instrument trades in, from an instrument table.

An ``InstrumentSpec`` says how an instrument trades: its price grid (``tick_size``), its
quantity grid (``lot_size``) and smallest order (``min_quantity``), the value of one unit of
price per unit of quantity (``multiplier``: 1 for spot, 125,000 for CME's Euro FX future),
the currency prices are quoted in, and the venue's fee per contract. The risk and
order-router engines take a table of them (``InstrumentTable``, by instrument id); an
instrument without a spec trades as before: multiplier 1, no rounding, no per-contract fee.

``instrument_table`` validates the entries of a table (a YAML file's ``instruments:`` list,
read by ``jules_runtime.instruments``) and refuses duplicates; its errors name the table, the
entry and the field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ConfigDict, ValidationError

from jules_contracts.base import Contract, InstrumentId, NonNegativeFloat, PositiveFloat
from jules_contracts.errors import JulesError
from jules_contracts.orders import Currency

__all__ = [
    "InstrumentSpec",
    "InstrumentTable",
    "InstrumentTableError",
    "instrument_table",
    "round_to_increment",
]

_TOLERANCE = 1e-9
_RELATIVE_DUST = 1e-13

_DIGITS = 12
"""Decimals a rounded value keeps, so ``3 * 0.1`` is written ``0.3``."""


def round_to_increment(value: float, increment: float, *, up: bool = False) -> float:
    """Round a non-negative ``value`` down (or up) to a multiple of ``increment``.

    A value within float dust of a multiple is that multiple, so ``0.3 / 0.1`` is 3 increments
    and ``4.14735069 / 0.00000001`` is 414,735,069 despite floating point (dust: 1e-9
    increments, or 1e-13 of the value when that is more).

    Args:
        value: The value (zero or more).
        increment: The grid's step (more than zero).
        up: Round up instead of down.

    Returns:
        The multiple of ``increment``, rounded to 12 decimals.
    """
    steps = value / increment
    dust = _dust(steps)
    count = math.ceil(steps - dust) if up else math.floor(steps + dust)
    return round(count * increment, _DIGITS) if count else 0.0


def _dust(steps: float) -> float:
    """How far, in increments, a value may be from a multiple and still be on the grid.

    1e-9 increments, or 1e-13 of the value when that is more: a float holds about 16 digits,
    so 4.14735069 is 414,735,068.99999994 increments of 0.00000001.
    """
    return max(_TOLERANCE, steps * _RELATIVE_DUST)


class InstrumentSpec(Contract):
    """How one instrument trades at its venue.

    Attributes:
        instrument_id: The instrument (``SYMBOL.VENUE``).
        tick_size: Price increment: limit and stop prices are on this grid.
        lot_size: Quantity increment: order and fill quantities are multiples of it.
        min_quantity: Smallest order quantity; ``None``: one lot.
        multiplier: Value of one unit of price per unit of quantity (contract size): notional
            is ``quantity * price * multiplier``, and so are PnL and exposure.
        quote_currency: The currency prices (and per-contract fees) are in.
        fee_per_contract: Venue fee per unit of quantity filled, on top of the basis-point fees.
    """

    model_config = ConfigDict(extra="forbid")

    instrument_id: InstrumentId
    tick_size: PositiveFloat
    lot_size: PositiveFloat
    min_quantity: PositiveFloat | None = None
    multiplier: PositiveFloat = 1.0
    quote_currency: Currency
    fee_per_contract: NonNegativeFloat = 0.0

    @property
    def smallest_order(self) -> float:
        """The smallest quantity an order may have: ``min_quantity``, else one lot."""
        return self.lot_size if self.min_quantity is None else self.min_quantity

    def notional(self, quantity: float, price: float) -> float:
        """``quantity * price * multiplier`` (signed like ``quantity``)."""
        return quantity * price * self.multiplier

    def round_quantity(self, quantity: float) -> float:
        """``quantity`` rounded toward zero to a multiple of ``lot_size`` (sign kept)."""
        rounded = round_to_increment(abs(quantity), self.lot_size)
        return math.copysign(rounded, quantity) if rounded else 0.0

    def on_lot(self, quantity: float) -> bool:
        """Whether ``quantity`` is a multiple of ``lot_size``, to float dust."""
        lots = abs(quantity) / self.lot_size
        return abs(lots - round(lots)) <= _dust(lots)

    def round_price(self, price: float, *, up: bool) -> float:
        """``price`` rounded down (or up) to the tick grid."""
        return round_to_increment(price, self.tick_size, up=up)


InstrumentTable = Mapping[str, InstrumentSpec]
"""Instrument specs by instrument id."""


class InstrumentTableError(JulesError, ValueError):
    """An instrument table is invalid; the message names the table, the entry and the field."""


def instrument_table(
    entries: Iterable[object], *, source: str = "instruments"
) -> dict[str, InstrumentSpec]:
    """Validate the entries of an instrument table into specs by instrument id.

    Args:
        entries: Each a mapping of ``InstrumentSpec`` fields (or a spec).
        source: What holds the entries (``instrument table <path>: instruments``), named in
            errors as ``<source>[<index>]``.

    Returns:
        The specs by instrument id, in the order of the entries.

    Raises:
        InstrumentTableError: An entry is invalid, or two entries have the same instrument id.
    """
    table: dict[str, InstrumentSpec] = {}
    for index, entry in enumerate(entries):
        spec = _validated(entry, f"{source}[{index}]")
        if spec.instrument_id in table:
            raise InstrumentTableError(
                f"{source}[{index}]: instrument_id {spec.instrument_id} is listed twice "
                "(each instrument has one spec)"
            )
        table[spec.instrument_id] = spec
    return table


def _validated(entry: object, where: str) -> InstrumentSpec:
    if isinstance(entry, InstrumentSpec):
        return entry
    if not isinstance(entry, Mapping):
        raise InstrumentTableError(
            f"{where}: an entry is a mapping of fields, not {type(entry).__name__}"
        )
    instrument = entry.get("instrument_id")
    named = f"{where} ({instrument})" if isinstance(instrument, str) else where
    try:
        return InstrumentSpec.model_validate(entry)
    except ValidationError as error:
        details = "; ".join(_describe(detail) for detail in error.errors(include_url=False))
        raise InstrumentTableError(f"{named}: {details}") from None


def _describe(detail: Any) -> str:
    field = ".".join(str(part) for part in detail["loc"]) or "entry"
    if detail["type"] == "missing":
        return f"{field}: {detail['msg']}"
    value = detail.get("input")
    text = f"{field}: {detail['msg']} (got {value!r})"
    if detail["type"] == "float_type" and isinstance(value, str) and _is_number(value):
        # YAML 1.1 reads 1e-8 (no decimal point) as text
        text += "; write the number with a decimal point (0.00000001 or 1.0e-8)"
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
