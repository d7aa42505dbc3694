"""What a run records as it goes: orders, fills, equity points, for the run folder.

An order's ``quantity`` in ``orders.csv`` is the quantity it had at the venue: the approved
one, or for an order sized at the fill (``sizing.at: fill``) the one the router sized it to
(``OrderResized``); the estimate risk sized and checked at the decision stays in the audit
log (``SubmitOrder``, ``OrderApproved``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jules_contracts import (
    Bar,
    Event,
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderResized,
    OrderSide,
    PortfolioSnapshot,
    SubmitOrder,
    format_utc_nanos,
)

from jules_backtest.trades import Fill

__all__ = ["OrderRow", "PriceSeries", "RunRecorder"]

_STATUS = {
    OrderAccepted: "ACCEPTED",
    OrderRejected: "REJECTED",
    OrderPartiallyFilled: "PARTIALLY_FILLED",
    OrderFilled: "FILLED",
    OrderCanceled: "CANCELED",
    OrderExpired: "EXPIRED",
}


@dataclass
class PriceSeries:
    """Closing prices of one instrument, for the report (price plots and buy-and-hold)."""

    instrument_id: str
    times: list[int] = field(default_factory=list)
    closes: list[float] = field(default_factory=list)


@dataclass
class OrderRow:
    """One order's line in ``orders.csv``."""

    client_order_id: str
    submitted_at: int
    instrument_id: str
    side: str
    quantity: float
    order_type: str
    strategy_id: str
    reference_price: float | None
    decision: str = ""
    reasons: str = ""
    status: str = "NEW"
    filled_quantity: float = 0.0
    average_price: float | None = None
    fees: float = 0.0


@dataclass
class RunRecorder:
    """Collects the run's outputs from the event stream (the node's ``emit``)."""

    orders: dict[str, OrderRow] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    equity: list[tuple[int, float, float, float, bool]] = field(default_factory=list)
    prices: dict[str, PriceSeries] = field(default_factory=dict)
    submitted: int = 0
    denied: int = 0
    filled_orders: int = 0
    events: int = 0

    def __call__(self, event: Event) -> None:
        """Record one event."""
        self.events += 1
        if isinstance(event, Bar):
            series = self.prices.setdefault(event.instrument_id, PriceSeries(event.instrument_id))
            series.times.append(event.event_time)
            series.closes.append(event.close)
        elif isinstance(event, SubmitOrder):
            self.submitted += 1
            self.orders[event.client_order_id] = OrderRow(
                client_order_id=event.client_order_id,
                submitted_at=event.event_time,
                instrument_id=event.instrument_id,
                side=event.side.value,
                quantity=event.quantity,
                order_type=event.order_type.value,
                strategy_id=event.strategy_id,
                reference_price=event.reference_price,
            )
        elif isinstance(event, OrderApproved | OrderDenied):
            self._decision(event)
        elif isinstance(event, PortfolioSnapshot):
            exposed = any(position.quantity != 0 for position in event.positions)
            self.equity.append(
                (event.event_time, event.equity, event.cash, event.gross_exposure, exposed)
            )
        elif isinstance(event, OrderResized):
            row = self.orders.get(event.client_order_id)
            if row is not None:
                row.quantity = event.quantity
        elif isinstance(event, tuple(_STATUS)):
            self._order_event(event)

    def _decision(self, event: OrderApproved | OrderDenied) -> None:
        row = self.orders.get(event.client_order_id)
        if row is None:
            return
        if isinstance(event, OrderDenied):
            self.denied += 1
            row.decision = "DENIED"
            row.reasons = "|".join(reason.value for reason in event.reasons)
            row.status = "DENIED"
        else:
            row.decision = "APPROVED"

    def _order_event(self, event: Event) -> None:
        client_order_id = getattr(event, "client_order_id", "")
        row = self.orders.get(client_order_id)
        if row is None:  # an order the router created itself (closing at the end)
            if not isinstance(event, OrderAccepted):
                return
            row = self.orders[client_order_id] = OrderRow(
                client_order_id=client_order_id,
                submitted_at=event.event_time,
                instrument_id=event.instrument_id,
                side="",
                quantity=0.0,
                order_type="MARKET",
                strategy_id="close-at-end",
                reference_price=None,
                decision="",
            )
        row.status = _STATUS[type(event)]
        if isinstance(event, OrderPartiallyFilled | OrderFilled):
            self._fill(row, event)

    def _fill(self, row: OrderRow, event: OrderPartiallyFilled | OrderFilled) -> None:
        sign = 1.0 if event.side is OrderSide.BUY else -1.0
        row.side = row.side or event.side.value
        row.quantity = row.quantity or event.cumulative_quantity + event.leaves_quantity
        row.filled_quantity = event.cumulative_quantity
        row.average_price = event.average_price
        row.fees += event.fee
        if isinstance(event, OrderFilled) and row.decision == "APPROVED":
            self.filled_orders += 1  # orders that went through risk (not the closing ones)
        self.fills.append(
            Fill(
                instrument_id=event.instrument_id,
                event_time=event.event_time,
                quantity=sign * event.last_quantity,
                price=event.last_price,
                fee=event.fee,
                client_order_id=event.client_order_id,
                fill_id=event.fill_id,
                liquidity=event.liquidity.value,
                side=event.side.value,
            )
        )


def iso(nanos: int | None) -> str:
    """A timestamp column: RFC 3339 UTC with nanoseconds (empty for none)."""
    return "" if nanos is None else format_utc_nanos(nanos)
