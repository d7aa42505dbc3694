"""Builders of events and engines shared by the risk engine tests."""

from __future__ import annotations

from typing import Any, Literal

from jules_contracts import (
    Bar,
    EngageKillSwitch,
    KillSwitchState,
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderSide,
    OrderType,
    PortfolioSnapshot,
    Position,
    Quote,
    ReleaseKillSwitch,
    SignalGenerated,
    SubmitOrder,
    Trade,
    derive_event_id,
    direction_of,
    parse_utc_nanos,
)
from jules_risk.engine import RiskConfig, RiskEngine, RiskLimits, SizingConfig, StopsConfig

BTC = "BTCUSDT.BINANCE"
ETH = "ETHUSDT.BINANCE"
ACCOUNT = "acct-1"
STRATEGY = "strat-1"
SECOND = 1_000_000_000
MINUTE = 60 * SECOND
T0 = parse_utc_nanos("2024-08-08T10:00:00Z")


def make_engine(
    *,
    sizing: SizingConfig | None = None,
    stops: StopsConfig | None = None,
    atr_period: int = 14,
    **limits: Any,
) -> RiskEngine:
    """An engine for ``ACCOUNT`` with the given limits (other limits at their defaults)."""
    return RiskEngine(
        RiskConfig(
            account_id=ACCOUNT,
            limits=RiskLimits(**limits),
            sizing=sizing or SizingConfig(),
            stops=stops or StopsConfig(),
            atr_period=atr_period,
        )
    )


def bar(
    t: int,
    close: float,
    *,
    instrument: str = BTC,
    high: float | None = None,
    low: float | None = None,
    open_: float | None = None,
    volume: float = 1.0,
) -> Bar:
    """A one-minute bar closing at ``t``."""
    open_ = close if open_ is None else open_
    return Bar(
        event_id=derive_event_id("test-bar", instrument, t),
        source="test",
        event_time=t,
        instrument_id=instrument,
        interval="1m",
        start_time=t - MINUTE,
        open=open_,
        high=max(open_, close) if high is None else high,
        low=min(open_, close) if low is None else low,
        close=close,
        volume=volume,
    )


def quote(t: int, bid: float, ask: float, *, instrument: str = BTC) -> Quote:
    """A best bid and offer at ``t``."""
    return Quote(
        event_id=derive_event_id("test-quote", instrument, t),
        source="test",
        event_time=t,
        instrument_id=instrument,
        bid_price=bid,
        ask_price=ask,
    )


def trade(t: int, price: float, *, instrument: str = BTC) -> Trade:
    """A trade print at ``t``."""
    return Trade(
        event_id=derive_event_id("test-trade", instrument, t),
        source="test",
        event_time=t,
        instrument_id=instrument,
        price=price,
        size=1.0,
    )


def snapshot(
    t: int,
    equity: float = 100_000.0,
    positions: dict[str, float] | None = None,
    *,
    average_prices: dict[str, float] | None = None,
    account: str = ACCOUNT,
) -> PortfolioSnapshot:
    """A portfolio snapshot at ``t`` with the given positions."""
    average_prices = average_prices or {}
    return PortfolioSnapshot(
        event_id=derive_event_id("test-snapshot", t, repr(equity), str(positions)),
        source="test",
        event_time=t,
        account_id=account,
        cash=equity,
        equity=equity,
        positions=tuple(
            Position(
                instrument_id=instrument,
                quantity=quantity,
                average_price=average_prices.get(instrument, 0.0),
            )
            for instrument, quantity in sorted((positions or {}).items())
        ),
    )


def signal(
    t: int,
    weight: float,
    *,
    instrument: str = BTC,
    price: float | None = 100.0,
    strategy: str = STRATEGY,
    key: int | str = 0,
) -> SignalGenerated:
    """A signal at ``t`` asking for ``weight`` of equity."""
    return SignalGenerated(
        event_id=derive_event_id("test-signal", instrument, t, key),
        source="test",
        event_time=t,
        instrument_id=instrument,
        strategy_id=strategy,
        direction=direction_of(weight),
        target_weight=weight,
        reference_price=price,
    )


