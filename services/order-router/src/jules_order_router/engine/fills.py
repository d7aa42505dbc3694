"""The simulated venue: matches working orders against market events and prices their fees.

Order-type rules (``L`` the limit price, ``S`` the stop price; the market views in
``jules_order_router.engine.liquidity`` give the prices per event type):

* **Market** orders take liquidity at the model's price on every eligible event until filled.
* **Limit** orders: on their first eligible event they are *marketable* if the model's price is
  at or better than ``L``: they fill at that price as taker. Otherwise they rest: on that same
  event (a bar covers a span of time) and on every later one they fill at ``L`` as maker when
  the market trades through it (buy: the bar's low ``≤ L``, the ask ``≤ L``; sell: the high
  ``≥ L``, the bid ``≥ L``). On bars this gives a buy limit ``min(open, L)`` on its first bar
  and ``L`` afterwards: a resting order gets no price improvement.
* **Stop** orders trigger when the market reaches ``S`` (buy: the bar's high ``≥ S``, the ask
  ``≥ S``; sell: low ``≤ S``, bid ``≤ S``) and then execute as market orders; on the trigger
  event the price is no better than ``S`` (a buy stop on a bar fills at ``max(open, S)``).
* **Stop-limit** orders trigger like stops and then are limit orders at ``L``: marketable
  within ``L`` on the trigger event (taker, no better than ``S``), resting from the next event.
* **IOC** orders fill what they can on their first event at the venue (the trigger event for
  stops) and the rest is canceled; **FOK** orders fill completely on that event or are
  canceled without a fill. **DAY** and **GTD** orders expire (see the engine).
* **Reduce-only** orders fill at most the position they reduce and are canceled when there is
  nothing left to reduce.
* An order with **size_at_fill** is sized on the first event it would fill on, at the price
  it would fill at with its approved quantity (``match``'s ``size``); it is canceled when
  nothing is left to trade in its direction.

Instruments with a spec (``InstrumentSpec``) trade on their grids: limit and stop prices are
put on the tick at acceptance (``on_tick``), in the direction that never gives the order a
better price or an earlier trigger than it asked for; a partial fill is rounded down to the
lot (a fill that completes the order is whole); each fill pays ``fee_per_contract`` per unit
of quantity besides the basis-point fee on ``quantity * price * multiplier``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from jules_contracts.enums import LiquiditySide, OrderSide, OrderType, TimeInForce
from jules_contracts.instruments import InstrumentSpec
from jules_contracts.orders import SubmitOrder

from jules_order_router.engine.config import FeeSchedule, RouterConfig
from jules_order_router.engine.liquidity import Execution, MarketEvent, MarketView, view_for
from jules_order_router.engine.orders import WorkingOrder
from jules_order_router.engine.reasons import CancelReason

__all__ = ["Match", "SimulatedVenue", "below_one_tick", "fill_fee", "on_tick"]

_TAKING_TYPES = (OrderType.MARKET, OrderType.STOP)
_IMMEDIATE = (TimeInForce.IOC, TimeInForce.FOK)
_QUANTITY_TOLERANCE = 1e-9
"""Relative shortfall below which an execution counts as whole (float dust)."""


@dataclass(frozen=True)
class Match:
    """The outcome of matching one order against one event.

    Attributes:
        execution: The fill, if any (its liquidity is already consumed).
        cancel: Cancel whatever the order still has working after the fill, and why.
    """

    execution: Execution | None = None
    cancel: CancelReason | None = None


def on_tick(intent: SubmitOrder, spec: InstrumentSpec) -> SubmitOrder:
    """The order with its limit and stop prices on the instrument's tick grid.

    A price is rounded away from a better deal for the order: a buy limit down and a sell
    limit up (never pay more, or get less, than asked); a buy stop up and a sell stop down
    (never trigger earlier than asked). A price already on the grid is kept as it is. A
    price rounded to zero stays zero (the router rejects the order).
    """
    buy = intent.side is OrderSide.BUY
    limit, stop = intent.limit_price, intent.stop_price
    if limit is not None:
        limit = spec.round_price(limit, up=not buy)
    if stop is not None:
        stop = spec.round_price(stop, up=buy)
    if (limit, stop) == (intent.limit_price, intent.stop_price):
        return intent
    return intent.model_copy(update={"limit_price": limit, "stop_price": stop})


def below_one_tick(intent: SubmitOrder, spec: InstrumentSpec) -> str | None:
    """Why the order's limit or stop price has no place on the tick grid, or ``None``.

    A price that ``on_tick`` would round to zero (a sell stop or buy limit below one tick).
    """
    rounded = on_tick(intent, spec)
    for name, price in (("limit", rounded.limit_price), ("stop", rounded.stop_price)):
        if price == 0:
            given = getattr(intent, f"{name}_price")
            return (
                f"{name} price {given:g} is below one tick ({spec.tick_size:g}) of "
                f"{spec.instrument_id}"
            )
    return None


def fill_fee(
    schedule: FeeSchedule,
    order: WorkingOrder,
    execution: Execution,
    spec: InstrumentSpec | None = None,
) -> tuple[float, float]:
    """The fee of a fill, honouring the order's minimum fee.

    A fill's fee before the minimum is the bps fee of its notional (``quantity * price``,
    times the multiplier of an instrument with a spec) plus the spec's ``fee_per_contract``
    per unit of quantity. The order's fills together are charged ``max(sum of those fees,
    min_fee)``, or the plain sum when it is negative (rebates pay no minimum); each fill pays
    the difference to what the order was charged before.

    Args:
        schedule: The fee schedule.
        order: The order, before this fill is booked.
        execution: The fill: quantity, price, and whether it added (maker) or took (taker)
            liquidity.
        spec: The instrument's spec, if it has one.

    Returns:
        The fee to charge for this fill and its fee before the minimum.
    """
    quantity, price = execution.quantity, execution.price
    maker = execution.liquidity is LiquiditySide.MAKER
    bps = schedule.maker_bps if maker else schedule.taker_bps
    if spec is None:
        raw = quantity * price * bps / 10_000
    else:
        raw = spec.notional(quantity, price) * bps / 10_000 + quantity * spec.fee_per_contract
    total = order.bps_fees + raw
    charged_total = total if total < 0 else max(total, schedule.min_fee)
    return charged_total - order.fees_charged, raw


class SimulatedVenue:
    """Matches orders against market events with the configured fill model.

    Args:
        config: The router's configuration (fill model and participation cap).
        instruments: Specs of the instruments that have one (their lots bound partial fills).
    """

    def __init__(
        self, config: RouterConfig, instruments: Mapping[str, InstrumentSpec] | None = None
    ) -> None:
        self._model = config.fill_model
        self._participation = config.max_participation
        self._specs = dict(instruments or {})

    def view(self, event: MarketEvent) -> MarketView | None:
        """The liquidity ``event`` offers, or ``None`` if the fill model does not fill on it.

        One view serves every order matched against the event, so they share its liquidity.
        """
        return view_for(self._model, event, self._participation)

    def match(
        self,
        order: WorkingOrder,
        view: MarketView,
        position: float,
        size: Callable[[Execution], float] | None = None,
    ) -> Match:
        """Match an eligible working order against one event.

        Updates the order's ``triggered`` and ``resting`` flags and consumes the liquidity the
        execution uses; the caller books the fill.

        Args:
            order: A working order that is eligible for the event.
            view: The event's liquidity.
            position: The account's signed position in the order's instrument.
            size: For an order still to be sized at the fill: called with the execution of
                its approved quantity, it resizes the order and returns its new quantity
                (0: nothing to trade, the order is canceled ``NOTHING_TO_TRADE_AT_FILL``).
        """
        intent = order.intent
        side = order.side
        quantity = order.leaves_quantity
        reducible: float | None = None
        if intent.reduce_only:
            reducible = -position if side is OrderSide.BUY else position
            if reducible <= 0:
                return Match(cancel=CancelReason.REDUCE_ONLY)
            quantity = min(quantity, reducible)
        stop: float | None = None
        if not order.triggered:
            if intent.stop_price is None or not view.triggered(side, intent.stop_price):
                return Match()
            order.triggered = True
            stop = intent.stop_price
        arriving = not order.resting
        order.resting = True
        immediate = intent.time_in_force in _IMMEDIATE
        execution = self._execute(
            order, view, quantity, stop, arriving=arriving, may_rest=not immediate
        )
        if size is not None and execution is not None:
            sized = size(execution)
            if sized <= 0:
                return Match(cancel=CancelReason.NOTHING_TO_TRADE_AT_FILL)
            quantity = sized if reducible is None else min(sized, reducible)
            execution = self._execute(
                order, view, quantity, stop, arriving=arriving, may_rest=not immediate
            )
        spec = self._specs.get(order.instrument_id)
        if execution is not None and spec is not None:
            on_lot = _on_lot(execution, spec, quantity)
            if on_lot is not None and on_lot.quantity != execution.quantity:
                # priced again for what fills: impact and a book's walk depend on the size
                on_lot = self._execute(
                    order, view, on_lot.quantity, stop, arriving=arriving, may_rest=not immediate
                )
            execution = on_lot
        filled = 0.0 if execution is None else order.snap_quantity(execution.quantity)
        complete = filled >= order.leaves_quantity
        cancel: CancelReason | None = None
        if immediate and arriving and not complete:
            if intent.time_in_force is TimeInForce.FOK:
                return Match(cancel=CancelReason.FOK_NOT_FILLED)
            cancel = CancelReason.IOC_REMAINDER
        elif reducible is not None and not complete and filled >= reducible:
            cancel = CancelReason.REDUCE_ONLY  # the position is closed: nothing left to reduce
        return self._commit(order, view, execution, cancel)

    @staticmethod
    def _execute(
        order: WorkingOrder,
        view: MarketView,
        quantity: float,
        stop: float | None,
        *,
        arriving: bool,
        may_rest: bool,
    ) -> Execution | None:
        side = order.side
        limit = order.intent.limit_price
        if order.intent.order_type in _TAKING_TYPES or limit is None:
            return view.take(side, quantity, None, stop)
        if not arriving:
            return view.rest(side, quantity, limit)
        execution = view.take(side, quantity, limit, stop)
        if execution is None and may_rest and stop is None:
            execution = view.rest(side, quantity, limit)
        return execution

    @staticmethod
    def _commit(
        order: WorkingOrder,
        view: MarketView,
        execution: Execution | None,
        cancel: CancelReason | None,
    ) -> Match:
        if execution is None:
            return Match(cancel=cancel)
        view.commit(order.side, execution.quantity)
        quantity = order.snap_quantity(execution.quantity)
        return Match(Execution(quantity, execution.price, execution.liquidity), cancel)


def _on_lot(execution: Execution, spec: InstrumentSpec, most: float) -> Execution | None:
    """An execution of less than ``most`` rounded down to the lot (``None`` under one lot).

    An execution of all of ``most`` (the order's leaves quantity, or the position a
    reduce-only order may still reduce) is kept whole.
    """
    if execution.quantity >= most * (1 - _QUANTITY_TOLERANCE):
        return execution
    quantity = spec.round_quantity(execution.quantity)
    return replace(execution, quantity=quantity) if quantity > 0 else None
