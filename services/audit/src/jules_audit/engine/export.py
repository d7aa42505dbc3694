"""Order records in the manner of MiFID II RTS 24 (order record keeping), one row per event.

Which events: the venue-side lifecycle of every order (``OrderAccepted``, ``OrderRejected``,
``OrderResized``, ``OrderPartiallyFilled``, ``OrderFilled``, ``OrderCanceled``,
``OrderExpired``), and also the
firm-side steps before the venue: the order decision (``SubmitOrder``), the cancel request
(``CancelOrder``) and the pre-trade risk decision (``OrderApproved`` / ``OrderDenied``). The
firm-side rows are there because an algorithmic trading firm must also keep records of its
orders and of the outcome of its pre-trade controls (RTS 6), and because they give each order
its decision time and the reason codes of a denial. ``order_event`` carries an RTS 24
(Table 2, field 21) style code for the venue-side events and is empty for the firm-side ones.

Lifecycle events do not repeat the order's terms (side, type, limit price, quantity,
strategy), so the exporter remembers each order's intent by client order id, in log order,
and fills them in; the approved quantity replaces the intent's once risk approved it, and the
quantity the router sized it to at the fill (``OrderResized``, a ``REME`` row: a modification
of the order's quantity) replaces that.
Timestamps are UTC with microseconds (``2024-08-08T13:31:00.004500Z``), the nanosecond event
time truncated. Numbers are written as Python's shortest round-trip form; empty cells mean
"not applicable or not known".
"""

from __future__ import annotations

from datetime import UTC, datetime

from jules_contracts.base import Event
from jules_contracts.orders import (
    CancelOrder,
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderResized,
    SubmitOrder,
)

__all__ = ["EXPORTED_EVENT_TYPES", "EXPORT_COLUMNS", "OrderRecordExporter", "format_utc_micros"]

EXPORT_COLUMNS: tuple[str, ...] = (
    "record_seq",
    "event_id",
    "event_type",
    "order_event",
    "status",
    "event_time_utc",
    "client_order_id",
    "venue_order_id",
    "account_id",
    "instrument_id",
    "side",
    "order_type",
    "time_in_force",
    "expire_time_utc",
    "limit_price",
    "stop_price",
    "fill_price",
    "average_price",
    "order_quantity",
    "last_quantity",
    "cumulative_quantity",
    "leaves_quantity",
    "strategy_id",
    "reason_codes",
    "reason_text",
    "fill_id",
    "liquidity",
    "fee",
    "fee_currency",
    "source",
)
"""The CSV header, in order."""

# event class -> (RTS 24 style event code, status)
_KINDS: dict[type[Event], tuple[str, str]] = {
    SubmitOrder: ("", "SUBMITTED"),
    CancelOrder: ("", "CANCEL_REQUESTED"),
    OrderApproved: ("", "APPROVED"),
    OrderDenied: ("", "DENIED"),
    OrderAccepted: ("NEWO", "ACCEPTED"),
    OrderRejected: ("REMO", "REJECTED"),
    OrderResized: ("REME", "RESIZED"),
    OrderPartiallyFilled: ("PARF", "PARTIALLY_FILLED"),
    OrderFilled: ("FILL", "FILLED"),
    OrderCanceled: ("CAME", "CANCELED"),
    OrderExpired: ("EXPI", "EXPIRED"),
}

EXPORTED_EVENT_TYPES: frozenset[str] = frozenset(cls.EVENT_TYPE for cls in _KINDS)
"""``event_type`` of every event that gives a row."""

Row = dict[str, str]


