"""Pre-trade checks: every control an order intent must pass, in order of importance.

``run_checks`` returns every failing control, most important first (the order of
``CHECKS``). A value equal to its limit passes (to a relative tolerance of 1e-9, so a limit
hit exactly is not refused for a rounding error). Orders that reduce risk — on the opposite
side of the net position (position plus working orders) and no larger than it — pass the
kill switch in ``REDUCING``, the loss halts and the stale-data guard; the position, gross
exposure, VaR and ES limits bind only on orders that raise what they limit, so a position
above a lowered limit can always be cut.

For an instrument with a spec (``InstrumentSpec``), notional is ``quantity * price *
multiplier``, and an order off its lot or below its ``min_quantity`` is ``INVALID_ORDER``,
unless it closes the whole net position (what is held can always be closed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jules_contracts.enums import KillSwitchState, OrderType, RiskReason
from jules_contracts.instruments import InstrumentSpec
from jules_contracts.orders import SubmitOrder

from jules_risk.engine.book import signed
from jules_risk.engine.config import RiskLimits
from jules_risk.engine.market import ReferencePrice
from jules_risk.engine.tail import TailRisk

__all__ = ["CHECKS", "OrderContext", "Violation", "run_checks"]

_TOLERANCE = 1e-9


def _exceeds(value: float, limit: float) -> bool:
    return value > limit * (1 + _TOLERANCE)


@dataclass(frozen=True, slots=True)
class Violation:
    """A failed control: its reason code and a sentence naming the limit and the value."""

    reason: RiskReason
    message: str


@dataclass(frozen=True, slots=True)
class OrderContext:
    """Everything the checks read about one order, gathered by the engine.

    Attributes:
        order: The intent.
        now: Event time of the decision.
        limits: The limits in force.
        account_id: The engine's account.
        kill_state: Kill-switch state for the order's instrument.
        loss_halts: Loss halts in force.
        duplicate: Whether the client order id was seen before.
        position: Current signed position of the instrument.
        working_net: Net signed remaining quantity of its working orders.
        reference: The engine's reference price, if any.
        last_market_time: Time of the instrument's last market event, if any.
        crossed: Whether its last quote was crossed.
        exposure_before: Worst-side absolute position with working orders.
        exposure_after: The same with this order.
        gross_before: Gross notional exposure with working orders.
        gross_after: The same with this order.
        open_orders: Working orders now.
        recent_orders: Orders approved within the throttle window.
        tail: VaR and ES before and after the order, when a budget is set.
        spec: The instrument's spec, if the instrument table has one.
    """

    order: SubmitOrder
    now: int
    limits: RiskLimits
    account_id: str
    kill_state: KillSwitchState
    loss_halts: tuple[tuple[RiskReason, str], ...]
    duplicate: bool
    position: float
    working_net: float
    reference: ReferencePrice | None
    last_market_time: int | None
    crossed: bool
    exposure_before: float
    exposure_after: float
    gross_before: float
    gross_after: float
    open_orders: int
    recent_orders: int
    tail: TailRisk | None
    spec: InstrumentSpec | None = None

    @property
    def signed_quantity(self) -> float:
        """The order's quantity, negative for a sell."""
        return signed(self.order.side, self.order.quantity)

    @property
    def reducing(self) -> bool:
        """Whether the order moves the net position toward zero without crossing it."""
        net = self.position + self.working_net
        quantity = self.signed_quantity
        return net * quantity < 0 and abs(quantity) <= abs(net) * (1 + _TOLERANCE)

    @property
    def closing(self) -> bool:
        """Whether the order takes the net position exactly to zero."""
        net = self.position + self.working_net
        return self.reducing and abs(abs(self.signed_quantity) - abs(net)) <= _TOLERANCE * abs(net)

    def notional(self, quantity: float, price: float) -> float:
        """``quantity * price``, times the instrument's multiplier when it has a spec."""
        return quantity * price if self.spec is None else self.spec.notional(quantity, price)

    @property
    def mark_price(self) -> float | None:
        """Price for notional limits: the reference price, else the intent's."""
        if self.reference is not None:
            return self.reference.price
        return self.order.reference_price

    @property
    def order_price(self) -> float | None:
        """Price the order may trade at: its limit price, else the mark price."""
        if self.order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            return self.order.limit_price
        return self.mark_price


Check = Callable[[OrderContext], list[Violation]]


def _kill_switch(ctx: OrderContext) -> list[Violation]:
    if ctx.kill_state is KillSwitchState.HALTED:
        return [Violation(RiskReason.KILL_SWITCH_HALTED, "kill switch HALTED: no orders")]
    if ctx.kill_state is KillSwitchState.REDUCING and not ctx.reducing:
        return [
            Violation(
                RiskReason.KILL_SWITCH_REDUCING,
                f"kill switch REDUCING: only risk-reducing orders (net position "
                f"{ctx.position + ctx.working_net:g}, order {ctx.signed_quantity:g})",
            )
        ]
    return []


