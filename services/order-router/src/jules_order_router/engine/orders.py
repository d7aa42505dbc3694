"""The order state machine and the venue's record of each order.

An order goes ``NEW → ACCEPTED → PARTIALLY_FILLED → FILLED / CANCELED / EXPIRED``, or
``NEW → REJECTED``. ``OrderStateMachine.TRANSITIONS`` lists every allowed move; anything else
raises ``InvalidTransitionError``. ``WorkingOrder`` adds what the venue tracks about an order
while it works: quantities, average price, fees, eligibility and expiry times.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar

from jules_contracts import JulesError
from jules_contracts.enums import OrderSide, OrderType, TimeInForce
from jules_contracts.orders import OrderAccepted, SubmitOrder

__all__ = [
    "SOURCE",
    "InvalidTransitionError",
    "OrderEventKind",
    "OrderSnapshot",
    "OrderStateMachine",
    "OrderStatus",
    "WorkingOrder",
]

SOURCE = "order-router"
"""``source`` of every event the router's engine emits."""

DAY_NS = 86_400_000_000_000
_QUANTITY_TOLERANCE = 1e-9
"""Relative tolerance below which a remaining quantity counts as zero (float dust)."""


class OrderStatus(StrEnum):
    """Where an order is in its life."""

    NEW = "NEW"
    ACCEPTED = "ACCEPTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


class OrderEventKind(StrEnum):
    """What can happen to an order."""

    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    PARTIAL_FILL = "PARTIAL_FILL"
    FILL = "FILL"
    CANCEL = "CANCEL"
    EXPIRE = "EXPIRE"


class InvalidTransitionError(JulesError, ValueError):
    """An event that the order's current state does not allow.

    Attributes:
        client_order_id: The order.
        state: Its state when the event arrived.
        event: The refused event.
    """

    def __init__(self, client_order_id: str, state: OrderStatus, event: OrderEventKind) -> None:
        self.client_order_id = client_order_id
        self.state = state
        self.event = event
        allowed = sorted(e.value for (s, e) in OrderStateMachine.TRANSITIONS if s is state)
        super().__init__(
            f"order {client_order_id}: event {event.value} is not allowed in state {state.value} "
            f"(allowed: {', '.join(allowed) if allowed else 'none, the state is final'})"
        )


_S = OrderStatus
_E = OrderEventKind


class OrderStateMachine:
    """The state of one order, moved only along the allowed transitions.

    Args:
        client_order_id: The order, named in errors.
    """

    TRANSITIONS: ClassVar[MappingProxyType[tuple[OrderStatus, OrderEventKind], OrderStatus]] = (
        MappingProxyType(
            {
                (_S.NEW, _E.ACCEPT): _S.ACCEPTED,
                (_S.NEW, _E.REJECT): _S.REJECTED,
                (_S.ACCEPTED, _E.PARTIAL_FILL): _S.PARTIALLY_FILLED,
                (_S.ACCEPTED, _E.FILL): _S.FILLED,
                (_S.ACCEPTED, _E.CANCEL): _S.CANCELED,
                (_S.ACCEPTED, _E.EXPIRE): _S.EXPIRED,
                (_S.PARTIALLY_FILLED, _E.PARTIAL_FILL): _S.PARTIALLY_FILLED,
                (_S.PARTIALLY_FILLED, _E.FILL): _S.FILLED,
                (_S.PARTIALLY_FILLED, _E.CANCEL): _S.CANCELED,
                (_S.PARTIALLY_FILLED, _E.EXPIRE): _S.EXPIRED,
            }
        )
    )
    """Every allowed ``(state, event) → next state``."""

    TERMINAL: ClassVar[frozenset[OrderStatus]] = frozenset(
        {_S.FILLED, _S.CANCELED, _S.REJECTED, _S.EXPIRED}
    )
    """States no event leaves."""

    def __init__(self, client_order_id: str) -> None:
        self.client_order_id = client_order_id
        self._status = OrderStatus.NEW

    @property
    def status(self) -> OrderStatus:
        """The current state."""
        return self._status

    @property
    def is_terminal(self) -> bool:
        """Whether the order is done (filled, canceled, rejected or expired)."""
        return self._status in self.TERMINAL

    def can(self, event: OrderEventKind) -> bool:
        """Whether ``event`` is allowed in the current state."""
        return (self._status, event) in self.TRANSITIONS

    def apply(self, event: OrderEventKind) -> OrderStatus:
        """Move to the state ``event`` leads to.

        Returns:
            The new state.

        Raises:
            InvalidTransitionError: The current state does not allow ``event``.
        """
        target = self.TRANSITIONS.get((self._status, event))
        if target is None:
            raise InvalidTransitionError(self.client_order_id, self._status, event)
        self._status = target
        return target


@dataclass(frozen=True)
class OrderSnapshot:
    """A read-only view of an order at the venue."""

    client_order_id: str
    venue_order_id: str
    instrument_id: str
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: float
    filled_quantity: float
    leaves_quantity: float
    average_price: float | None
    limit_price: float | None
    stop_price: float | None
    status: OrderStatus
    triggered: bool
    fees: float


