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
"""

from __future__ import annotations

from dataclasses import dataclass

from jules_contracts.enums import LiquiditySide, OrderSide, OrderType, TimeInForce

from jules_order_router.engine.config import FeeSchedule, RouterConfig
from jules_order_router.engine.liquidity import Execution, MarketEvent, MarketView, view_for
from jules_order_router.engine.orders import WorkingOrder
from jules_order_router.engine.reasons import CancelReason

__all__ = ["Match", "SimulatedVenue", "fill_fee"]

_TAKING_TYPES = (OrderType.MARKET, OrderType.STOP)
_IMMEDIATE = (TimeInForce.IOC, TimeInForce.FOK)


@dataclass(frozen=True)
class Match:
    """The outcome of matching one order against one event.

    Attributes:
        execution: The fill, if any (its liquidity is already consumed).
        cancel: Cancel whatever the order still has working after the fill, and why.
    """

    execution: Execution | None = None
    cancel: CancelReason | None = None


def fill_fee(
    schedule: FeeSchedule, order: WorkingOrder, notional: float, liquidity: LiquiditySide
) -> tuple[float, float]:
    """The fee of a fill, honouring the order's minimum fee.

    The order's fills together are charged ``max(sum of bps fees, min_fee)``, or the plain
    sum when it is negative (rebates pay no minimum); each fill pays the difference to what
    the order was charged before.

    Args:
        schedule: The fee schedule.
        order: The order, before this fill is booked.
        notional: The fill's quantity times price.
        liquidity: Whether the fill added (maker) or took (taker) liquidity.

    Returns:
        The fee to charge for this fill and its bps fee before the minimum.
    """
    bps = schedule.maker_bps if liquidity is LiquiditySide.MAKER else schedule.taker_bps
    raw = notional * bps / 10_000
    total = order.bps_fees + raw
    charged_total = total if total < 0 else max(total, schedule.min_fee)
    return charged_total - order.fees_charged, raw


class SimulatedVenue:
    """Matches orders against market events with the configured fill model.

    Args:
        config: The router's configuration (fill model and participation cap).
    """

    def __init__(self, config: RouterConfig) -> None:
        self._model = config.fill_model
        self._participation = config.max_participation

    def view(self, event: MarketEvent) -> MarketView | None:
        """The liquidity ``event`` offers, or ``None`` if the fill model does not fill on it.

        One view serves every order matched against the event, so they share its liquidity.
        """
        return view_for(self._model, event, self._participation)

    def match(self, order: WorkingOrder, view: MarketView, position: float) -> Match:
        """Match an eligible working order against one event.

        Updates the order's ``triggered`` and ``resting`` flags and consumes the liquidity the
        execution uses; the caller books the fill.

        Args:
            order: A working order that is eligible for the event.
            view: The event's liquidity.
            position: The account's signed position in the order's instrument.
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
