"""The engine's view of the account: positions, working orders and client order ids.

Positions come from the latest ``PortfolioSnapshot`` (the venue's account is authoritative),
plus the fills reported after it. A snapshot at time ``T`` is taken to include every fill
with ``event_time <= T``, so such a fill, whenever it is reported, changes only the working
quantity, never the position twice. Fills are deduplicated by ``(client_order_id, fill_id)``.

An order counts as working from the moment risk approves it (working orders count at once),
with its remaining quantity taken from the venue's reports (an ``OrderResized`` order sized
at the fill, then its fills), until it is filled, canceled, rejected or expired.

Notional is ``quantity * price * multiplier``, with the multipliers of the instruments that
have one (from the instrument table) and 1 for the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from jules_contracts.enums import OrderSide
from jules_contracts.orders import (
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderResized,
    SubmitOrder,
)
from jules_contracts.portfolio import PortfolioSnapshot

__all__ = ["ExposureBook", "OrderEvent", "WorkingOrder", "signed"]

OrderEvent = (
    OrderAccepted
    | OrderPartiallyFilled
    | OrderFilled
    | OrderCanceled
    | OrderRejected
    | OrderExpired
    | OrderResized
)
"""An order lifecycle event the book tracks."""


def signed(side: OrderSide, quantity: float) -> float:
    """``quantity`` with the sign of ``side`` (buy positive)."""
    return quantity if side is OrderSide.BUY else -quantity


@dataclass(slots=True)
class WorkingOrder:
    """An approved order that has not reached a final state.

    Attributes:
        client_order_id: The order's id.
        instrument_id: What it trades.
        side: Buy or sell.
        leaves: Quantity still to fill.
        reduce_only: Whether it may only reduce a position.
        accepted: Whether the venue accepted it.
    """

    client_order_id: str
    instrument_id: str
    side: OrderSide
    leaves: float
    reduce_only: bool
    accepted: bool = False


class ExposureBook:
    """Positions, working orders and every client order id seen.

    Args:
        multipliers: Contract multipliers of the instruments that have one (others: 1).
    """

    def __init__(self, multipliers: Mapping[str, float] | None = None) -> None:
        self._multipliers = dict(multipliers or {})
        self._positions: dict[str, float] = {}
        self._average_prices: dict[str, float] = {}
        self._marks: dict[str, float] = {}
        self._working: dict[str, WorkingOrder] = {}
        self._working_by_instrument: dict[str, dict[str, WorkingOrder]] = {}
        """The working orders again, by instrument, in the same (insertion) order: a decision
        looks at its instrument's orders only, however many others are working."""
        self._seen_ids: set[str] = set()
        self._seen_fills: set[tuple[str, str]] = set()
        self.snapshot_time: int | None = None
        self.snapshot_id: str | None = None
        self.equity: float | None = None
        self.traded_notional = 0.0

    # --- updates --------------------------------------------------------------------------

    def apply_snapshot(self, snapshot: PortfolioSnapshot) -> bool:
        """Replace positions and equity by ``snapshot``'s.

        Returns:
            ``False`` (nothing changed) when the snapshot was applied already or is older
            than the current one.
        """
        if snapshot.event_id == self.snapshot_id or (
            self.snapshot_time is not None and snapshot.event_time < self.snapshot_time
        ):
            return False
        self.snapshot_time = snapshot.event_time
        self.snapshot_id = snapshot.event_id
        self.equity = snapshot.equity
        self._positions = {p.instrument_id: p.quantity for p in snapshot.positions}
        self._average_prices = {
            p.instrument_id: p.average_price for p in snapshot.positions if p.average_price > 0
        }
        self._marks.update(
            {p.instrument_id: p.last_price for p in snapshot.positions if p.last_price}
        )
        return True

    def add_working(self, order: SubmitOrder, quantity: float) -> None:
        """Count an approved order as working at once."""
        self._seen_ids.add(order.client_order_id)
        previous = self._working.get(order.client_order_id)
        if previous is not None and previous.instrument_id != order.instrument_id:
            self._drop_working(order.client_order_id)
        working = WorkingOrder(
            order.client_order_id, order.instrument_id, order.side, quantity, order.reduce_only
        )
        self._working[order.client_order_id] = working
        self._working_by_instrument.setdefault(order.instrument_id, {})[order.client_order_id] = (
            working
        )

    def _drop_working(self, client_order_id: str) -> None:
        working = self._working.pop(client_order_id, None)
        if working is None:
            return
        orders = self._working_by_instrument[working.instrument_id]
        del orders[client_order_id]
        if not orders:
            del self._working_by_instrument[working.instrument_id]

    def mark_seen(self, client_order_id: str) -> None:
        """Remember a client order id (decided orders, denied ones included)."""
        self._seen_ids.add(client_order_id)

    def apply_order_event(self, event: OrderEvent) -> None:
        """Update working orders and positions from a lifecycle event."""
        self._seen_ids.add(event.client_order_id)
        working = self._working.get(event.client_order_id)
        if isinstance(event, OrderAccepted):
            if working is not None:
                working.accepted = True
        elif isinstance(event, OrderResized):
            if working is not None:  # sized at the fill, before any of it filled
                working.leaves = event.quantity
        elif isinstance(event, OrderPartiallyFilled | OrderFilled):
            self._apply_fill(event)
            if isinstance(event, OrderFilled):
                self._drop_working(event.client_order_id)
            elif working is not None:
                working.leaves = event.leaves_quantity
        else:
            self._drop_working(event.client_order_id)

    def _apply_fill(self, fill: OrderPartiallyFilled | OrderFilled) -> None:
        key = (fill.client_order_id, fill.fill_id)
        if key in self._seen_fills:
            return
        self._seen_fills.add(key)
        self.traded_notional += self.value(fill.instrument_id, fill.last_quantity, fill.last_price)
        self._marks[fill.instrument_id] = fill.last_price
        if self.snapshot_time is not None and fill.event_time <= self.snapshot_time:
            return
        instrument = fill.instrument_id
        before = self._positions.get(instrument, 0.0)
        change = signed(fill.side, fill.last_quantity)
        after = before + change
        if before == 0 or (before > 0) != (after > 0):
            self._average_prices[instrument] = fill.last_price
        elif abs(after) > abs(before):
            average = self._average_prices.get(instrument, fill.last_price)
            self._average_prices[instrument] = (
                average * abs(before) + fill.last_price * abs(change)
            ) / abs(after)
        if after == 0:
            self._average_prices.pop(instrument, None)
        self._positions[instrument] = after

    # --- queries --------------------------------------------------------------------------

    def seen(self, client_order_id: str) -> bool:
        """Whether the id was decided on or reported before."""
        return client_order_id in self._seen_ids

    def position(self, instrument_id: str) -> float:
        """Signed position (snapshot plus later fills)."""
        return self._positions.get(instrument_id, 0.0)

    def average_price(self, instrument_id: str) -> float | None:
        """Average entry price of the open position, when known."""
        return self._average_prices.get(instrument_id)

    def mark(self, instrument_id: str) -> float | None:
        """Last price the account saw for the instrument (snapshot mark or fill)."""
        return self._marks.get(instrument_id)

    def working_orders(self, instrument_id: str | None = None) -> list[WorkingOrder]:
        """Working orders (of one instrument, or all), ordered by client order id."""
        orders = (
            self._working
            if instrument_id is None
            else self._working_by_instrument.get(instrument_id, {})
        )
        selected = sorted(orders.items(), key=_first)
        return [order for _, order in selected]

    def working_totals(self, instrument_id: str) -> tuple[float, float]:
        """Remaining quantity of working buys and of working sells."""
        buys = sells = 0.0
        for order in self._working_by_instrument.get(instrument_id, {}).values():
            if order.side is OrderSide.BUY:
                buys += order.leaves
            else:
                sells += order.leaves
        return buys, sells

    def working_net(self, instrument_id: str) -> float:
        """Net signed remaining quantity of the working orders."""
        buys, sells = self.working_totals(instrument_id)
        return buys - sells

    def open_order_count(self) -> int:
        """Number of working orders."""
        return len(self._working)

    def exposure(self, instrument_id: str, extra: float = 0.0) -> float:
        """Worst-side absolute position if working orders (and ``extra``) filled.

        ``max(|position + buys|, |position - sells|)``, with ``extra`` (a signed quantity)
        added to the buys or the sells.
        """
        buys, sells = self.working_totals(instrument_id)
        if extra > 0:
            buys += extra
        else:
            sells -= extra
        position = self.position(instrument_id)
        return max(abs(position + buys), abs(position - sells))

    def value(self, instrument_id: str, quantity: float, price: float) -> float:
        """Notional of ``quantity`` at ``price``: ``quantity * price * multiplier``."""
        multiplier = self._multipliers.get(instrument_id)
        return quantity * price if multiplier is None else quantity * price * multiplier

    def holdings(self, mark: Callable[[str], float]) -> dict[str, float]:
        """Net notional (position plus working orders) per instrument, at ``mark(instrument)``."""
        return {
            i: self.value(i, self.position(i) + self.working_net(i), mark(i))
            for i in self.instruments()
        }

    def gross(self, mark: Callable[[str], float]) -> float:
        """Gross notional exposure, working orders counted at once (worst side per instrument)."""
        return sum(self.value(i, self.exposure(i), mark(i)) for i in self.instruments())

    def instruments(self) -> list[str]:
        """Instruments with a position or a working order, sorted."""
        held = {i for i, quantity in self._positions.items() if quantity != 0}
        return sorted(held | self._working_by_instrument.keys())


def _first(item: tuple[str, WorkingOrder]) -> str:
    return item[0]