def _loss_halts(ctx: OrderContext) -> list[Violation]:
    if ctx.reducing:
        return []
    return [
        Violation(reason, f"{text}: only risk-reducing orders") for reason, text in ctx.loss_halts
    ]


def _instrument(ctx: OrderContext) -> list[Violation]:
    allowed = ctx.limits.allowed_instruments
    if allowed is not None and ctx.order.instrument_id not in allowed:
        return [
            Violation(
                RiskReason.INSTRUMENT_NOT_ALLOWED,
                f"instrument {ctx.order.instrument_id} is not in limits.allowed_instruments",
            )
        ]
    return []


def _duplicate(ctx: OrderContext) -> list[Violation]:
    if ctx.duplicate:
        return [
            Violation(
                RiskReason.DUPLICATE_CLIENT_ORDER_ID,
                f"client_order_id {ctx.order.client_order_id} was used before",
            )
        ]
    return []


def _invalid(ctx: OrderContext) -> list[Violation]:
    problems = []
    if ctx.order.account_id != ctx.account_id:
        problems.append(f"account_id {ctx.order.account_id} is not this engine's {ctx.account_id}")
    if ctx.order.reduce_only and not ctx.reducing:
        problems.append(
            f"reduce_only order {ctx.signed_quantity:g} does not reduce the net position "
            f"{ctx.position + ctx.working_net:g}"
        )
    spec = ctx.spec
    if spec is not None and not ctx.closing:
        quantity = ctx.order.quantity
        if not spec.on_lot(quantity):
            problems.append(
                f"quantity {quantity:.12g} is not a multiple of the lot size {spec.lot_size:g} "
                f"of {spec.instrument_id}"
            )
        if quantity < spec.smallest_order * (1 - _TOLERANCE):
            problems.append(
                f"quantity {quantity:.12g} is below the minimum {spec.smallest_order:g} "
                f"of {spec.instrument_id}"
            )
    return [Violation(RiskReason.INVALID_ORDER, "; ".join(problems))] if problems else []


def _reference(ctx: OrderContext) -> list[Violation]:
    reference = ctx.reference
    if reference is None:
        return [
            Violation(
                RiskReason.MISSING_REFERENCE_PRICE,
                f"no reference price for {ctx.order.instrument_id}: no market data seen",
            )
        ]
    max_age = ctx.limits.reference_max_age_ns
    age = ctx.now - reference.time
    if max_age is not None and age > max_age:
        return [
            Violation(
                RiskReason.STALE_REFERENCE_PRICE,
                f"reference price age {age} ns exceeds limits.reference_max_age_ns {max_age}",
            )
        ]
    return []


def _collar(ctx: OrderContext) -> list[Violation]:
    collar = ctx.limits.price_collar_bps
    if collar is None or ctx.reference is None:
        return []
    if ctx.order.limit_price is not None:
        price, label = ctx.order.limit_price, "limit price"
    elif ctx.order.reference_price is not None:
        price, label = ctx.order.reference_price, "intent reference price"
    else:
        return []
    deviation = abs(price - ctx.reference.price) / ctx.reference.price * 10_000
    if _exceeds(deviation, collar):
        return [
            Violation(
                RiskReason.PRICE_COLLAR,
                f"{label} {price:g} is {deviation:.4g} bps from the reference "
                f"{ctx.reference.price:g}, beyond limits.price_collar_bps {collar:g}",
            )
        ]
    return []


def _stale_market(ctx: OrderContext) -> list[Violation]:
    max_age = ctx.limits.stale_market_data_max_age_ns
    if ctx.reducing or ctx.last_market_time is None:
        return []
    if ctx.crossed:
        return [
            Violation(
                RiskReason.STALE_MARKET_DATA, f"last quote of {ctx.order.instrument_id} is crossed"
            )
        ]
    age = ctx.now - ctx.last_market_time
    if max_age is not None and age > max_age:
        return [
            Violation(
                RiskReason.STALE_MARKET_DATA,
                f"last market data {age} ns old exceeds limits.stale_market_data_max_age_ns "
                f"{max_age}",
            )
        ]
    return []


