"""The execution part of the venue adapter skeleton: orders, fills and positions.

Every call names orders by our client order id (deterministic, derived from the signal, see
DESIGN §4): a timeout is an unknown outcome that the order-router resolves by asking the venue
for the order by that id, never by sending it again. ``MarketDataOnly`` is the execution part
of an adapter that does not trade yet: each call raises ``VenueCapabilityError``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal, NoReturn

from jules_contracts import LiquiditySide, OrderSide, OrderType, SubmitOrder
from jules_contracts.base import (
    Contract,
    FiniteFloat,
    Identifier,
    InstrumentId,
    NonNegativeFloat,
    PositiveFloat,
    UtcNanos,
)

from jules_venues.errors import VenueCapabilityError

__all__ = ["MarketDataOnly", "VenueExecution", "VenueFill", "VenueOrder", "VenuePosition"]

VenueOrderStatus = Literal["open", "partially_filled", "filled", "canceled", "rejected", "expired"]


class VenueOrder(Contract):
    """An order as the venue reports it.

    Attributes:
        client_order_id: Our id of the order.
        venue_order_id: The venue's id, once it has one.
        instrument_id: What it trades.
        side: Buy or sell.
        order_type: Market, limit, stop or stop-limit.
        quantity: The order's quantity.
        filled_quantity: How much has filled.
        limit_price: The limit, for limit orders.
        average_price: The average fill price, once something filled.
        status: Where the order stands at the venue.
        updated_time: When the venue last changed it.
    """

    client_order_id: Identifier
    venue_order_id: str | None = None
    instrument_id: InstrumentId
    side: OrderSide
    order_type: OrderType
    quantity: PositiveFloat
    filled_quantity: NonNegativeFloat = 0.0
    limit_price: PositiveFloat | None = None
    average_price: PositiveFloat | None = None
    status: VenueOrderStatus
    updated_time: UtcNanos | None = None


class VenueFill(Contract):
    """One execution of one of our orders at the venue.

    Attributes:
        fill_id: The venue's id of the execution (trade id), unique per venue and instrument.
        client_order_id: The order it filled, when the venue reports it.
        instrument_id: What traded.
        side: Our side.
        quantity: Filled quantity.
        price: Fill price.
        fee: The fee charged, in ``fee_currency``.
        fee_currency: The fee's currency.
        liquidity: Whether we made or took liquidity, when known.
        event_time: When it filled.
    """

    fill_id: Identifier
    client_order_id: Identifier | None = None
    instrument_id: InstrumentId
    side: OrderSide
    quantity: PositiveFloat
    price: PositiveFloat
    fee: NonNegativeFloat = 0.0
    fee_currency: str | None = None
    liquidity: LiquiditySide | None = None
    event_time: UtcNanos


class VenuePosition(Contract):
    """A position the venue holds for the account (signed: negative is short)."""

    instrument_id: InstrumentId
    quantity: FiniteFloat
    average_price: PositiveFloat | None = None


class VenueExecution(ABC):
    """What an adapter must offer to trade: place, cancel, amend and query orders."""

    @abstractmethod
    async def place_order(self, order: SubmitOrder) -> VenueOrder:
        """Send an order under its client order id.

        A venue that refuses a second order with a used client id makes a resend harmless;
        still, on a timeout ask with ``fetch_order`` rather than sending again.

        Args:
            order: The order (its ``client_order_id``, instrument, side, quantity, type,
                prices and time in force).

        Returns:
            The order as the venue acknowledged it.
        """

    @abstractmethod
    async def cancel_order(self, instrument_id: str, client_order_id: str) -> VenueOrder:
        """Cancel a working order by its client order id.

        Returns:
            The order after the cancel (``canceled``, or ``filled`` when the fill won).
        """

    @abstractmethod
    async def amend_order(
        self,
        instrument_id: str,
        client_order_id: str,
        *,
        quantity: float | None = None,
        limit_price: float | None = None,
    ) -> VenueOrder:
        """Change a working order's quantity or limit price (in place where the venue can).

        Returns:
            The order as amended.
        """

    @abstractmethod
    async def fetch_order(self, instrument_id: str, client_order_id: str) -> VenueOrder | None:
        """The order with this client order id, ``None`` when the venue never received it.

        This is how an unknown outcome (a timeout) is resolved.
        """

    @abstractmethod
    async def fetch_open_orders(self, instrument_id: str | None = None) -> list[VenueOrder]:
        """The working orders, of one instrument or of all the configured ones."""

    @abstractmethod
    async def fetch_fills(
        self, instrument_id: str | None = None, since: int | None = None
    ) -> list[VenueFill]:
        """Our fills, oldest first, since ``since`` (UTC nanoseconds), for reconciliation."""

    @abstractmethod
    async def fetch_positions(self) -> list[VenuePosition]:
        """The account's positions (balances of the base currencies, for spot)."""


class MarketDataOnly(VenueExecution):
    """The execution part of an adapter that does not trade: every call is refused."""

    @property
    def venue_label(self) -> str:
        """The venue, as messages name it."""
        return type(self).__name__

    def _refuse(self, operation: str) -> NoReturn:
        raise VenueCapabilityError(
            f"{self.venue_label}: {operation} is not supported yet "
            "(the adapter offers market data and instruments only)"
        )

    async def place_order(self, order: SubmitOrder) -> VenueOrder:  # noqa: D102
        self._refuse("place_order")

    async def cancel_order(self, instrument_id: str, client_order_id: str) -> VenueOrder:  # noqa: D102
        self._refuse("cancel_order")

    async def amend_order(  # noqa: D102
        self,
        instrument_id: str,
        client_order_id: str,
        *,
        quantity: float | None = None,
        limit_price: float | None = None,
    ) -> VenueOrder:
        self._refuse("amend_order")

    async def fetch_order(self, instrument_id: str, client_order_id: str) -> VenueOrder | None:  # noqa: D102
        self._refuse("fetch_order")

    async def fetch_open_orders(self, instrument_id: str | None = None) -> list[VenueOrder]:  # noqa: D102
        self._refuse("fetch_open_orders")

    async def fetch_fills(  # noqa: D102
        self, instrument_id: str | None = None, since: int | None = None
    ) -> list[VenueFill]:
        self._refuse("fetch_fills")

    async def fetch_positions(self) -> list[VenuePosition]:  # noqa: D102
        self._refuse("fetch_positions")