class WorkingOrder:
    """The venue's record of an approved order.

    Args:
        intent: The order as submitted.
        quantity: The approved quantity (at most the intent's).
        venue_order_id: The id the venue gives the order.
        sequence: Acceptance rank; working orders are matched in this order.

    Attributes:
        intent: The order as submitted.
        quantity: The approved quantity.
        filled_quantity: How much has filled.
        accepted: The ``OrderAccepted`` event; fills, expiry and internal cancels derive from it.
        eligible_time: First event time the order may fill at (acceptance plus latency).
        expire_time: When a ``DAY``/``GTD`` order stops working (``None``: never).
        triggered: Whether a stop order's stop price has been reached.
        resting: Whether the order has met an eligible market event without completing, so
            a limit order's later fills add liquidity (maker) at its limit price.
        last_market_time: Event time of the last market event the order was matched against;
            older events (replays of old data) are not matched again.
        sized: Whether the quantity is final: ``False`` for an order with ``size_at_fill``
            until its first fill sizes it (``resize``).
        fees_charged: Fees charged to the order so far.
        bps_fees: Fees of its fills before the minimum fee.
        fill_count: Number of fills (the key of the next fill's id).
    """

    def __init__(
        self, intent: SubmitOrder, quantity: float, *, venue_order_id: str, sequence: int
    ) -> None:
        self.intent = intent
        self.quantity = quantity
        self.venue_order_id = venue_order_id
        self.sequence = sequence
        self.machine = OrderStateMachine(intent.client_order_id)
        self.filled_quantity = 0.0
        self._notional = 0.0
        self.accepted: OrderAccepted | None = None
        self.eligible_time = 0
        self.expire_time: int | None = None
        self.triggered = intent.order_type not in (OrderType.STOP, OrderType.STOP_LIMIT)
        self.resting = False
        self.last_market_time = 0
        self.sized = intent.size_at_fill is None
        self.fees_charged = 0.0
        self.bps_fees = 0.0
        self.fill_count = 0

    @property
    def client_order_id(self) -> str:
        """The order's client order id."""
        return self.intent.client_order_id

    @property
    def instrument_id(self) -> str:
        """The instrument it trades."""
        return self.intent.instrument_id

    @property
    def side(self) -> OrderSide:
        """Buy or sell."""
        return self.intent.side

    @property
    def status(self) -> OrderStatus:
        """The order's state."""
        return self.machine.status

    @property
    def accepted_event(self) -> OrderAccepted:
        """The ``OrderAccepted`` event the order's later events derive from.

        Raises:
            InvalidTransitionError: The order was never accepted.
        """
        if self.accepted is None:
            raise InvalidTransitionError(self.client_order_id, self.status, OrderEventKind.FILL)
        return self.accepted

    @property
    def leaves_quantity(self) -> float:
        """Quantity still working."""
        return max(self.quantity - self.filled_quantity, 0.0)

    @property
    def average_price(self) -> float | None:
        """Size-weighted average fill price (``None`` before the first fill)."""
        return self._notional / self.filled_quantity if self.filled_quantity > 0 else None

    def accept(self, accepted: OrderAccepted, *, latency_ns: int) -> None:
        """Record the acceptance: eligibility after latency and the expiry time.

        ``DAY`` orders expire at the end of the UTC day of their acceptance; ``GTD`` orders at
        their ``expire_time``.
        """
        self.machine.apply(OrderEventKind.ACCEPT)
        self.accepted = accepted
        self.eligible_time = accepted.event_time + latency_ns
        self.last_market_time = accepted.event_time
        tif = self.intent.time_in_force
        if tif is TimeInForce.GTD:
            self.expire_time = self.intent.expire_time
        elif tif is TimeInForce.DAY:
            self.expire_time = (accepted.event_time // DAY_NS + 1) * DAY_NS

    def resize(self, quantity: float) -> None:
        """Give the order its quantity sized at the fill (before anything of it filled)."""
        if self.filled_quantity > 0:
            raise ValueError(
                f"order {self.client_order_id} cannot be resized: {self.filled_quantity:g} of "
                "it filled already"
            )
        self.quantity = quantity
        self.sized = True

    def snap_quantity(self, quantity: float) -> float:
        """Round a fill quantity that leaves only float dust up to the whole leaves quantity."""
        leaves = self.leaves_quantity
        if quantity >= leaves * (1 - _QUANTITY_TOLERANCE):
            return leaves
        return quantity

    def record_fill(self, quantity: float, price: float, fee: float, bps_fee: float) -> bool:
        """Book a fill and move the state machine.

        Args:
            quantity: Filled quantity (at most the leaves quantity; see ``snap_quantity``).
            price: Fill price.
            fee: Fee charged for this fill.
            bps_fee: The fill's fee before the order's minimum fee.

        Returns:
            Whether the order is now completely filled.
        """
        complete = quantity >= self.leaves_quantity
        self.filled_quantity = self.quantity if complete else self.filled_quantity + quantity
        self._notional += quantity * price
        self.fees_charged += fee
        self.bps_fees += bps_fee
        self.fill_count += 1
        self.machine.apply(OrderEventKind.FILL if complete else OrderEventKind.PARTIAL_FILL)
        return complete

    def snapshot(self) -> OrderSnapshot:
        """A read-only copy of the order's state."""
        return OrderSnapshot(
            client_order_id=self.client_order_id,
            venue_order_id=self.venue_order_id,
            instrument_id=self.instrument_id,
            side=self.side,
            order_type=self.intent.order_type,
            time_in_force=self.intent.time_in_force,
            quantity=self.quantity,
            filled_quantity=self.filled_quantity,
            leaves_quantity=self.leaves_quantity,
            average_price=self.average_price,
            limit_price=self.intent.limit_price,
            stop_price=self.intent.stop_price,
            status=self.status,
            triggered=self.triggered,
            fees=self.fees_charged,
        )
