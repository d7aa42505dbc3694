"""Sizing at the fill price: orders with ``size_at_fill`` get their quantity when they fill.

Risk sizes such an order at the decision (an estimate its limits check); the router sizes it
again on the first market event it would fill on, at the price it would fill at there with
its approved quantity (a bar's open with ``next_bar_open``), as backtesting.py and Lean size
relative orders:

* equity is the account marked with the instrument at that price (its multiplier counted);
  an order that reverses the position first pays the fee of closing it (backtesting.py
  closes the position, then sizes the new one on what is left);
* the position wanted is ``fraction * equity / (price * multiplier * (1 + fee) + per
  contract fee)``, rounded toward zero to the step (``SizeAtFill.step``, else the
  instrument's lot, else no rounding); ``fee`` is the fill's bps fee rate (taker for a
  market order): the ``(1 + fee)`` term is backtesting.py's, so all of equity buys the units
  and their fees;
* the order becomes the position wanted minus the position and the instrument's other
  working orders (risk's view of the net position), rounded toward zero to the step. An
  order below the instrument's minimum that does not close the position, or with nothing
  (or the other side) to trade, is canceled ``NOTHING_TO_TRADE_AT_FILL``.

The minimum fee of an order is not counted. A changed quantity is reported as
``OrderResized`` before the fill; later fills carry the new quantity's cumulative and leaves
quantities.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from jules_contracts.base import Event
from jules_contracts.enums import LiquiditySide, OrderSide
from jules_contracts.instruments import InstrumentSpec, round_to_increment
from jules_contracts.orders import OrderResized, SizeAtFill

from jules_order_router.engine.config import FeeSchedule
from jules_order_router.engine.liquidity import Execution
from jules_order_router.engine.orders import SOURCE, WorkingOrder
from jules_order_router.engine.portfolio import Portfolio

__all__ = ["FillSize", "FillSizer", "size_at_fill"]

_DUST = 1e-12
"""Relative size below which an order is float dust (nothing to trade)."""
_EPSILON = 1e-9


@dataclass(frozen=True)
class FillSize:
    """An order sized at the fill.

    Attributes:
        quantity: The order's new quantity (0: nothing to trade in its direction).
        target: The position wanted after the fill.
        equity: The equity it was sized on.
    """

    quantity: float
    target: float
    equity: float


def _toward_zero(quantity: float, step: float | None) -> float:
    if step is None:
        return quantity
    rounded = round_to_increment(abs(quantity), step)
    return math.copysign(rounded, quantity) if rounded else 0.0


def size_at_fill(
    sizing: SizeAtFill,
    side: OrderSide,
    price: float,
    *,
    equity: float,
    position: float,
    working: float,
    fee_bps: float,
    spec: InstrumentSpec | None = None,
) -> FillSize:
    """Size an order at its fill price (see the module).

    Args:
        sizing: The order's ``size_at_fill``.
        side: The order's side.
        price: The price it would fill at.
        equity: The account's equity with the instrument marked at ``price``.
        position: The account's signed position in the instrument.
        working: The net signed leaves quantity of the instrument's other working orders.
        fee_bps: The fill's fee rate in basis points.
        spec: The instrument's spec, if it has one.
    """
    multiplier = spec.multiplier if spec is not None else 1.0
    per_contract = spec.fee_per_contract if spec is not None else 0.0
    rate = fee_bps / 10_000
    if position * sizing.fraction < 0:  # a reversal closes the position first
        equity -= abs(position) * (price * multiplier * rate + per_contract)
    step = sizing.step if sizing.step is not None or spec is None else spec.lot_size
    unit_cost = price * multiplier * (1 + rate) + per_contract
    wanted = sizing.fraction * equity / unit_cost if equity > 0 and unit_cost > 0 else 0.0
    target = _toward_zero(wanted, step)
    current = position + working
    delta = _toward_zero(target - current, step)
    if abs(delta) <= _DUST * max(1.0, abs(target)):
        delta = 0.0
    closes = target == 0 or abs(current + delta) <= _DUST * max(1.0, abs(current))
    if spec is not None and not closes and abs(delta) < spec.smallest_order * (1 - _EPSILON):
        delta = 0.0
    quantity = delta if side is OrderSide.BUY else -delta
    return FillSize(max(quantity, 0.0), target, equity)


class FillSizer:
    """Sizes an engine's orders with ``size_at_fill`` at their fill price.

    Args:
        portfolio: The engine's account.
        fees: Its fee schedule.
        specs: Specs of the instruments that have one.
    """

    def __init__(
        self, portfolio: Portfolio, fees: FeeSchedule, specs: Mapping[str, InstrumentSpec]
    ) -> None:
        self._portfolio = portfolio
        self._fees = fees
        self._specs = specs

    def sizer(
        self,
        order: WorkingOrder,
        working: Iterable[WorkingOrder],
        event: Event,
        out: list[Event],
    ) -> Callable[[Execution], float] | None:
        """The ``size`` callback of ``SimulatedVenue.match`` for ``order``, if it needs one.

        Args:
            order: The order being matched.
            working: The working orders of its instrument (``order`` among them).
            event: The market event it is matched against.
            out: Where the ``OrderResized`` event goes when the quantity changes.

        Returns:
            ``None`` for an order whose quantity is final; otherwise a callback that sizes
            the order at an execution's price and returns its new quantity (0: none).
        """
        sizing = order.intent.size_at_fill
        if order.sized or sizing is None:
            return None
        others = sum(
            o.leaves_quantity if o.side is OrderSide.BUY else -o.leaves_quantity
            for o in working
            if o is not order
        )

        def size(execution: Execution) -> float:
            instrument, price = order.instrument_id, execution.price
            maker = execution.liquidity is LiquiditySide.MAKER
            sized = size_at_fill(
                sizing,
                order.side,
                price,
                equity=self._portfolio.equity_at(instrument, price),
                position=self._portfolio.quantity(instrument),
                working=others,
                fee_bps=self._fees.maker_bps if maker else self._fees.taker_bps,
                spec=self._specs.get(instrument),
            )
            previous = order.quantity
            order.resize(sized.quantity or previous)
            if sized.quantity and sized.quantity != previous:
                out.append(_resized(order, event, previous, price, sized.equity))
            return sized.quantity

        return size


def _resized(
    order: WorkingOrder, event: Event, previous: float, price: float, equity: float
) -> OrderResized:
    return OrderResized.derive(
        order.accepted_event,
        key="resize",
        source=SOURCE,
        event_time=event.event_time,
        client_order_id=order.client_order_id,
        instrument_id=order.instrument_id,
        venue_order_id=order.venue_order_id,
        quantity=order.quantity,
        previous_quantity=previous,
        price=price,
        equity=equity,
    )