def format_utc_micros(nanos: int) -> str:
    """Format UTC nanoseconds as ISO-8601 with six fractional digits and ``Z`` (truncated)."""
    seconds, frac = divmod(nanos, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{frac // 1000:06d}Z"


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


class OrderRecordExporter:
    """Turns recorded events into order rows, remembering each order's terms."""

    def __init__(self) -> None:
        self._intents: dict[str, SubmitOrder] = {}
        self._approved: dict[str, float] = {}

    def row(self, seq: int, event: Event) -> Row | None:
        """Return the row of one recorded event, or ``None`` if it is not an order event.

        Args:
            seq: The record's sequence number in the audit log.
            event: The recorded event.

        Returns:
            A mapping from every name of ``EXPORT_COLUMNS`` to its cell.
        """
        kind = _KINDS.get(type(event))
        if kind is None:
            return None
        self._remember(event)
        row = dict.fromkeys(EXPORT_COLUMNS, "")
        row.update(
            record_seq=str(seq),
            event_id=event.event_id,
            event_type=event.event_type,
            order_event=kind[0],
            status=kind[1],
            event_time_utc=format_utc_micros(event.event_time),
            source=event.source,
        )
        client_order_id: str = getattr(event, "client_order_id", "")
        row["client_order_id"] = client_order_id
        self._order_terms(row, client_order_id)
        self._event_fields(row, event)
        return row

    def _remember(self, event: Event) -> None:
        if isinstance(event, SubmitOrder):
            self._intents.setdefault(event.client_order_id, event)
        elif isinstance(event, OrderApproved | OrderDenied):
            self._intents.setdefault(event.client_order_id, event.order)
            if isinstance(event, OrderApproved):
                self._approved[event.client_order_id] = event.quantity
        elif isinstance(event, OrderResized):
            self._approved[event.client_order_id] = event.quantity

    def _order_terms(self, row: Row, client_order_id: str) -> None:
        intent = self._intents.get(client_order_id)
        if intent is None:
            return
        row.update(
            account_id=intent.account_id,
            instrument_id=intent.instrument_id,
            side=intent.side.value,
            order_type=intent.order_type.value,
            time_in_force=intent.time_in_force.value,
            expire_time_utc=(
                "" if intent.expire_time is None else format_utc_micros(intent.expire_time)
            ),
            limit_price=_number(intent.limit_price),
            stop_price=_number(intent.stop_price),
            order_quantity=_number(self._approved.get(client_order_id, intent.quantity)),
            strategy_id=intent.strategy_id,
        )

    def _event_fields(self, row: Row, event: Event) -> None:
        row["instrument_id"] = getattr(event, "instrument_id", row["instrument_id"])
        row["venue_order_id"] = getattr(event, "venue_order_id", None) or ""
        if isinstance(event, SubmitOrder | OrderApproved):
            row["order_quantity"] = _number(event.quantity)
        elif isinstance(event, OrderDenied):
            row["reason_codes"] = ";".join(reason.value for reason in event.reasons)
            row["reason_text"] = event.message
        elif isinstance(event, CancelOrder):
            row["reason_text"] = event.reason or ""
        elif isinstance(event, OrderAccepted):
            row["cumulative_quantity"] = _number(0.0)
            row["leaves_quantity"] = row["order_quantity"]
        elif isinstance(event, OrderRejected):
            row["reason_text"] = event.reason
            row["leaves_quantity"] = _number(0.0)
        elif isinstance(event, OrderResized):
            row["order_quantity"] = _number(event.quantity)
            row["cumulative_quantity"] = _number(0.0)
            row["leaves_quantity"] = _number(event.quantity)
        elif isinstance(event, OrderPartiallyFilled | OrderFilled):
            row.update(
                side=event.side.value,
                fill_id=event.fill_id,
                fill_price=_number(event.last_price),
                average_price=_number(event.average_price),
                last_quantity=_number(event.last_quantity),
                cumulative_quantity=_number(event.cumulative_quantity),
                leaves_quantity=_number(event.leaves_quantity),
                liquidity=event.liquidity.value,
                fee=_number(event.fee),
                fee_currency=event.fee_currency or "",
            )
        elif isinstance(event, OrderCanceled | OrderExpired):
            row["cumulative_quantity"] = _number(event.filled_quantity)
            row["leaves_quantity"] = _number(0.0)
            if isinstance(event, OrderCanceled):
                row["reason_text"] = event.reason or ""
