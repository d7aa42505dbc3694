"""The order-router engine: orders in, fills and portfolio snapshots out.

It accepts approved orders, fills them at the simulated venue, books the fills into the
portfolio and reports order events and portfolio snapshots.

Pure and deterministic: the same decisions, cancels and market events in the same order give
byte-identical events (every output is ``Event.derive``-d from its cause). Time is event time.

Ids and causes of the events it emits (``derive(cause, key=...)``):

* ``OrderAccepted`` / ``OrderRejected``: the decision, key ``""``.
* ``OrderResized`` (an order sized at its fill price, ``jules_order_router.engine.resize``):
  the order's ``OrderAccepted``, key ``resize``; ``event_time`` is the market event's.
* ``OrderPartiallyFilled`` / ``OrderFilled``: the order's ``OrderAccepted``, key ``fill-<n>``
  (n = 1, 2, ... per order); ``event_time`` is the market event's.
* ``OrderExpired`` and the router's own ``OrderCanceled`` (IOC, FOK, reduce-only, nothing to
  trade at the fill): the order's
  ``OrderAccepted``, key = the client order id.
* ``OrderCanceled`` by request: the ``CancelOrder``, key = the client order id.
* ``close_all``: cancels derive from the bar, key = the client order id; each closing order's
  ``OrderAccepted`` from an internal ``SubmitOrder`` derived from the bar (key = instrument id).
* ``PortfolioSnapshot``: the given cause, key ``<account_id>@<event_time>``.

Fill ids are ``<client order id>-<n>``; venue order ids ``SIM-<n>`` (n counts the
orders the router has seen).

Idempotence: a decision or cancel processed again (same ``event_id``) returns the events it
produced the first time, unchanged, and changes nothing, so an at-least-once consumer can
republish them; a second approval with an already used client order id is rejected with
``DUPLICATE_CLIENT_ORDER_ID`` (the first order is unaffected). A market event processed again
while it is still the latest of its instrument returns its first events; an older market event
is never matched against an order that already saw a later one.

Expiry: ``DAY`` orders expire at the end of the UTC day of their acceptance, ``GTD`` orders at
their ``expire_time``. An order expires at the first market event of its instrument observed at
or after that time (a bar's ``start_time``, another event's ``event_time``), before that event
fills anything, and is not filled by it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from jules_contracts.base import Event
from jules_contracts.enums import LiquiditySide, OrderSide, TimeInForce
from jules_contracts.ids import client_order_id
from jules_contracts.instruments import InstrumentTable
from jules_contracts.market_data import Bar, Quote, Trade
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
    SubmitOrder,
)
from jules_contracts.portfolio import PortfolioSnapshot, Position

from jules_order_router.engine.config import RouterConfig
from jules_order_router.engine.fills import SimulatedVenue, below_one_tick, fill_fee, on_tick
from jules_order_router.engine.liquidity import (
    Execution,
    MarketEvent,
    mark_price,
    observed_time,
)
from jules_order_router.engine.orders import SOURCE, OrderEventKind, OrderSnapshot, WorkingOrder
from jules_order_router.engine.portfolio import Portfolio
from jules_order_router.engine.reasons import CancelReason, RejectReason
from jules_order_router.engine.resize import FillSizer

__all__ = ["SOURCE", "OrderRouterEngine"]

CLOSE_ALL_STRATEGY = "close-all"
"""Strategy id (and client order id seed) of the orders ``close_all`` creates."""

_Handler = Callable[[], list[Event]]

_CANCEL_DETAILS = {
    CancelReason.IOC_REMAINDER: "the rest of an immediate-or-cancel order could not fill",
    CancelReason.FOK_NOT_FILLED: "a fill-or-kill order could not fill completely",
    CancelReason.REDUCE_ONLY: "a reduce-only order has no position left to reduce",
    CancelReason.NOTHING_TO_TRADE_AT_FILL: (
        "sized at the fill price, the order has nothing left to trade in its direction"
    ),
}


class OrderRouterEngine:
    """Routes approved orders to a simulated venue and keeps the account.

    Args:
        config: The account, fill model, fees, latency and participation cap.
        instruments: Specs of the instruments that have one: tick and lot grids, contract
            multiplier and fee per contract (``jules_order_router.engine.fills``); the others
            trade with multiplier 1, no rounding and no per-contract fee.
    """

    def __init__(self, config: RouterConfig, instruments: InstrumentTable | None = None) -> None:
        self._config = config
        self._specs = dict(instruments or {})
        self._venue = SimulatedVenue(config, self._specs)
        multipliers = {i: spec.multiplier for i, spec in self._specs.items()}
        self._portfolio = Portfolio(
            config.account_id, config.currency, config.starting_cash, multipliers
        )
        self._sizer = FillSizer(self._portfolio, config.fees, self._specs)
        self._orders: dict[str, WorkingOrder] = {}
        self._working: dict[str, dict[str, WorkingOrder]] = {}
        self._replies: dict[str, tuple[Event, ...]] = {}
        self._latest_market: dict[str, tuple[int, dict[str, tuple[Event, ...]]]] = {}
        self._order_count = 0

    # --- read-only state --------------------------------------------------------------------

    @property
    def config(self) -> RouterConfig:
        """The engine's configuration."""
        return self._config

    @property
    def cash(self) -> float:
        """Cash balance of the account."""
        return self._portfolio.cash

    @property
    def equity(self) -> float:
        """Cash plus the marked value of every position."""
        return self._portfolio.equity

    @property
    def positions(self) -> tuple[Position, ...]:
        """Every position traded so far (flat ones included), by instrument id."""
        return self._portfolio.positions

    @property
    def working_orders(self) -> tuple[OrderSnapshot, ...]:
        """Orders still working, in acceptance order."""
        working = (order for book in self._working.values() for order in book.values())
        return tuple(o.snapshot() for o in sorted(working, key=lambda o: o.sequence))

    def position(self, instrument_id: str) -> Position | None:
        """The position in one instrument, or ``None`` if it was never traded."""
        return self._portfolio.position(instrument_id)

    def order(self, client_order_id: str) -> OrderSnapshot | None:
        """Any order the router has seen (working or done), or ``None``."""
        order = self._orders.get(client_order_id)
        return order.snapshot() if order is not None else None

    # --- inputs -------------------------------------------------------------------------------

    def on_decision(self, decision: OrderApproved | OrderDenied) -> list[Event]:
        """Handle a risk decision.

        Args:
            decision: ``OrderApproved`` (the order goes to the venue) or ``OrderDenied``
                (nothing to do).

        Returns:
            ``[OrderAccepted]`` or ``[OrderRejected]`` for an approval, ``[]`` for a denial.
        """
        if isinstance(decision, OrderDenied):
            return []
        return self._once(decision, lambda: [self._accept_or_reject(decision)])

    def on_cancel(self, cmd: CancelOrder) -> list[Event]:
        """Cancel a working order at once (no latency).

        Returns:
            ``[OrderCanceled]``, or ``[]`` if no order of that client order id and instrument
            is working (unknown, or already done: its final event was already reported).
        """

        def cancel() -> list[Event]:
            order = self._working.get(cmd.instrument_id, {}).get(cmd.client_order_id)
            if order is None:
                return []
            detail = cmd.reason or "canceled on request"
            return [self._cancel(order, cmd, CancelReason.CANCELED_BY_REQUEST, detail)]

        return self._once(cmd, cancel)

    def on_market(self, event: MarketEvent) -> list[Event]:
        """Match the working orders of the event's instrument, then mark the position.

        Orders are matched in acceptance order and share the event's liquidity.

        Args:
            event: A bar, quote, book snapshot or trade.

        Returns:
            Order events, order by order in acceptance order: an expiry, or a resize (an order
            sized at the fill), a fill and/or a cancel (IOC remainder, FOK, reduce-only,
            nothing to trade at the fill).
        """
        instrument = event.instrument_id
        latest_time, latest = self._latest_market.get(instrument, (-1, {}))
        if event.event_time == latest_time and event.event_id in latest:
            return list(latest[event.event_id])
        events = self._match(event)
        price = mark_price(event)
        if price is not None:
            self._portfolio.mark(instrument, price, event.event_time)
        if event.event_time > latest_time:
            latest_time, latest = event.event_time, {}
        if event.event_time == latest_time:
            latest[event.event_id] = tuple(events)
            self._latest_market[instrument] = (latest_time, latest)
        return events

    def snapshot(self, event_time: int, cause: Event) -> PortfolioSnapshot:
        """The account at ``event_time``, derived from ``cause``.

        The id is ``derive(cause, key=f"{account_id}@{event_time}")``.
        """
        return self._portfolio.snapshot(event_time, cause)

    def close_all(
        self,
        bars: MarketEvent | Sequence[MarketEvent],
        price_field: Literal["open", "close"] = "open",
    ) -> list[Event]:
        """Flatten the account at the end of a backtest.

        Cancels every working order (``CLOSE_ALL``), then closes every open position with a
        market order filled at once at ``price_field`` of the given bar of its instrument (at
        the bid or ask of a quote or book, at a trade's price; a position without an event
        here, or with a one-sided book, closes at its last mark), paying the taker fee with no
        slippage, impact or participation cap. Each closing order reports ``OrderAccepted``
        and ``OrderFilled``; its client order id is
        ``client_order_id("close-all", event.event_id, instrument_id)``.

        Args:
            bars: The last bar (or tick) of each instrument, or one.
            price_field: Which price of a bar to close at.

        Returns:
            The cancels, then per instrument the acceptance and fill of its closing order.
        """
        given = list(bars) if isinstance(bars, Sequence) else [bars]
        if not given:
            raise ValueError("close_all needs at least one bar or tick (bars is empty)")
        by_instrument = {event.instrument_id: event for event in given}
        events: list[Event] = []
        for snapshot in self.working_orders:
            order = self._orders[snapshot.client_order_id]
            cause = by_instrument.get(order.instrument_id, given[0])
            events.append(self._cancel(order, cause, CancelReason.CLOSE_ALL, "account flattened"))
        for position in self.positions:
            if position.quantity == 0:
                continue
            last = by_instrument.get(position.instrument_id)
            price = None if last is None else _closing_price(last, position.quantity, price_field)
            if price is None:
                price = position.last_price
            assert price is not None  # a traded position always has a mark
            events.extend(self._close_position(position, last or given[0], price))
        return events

    # --- internals ----------------------------------------------------------------------------

    def _once(self, command: Event, handle: _Handler) -> list[Event]:
        cached = self._replies.get(command.event_id)
        if cached is None:
            cached = tuple(handle())
            self._replies[command.event_id] = cached
        return list(cached)

    def _rejection(self, decision: OrderApproved) -> tuple[RejectReason, str] | None:
        intent = decision.order
        known = self._orders.get(decision.client_order_id)
        if known is not None:
            return RejectReason.DUPLICATE_CLIENT_ORDER_ID, (
                f"client order id {decision.client_order_id} was already used by order "
                f"{known.venue_order_id} (status {known.status.value})"
            )
        if intent.account_id != self._config.account_id:
            return RejectReason.ACCOUNT_MISMATCH, (
                f"account_id {intent.account_id} is not this router's account "
                f"{self._config.account_id}"
            )
        listed = self._config.instruments
        if listed is not None and decision.instrument_id not in listed:
            return RejectReason.UNKNOWN_INSTRUMENT, (
                f"instrument_id {decision.instrument_id} is not listed at the venue "
                f"(instruments: {', '.join(listed)})"
            )
        if intent.expire_time is not None and intent.expire_time <= decision.event_time:
            return RejectReason.EXPIRED_ON_ARRIVAL, (
                f"expire_time {intent.expire_time} is not after the acceptance time "
                f"{decision.event_time}"
            )
        spec = self._specs.get(intent.instrument_id)
        problem = None if spec is None else below_one_tick(intent, spec)
        if problem is not None:
            return RejectReason.PRICE_BELOW_TICK, problem
        return None

    def _accept_or_reject(self, decision: OrderApproved) -> Event:
        ids = {"client_order_id": decision.client_order_id, "instrument_id": decision.instrument_id}
        rejection = self._rejection(decision)
        spec = self._specs.get(decision.instrument_id)
        intent = decision.order if spec is None else on_tick(decision.order, spec)
        order = self._new_order(intent, decision.quantity)
        if rejection is not None:
            code, message = rejection
            if code is not RejectReason.DUPLICATE_CLIENT_ORDER_ID:
                order.machine.apply(OrderEventKind.REJECT)
                self._orders[order.client_order_id] = order
            return OrderRejected.derive(
                decision, source=SOURCE, reason=f"{code.value}: {message}", **ids
            )
        accepted = OrderAccepted.derive(
            decision, source=SOURCE, venue_order_id=order.venue_order_id, **ids
        )
        self._register(order, accepted)
        return accepted

    def _new_order(self, intent: SubmitOrder, quantity: float) -> WorkingOrder:
        """A new order record; its rank gives its venue order id ``SIM-<rank>``."""
        self._order_count += 1
        return WorkingOrder(
            intent,
            quantity,
            venue_order_id=f"SIM-{self._order_count:08d}",
            sequence=self._order_count,
        )

    def _register(self, order: WorkingOrder, accepted: OrderAccepted) -> None:
        order.accept(accepted, latency_ns=self._config.latency_ns)
        self._orders[order.client_order_id] = order
        self._working.setdefault(order.instrument_id, {})[order.client_order_id] = order

    def _match(self, event: MarketEvent) -> list[Event]:
        book = self._working.get(event.instrument_id)
        if not book:
            return []
        observed = observed_time(event)
        view = self._venue.view(event)
        events: list[Event] = []
        for order in list(book.values()):
            if order.expire_time is not None and observed >= order.expire_time:
                events.append(self._expire(order, event))
                continue
            if (
                view is None
                or observed < order.eligible_time
                or event.event_time < order.last_market_time
            ):
                continue
            order.last_market_time = event.event_time
            position = self._portfolio.quantity(order.instrument_id)
            size = self._sizer.sizer(order, book.values(), event, events)
            match = self._venue.match(order, view, position, size)
            if match.execution is not None:
                events.append(self._fill(order, match.execution, event))
            if match.cancel is not None and not order.machine.is_terminal:
                detail = _CANCEL_DETAILS[match.cancel]
                events.append(self._cancel(order, order.accepted_event, match.cancel, detail))
        return events

    def _fill(self, order: WorkingOrder, execution: Execution, event: Event) -> Event:
        quantity, price = execution.quantity, execution.price
        spec = self._specs.get(order.instrument_id)
        fee, bps_fee = fill_fee(self._config.fees, order, execution, spec)
        complete = order.record_fill(quantity, price, fee, bps_fee)
        self._portfolio.apply_fill(order.instrument_id, order.side, quantity, price, fee)
        if complete:
            self._retire(order)
        kind = OrderFilled if complete else OrderPartiallyFilled
        average = order.average_price
        assert average is not None  # the order has just filled
        return kind.derive(
            order.accepted_event,
            key=f"fill-{order.fill_count}",
            source=SOURCE,
            event_time=event.event_time,
            client_order_id=order.client_order_id,
            instrument_id=order.instrument_id,
            venue_order_id=order.venue_order_id,
            side=order.side,
            fill_id=f"{order.client_order_id}-{order.fill_count}",
            last_quantity=quantity,
            last_price=price,
            cumulative_quantity=order.filled_quantity,
            leaves_quantity=order.leaves_quantity,
            average_price=average,
            fee=fee,
            fee_currency=self._config.currency,
            liquidity=execution.liquidity,
        )

    def _cancel(
        self, order: WorkingOrder, cause: Event, reason: CancelReason, detail: str
    ) -> OrderCanceled:
        order.machine.apply(OrderEventKind.CANCEL)
        self._retire(order)
        return OrderCanceled.derive(
            cause,
            key=order.client_order_id,
            source=SOURCE,
            client_order_id=order.client_order_id,
            instrument_id=order.instrument_id,
            venue_order_id=order.venue_order_id,
            filled_quantity=order.filled_quantity,
            reason=f"{reason.value}: {detail}",
        )

    def _expire(self, order: WorkingOrder, event: Event) -> OrderExpired:
        order.machine.apply(OrderEventKind.EXPIRE)
        self._retire(order)
        return OrderExpired.derive(
            order.accepted_event,
            key=order.client_order_id,
            source=SOURCE,
            event_time=event.event_time,
            client_order_id=order.client_order_id,
            instrument_id=order.instrument_id,
            venue_order_id=order.venue_order_id,
            filled_quantity=order.filled_quantity,
        )

    def _retire(self, order: WorkingOrder) -> None:
        book = self._working.get(order.instrument_id, {})
        book.pop(order.client_order_id, None)
        if not book:
            self._working.pop(order.instrument_id, None)

    def _close_position(self, position: Position, cause: Event, price: float) -> list[Event]:
        instrument = position.instrument_id
        side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
        intent = SubmitOrder.derive(
            cause,
            key=instrument,
            source=SOURCE,
            client_order_id=client_order_id(CLOSE_ALL_STRATEGY, cause.event_id, instrument),
            account_id=self._config.account_id,
            instrument_id=instrument,
            side=side,
            quantity=abs(position.quantity),
            time_in_force=TimeInForce.IOC,
            reduce_only=True,
            strategy_id=CLOSE_ALL_STRATEGY,
        )
        order = self._new_order(intent, intent.quantity)
        accepted = OrderAccepted.derive(
            intent,
            source=SOURCE,
            client_order_id=intent.client_order_id,
            instrument_id=instrument,
            venue_order_id=order.venue_order_id,
        )
        self._register(order, accepted)
        fill = self._fill(order, Execution(order.quantity, price, LiquiditySide.TAKER), cause)
        return [accepted, fill]


def _closing_price(event: MarketEvent, position: float, price_field: str) -> float | None:
    """The price a position closes at on ``event``.

    A long sells at the bid, a short buys at the ask; a bar's ``price_field``, a trade's price;
    ``None`` for a missing book side.
    """
    if isinstance(event, Bar):
        return float(getattr(event, price_field))
    if isinstance(event, Trade):
        return event.price
    if isinstance(event, Quote):
        return event.bid_price if position > 0 else event.ask_price
    levels = event.bids if position > 0 else event.asks
    return levels[0].price if levels else None