def _order_size(ctx: OrderContext) -> list[Violation]:
    violations = []
    quantity = ctx.order.quantity
    max_quantity = ctx.limits.max_order_quantity
    if max_quantity is not None and _exceeds(quantity, max_quantity):
        violations.append(
            Violation(
                RiskReason.ORDER_QUANTITY_LIMIT,
                f"order quantity {quantity:g} exceeds limits.max_order_quantity {max_quantity:g}",
            )
        )
    max_notional = ctx.limits.max_order_notional
    price = ctx.order_price
    if max_notional is not None and price is not None:
        notional = ctx.notional(quantity, price)
        if _exceeds(notional, max_notional):
            violations.append(
                Violation(
                    RiskReason.ORDER_NOTIONAL_LIMIT,
                    f"order notional {notional:.2f} exceeds limits.max_order_notional "
                    f"{max_notional:.2f}",
                )
            )
    return violations


def _position(ctx: OrderContext) -> list[Violation]:
    if not ctx.exposure_after > ctx.exposure_before:
        return []
    problems = []
    max_quantity = ctx.limits.max_position_quantity
    if max_quantity is not None and _exceeds(ctx.exposure_after, max_quantity):
        problems.append(
            f"position with working orders {ctx.exposure_after:g} would exceed "
            f"limits.max_position_quantity {max_quantity:g}"
        )
    max_notional = ctx.limits.max_position_notional
    price = ctx.mark_price
    if max_notional is not None and price is not None:
        notional = ctx.notional(ctx.exposure_after, price)
        if _exceeds(notional, max_notional):
            problems.append(
                f"position notional with working orders {notional:.2f} would exceed "
                f"limits.max_position_notional {max_notional:.2f}"
            )
    return [Violation(RiskReason.POSITION_LIMIT, "; ".join(problems))] if problems else []


def _gross(ctx: OrderContext) -> list[Violation]:
    limit = ctx.limits.max_gross_exposure
    if limit is None or not ctx.gross_after > ctx.gross_before:
        return []
    if _exceeds(ctx.gross_after, limit):
        return [
            Violation(
                RiskReason.GROSS_EXPOSURE_LIMIT,
                f"gross exposure with working orders {ctx.gross_after:.2f} would exceed "
                f"limits.max_gross_exposure {limit:.2f}",
            )
        ]
    return []


def _open_orders(ctx: OrderContext) -> list[Violation]:
    limit = ctx.limits.max_open_orders
    if limit is not None and ctx.open_orders + 1 > limit:
        return [
            Violation(
                RiskReason.OPEN_ORDERS_LIMIT,
                f"{ctx.open_orders} working orders: one more exceeds limits.max_open_orders "
                f"{limit}",
            )
        ]
    return []


def _throttle(ctx: OrderContext) -> list[Violation]:
    limit = ctx.limits.max_orders_per_window
    if limit is not None and ctx.recent_orders + 1 > limit:
        return [
            Violation(
                RiskReason.THROTTLED,
                f"{ctx.recent_orders} orders in the last limits.throttle_window_ns "
                f"{ctx.limits.throttle_window_ns} ns: one more exceeds "
                f"limits.max_orders_per_window {limit}",
            )
        ]
    return []


def _tail_budget(
    ctx: OrderContext, reason: RiskReason, budget: float | None, name: str
) -> list[Violation]:
    tail = ctx.tail
    if budget is None or tail is None or ctx.reducing:
        return []
    if tail.observations < ctx.limits.min_risk_observations:
        return [
            Violation(
                reason,
                f"{tail.observations} common return observations, fewer than "
                f"limits.min_risk_observations {ctx.limits.min_risk_observations}: "
                f"{name} cannot be checked",
            )
        ]
    before, after = (
        (tail.var_before, tail.var_after)
        if reason is RiskReason.VAR_LIMIT
        else (tail.es_before, tail.es_after)
    )
    if after > before and _exceeds(after, budget):
        return [
            Violation(
                reason,
                f"post-trade {name} {after:.2f} would exceed limits.{name}_budget {budget:.2f} "
                f"(now {before:.2f})",
            )
        ]
    return []


def _var(ctx: OrderContext) -> list[Violation]:
    return _tail_budget(ctx, RiskReason.VAR_LIMIT, ctx.limits.var_budget, "var")


def _es(ctx: OrderContext) -> list[Violation]:
    return _tail_budget(ctx, RiskReason.ES_LIMIT, ctx.limits.es_budget, "es")


CHECKS: tuple[Check, ...] = (
    _kill_switch,
    _loss_halts,
    _instrument,
    _duplicate,
    _invalid,
    _reference,
    _collar,
    _stale_market,
    _order_size,
    _position,
    _gross,
    _open_orders,
    _throttle,
    _var,
    _es,
)
"""The controls, most important first."""


def run_checks(ctx: OrderContext) -> list[Violation]:
    """Every failing control for the order, most important first."""
    return [violation for check in CHECKS for violation in check(ctx)]