def intent(
    t: int,
    side: OrderSide,
    quantity: float,
    *,
    instrument: str = BTC,
    reference_price: float | None = None,
    limit_price: float | None = None,
    reduce_only: bool = False,
    client_order_id: str | None = None,
    account: str = ACCOUNT,
) -> SubmitOrder:
    """An operator's order intent at ``t`` (a limit order when ``limit_price`` is given)."""
    coid = client_order_id or f"op-{instrument.split('.')[0]}-{t}-{side.value}-{quantity}"
    return SubmitOrder(
        event_id=derive_event_id("test-intent", coid),
        source="test",
        event_time=t,
        client_order_id=coid,
        account_id=account,
        instrument_id=instrument,
        side=side,
        quantity=quantity,
        order_type=OrderType.LIMIT if limit_price is not None else OrderType.MARKET,
        limit_price=limit_price,
        reduce_only=reduce_only,
        strategy_id="operator",
        reference_price=reference_price,
    )


def decide(
    engine: RiskEngine, order: SubmitOrder, portfolio: PortfolioSnapshot | None = None
) -> OrderApproved | OrderDenied:
    """Run ``on_intent`` and return the decision (the last event).

    Without ``portfolio``, a flat snapshot of 100,000 equity at the order's time is passed.
    """
    events = engine.on_intent(order, portfolio or snapshot(order.event_time))
    decision = events[-1]
    assert isinstance(decision, OrderApproved | OrderDenied)
    return decision


def accepted(order: SubmitOrder, t: int) -> OrderAccepted:
    """The venue accepted ``order`` at ``t``."""
    return OrderAccepted(
        event_id=derive_event_id("test-accepted", order.client_order_id),
        source="test",
        event_time=t,
        client_order_id=order.client_order_id,
        instrument_id=order.instrument_id,
    )


def filled(
    order: SubmitOrder,
    t: int,
    price: float,
    *,
    quantity: float | None = None,
    cumulative: float | None = None,
    fill_id: str = "f1",
) -> OrderFilled | OrderPartiallyFilled:
    """A fill of ``quantity`` (all of the order by default) at ``t``."""
    quantity = order.quantity if quantity is None else quantity
    cumulative = quantity if cumulative is None else cumulative
    leaves = order.quantity - cumulative
    cls = OrderFilled if leaves == 0 else OrderPartiallyFilled
    return cls(
        event_id=derive_event_id("test-fill", order.client_order_id, fill_id),
        source="test",
        event_time=t,
        client_order_id=order.client_order_id,
        instrument_id=order.instrument_id,
        side=order.side,
        fill_id=fill_id,
        last_quantity=quantity,
        last_price=price,
        cumulative_quantity=cumulative,
        leaves_quantity=leaves,
        average_price=price,
    )


def canceled(order: SubmitOrder, t: int) -> OrderCanceled:
    """The order was canceled at ``t``."""
    return OrderCanceled(
        event_id=derive_event_id("test-canceled", order.client_order_id),
        source="test",
        event_time=t,
        client_order_id=order.client_order_id,
        instrument_id=order.instrument_id,
    )


def engage(
    t: int,
    state: Literal[KillSwitchState.REDUCING, KillSwitchState.HALTED] = KillSwitchState.HALTED,
    *,
    target: str = "risk",
    instrument: str | None = None,
) -> EngageKillSwitch:
    """A risk officer's kill switch at ``t``: ``state`` for the book or one instrument."""
    return EngageKillSwitch(
        event_id=derive_event_id("test-engage", t, state.value, target, str(instrument)),
        source="test",
        event_time=t,
        target=target,
        state=state,
        reason="test",
        operator="risk-officer",
        instrument_id=instrument,
    )


def release(t: int, instrument: str | None = None) -> ReleaseKillSwitch:
    """A risk officer's release of the kill switch at ``t`` (the book or one instrument)."""
    return ReleaseKillSwitch(
        event_id=derive_event_id("test-release", t, str(instrument)),
        source="test",
        event_time=t,
        reason="resolved",
        operator="risk-officer",
        instrument_id=instrument,
    )
