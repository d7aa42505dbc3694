"""Property tests: limits hold for any order flow, and decisions are deterministic."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jules_contracts import OrderApproved, OrderDenied, OrderSide, RiskReason, encode_event

from .helpers import BTC, SECOND, T0, bar, decide, intent, make_engine, signal, snapshot

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

IMPORTANCE = [
    RiskReason.KILL_SWITCH_HALTED,
    RiskReason.KILL_SWITCH_REDUCING,
    RiskReason.DAILY_LOSS_LIMIT,
    RiskReason.DRAWDOWN_LIMIT,
    RiskReason.INSTRUMENT_NOT_ALLOWED,
    RiskReason.DUPLICATE_CLIENT_ORDER_ID,
    RiskReason.INVALID_ORDER,
    RiskReason.MISSING_REFERENCE_PRICE,
    RiskReason.STALE_REFERENCE_PRICE,
    RiskReason.PRICE_COLLAR,
    RiskReason.STALE_MARKET_DATA,
    RiskReason.ORDER_QUANTITY_LIMIT,
    RiskReason.ORDER_NOTIONAL_LIMIT,
    RiskReason.POSITION_LIMIT,
    RiskReason.GROSS_EXPOSURE_LIMIT,
    RiskReason.OPEN_ORDERS_LIMIT,
    RiskReason.THROTTLED,
    RiskReason.VAR_LIMIT,
    RiskReason.ES_LIMIT,
]

orders = st.lists(
    st.tuples(
        st.sampled_from([OrderSide.BUY, OrderSide.SELL]),
        st.floats(min_value=0.01, max_value=50.0),
        st.none() | st.floats(min_value=97.0, max_value=103.0),  # limit price or market
        st.integers(min_value=0, max_value=3 * SECOND),  # time step
    ),
    min_size=1,
    max_size=25,
)


@PROPERTY_SETTINGS
@given(
    flow=orders,
    max_quantity=st.floats(min_value=0.5, max_value=40.0),
    max_notional=st.floats(min_value=100.0, max_value=4_000.0),
    max_position=st.floats(min_value=1.0, max_value=100.0),
)
def test_approved_orders_never_break_order_size_or_position_limits(
    flow, max_quantity, max_notional, max_position
):
    engine = make_engine(
        max_order_quantity=max_quantity,
        max_order_notional=max_notional,
        max_position_quantity=max_position,
        max_orders_per_window=5,
        price_collar_bps=200.0,
    )
    engine.on_market(bar(T0, 100.0))
    t = T0
    for i, (side, quantity, limit_price, step) in enumerate(flow):
        t += step
        if step:
            engine.on_market(bar(t, 100.0))
        order = intent(t, side, quantity, limit_price=limit_price, client_order_id=f"o{i}")
        decision = decide(engine, order, snapshot(T0))
        price = limit_price if limit_price is not None else 100.0
        if isinstance(decision, OrderApproved):
            assert decision.quantity == order.quantity  # never resized
            assert order.quantity <= max_quantity * (1 + 1e-9)
            assert order.quantity * price <= max_notional * (1 + 1e-9)
            assert engine.book.exposure(BTC) <= max_position * (1 + 1e-9)
        else:
            assert isinstance(decision, OrderDenied)
            ranks = [IMPORTANCE.index(reason) for reason in decision.reasons]
            assert ranks == sorted(set(ranks))  # unique, most important first


@PROPERTY_SETTINGS
@given(
    steps=st.lists(
        st.tuples(
            st.floats(min_value=50.0, max_value=150.0),  # close
            st.floats(min_value=-1.0, max_value=1.0),  # target weight
            st.floats(min_value=1_000.0, max_value=1e6),  # equity
        ),
        min_size=1,
        max_size=12,
    ),
    max_notional=st.none() | st.floats(min_value=1_000.0, max_value=1e6),
)
def test_same_inputs_always_give_the_same_decisions(steps, max_notional):
    def run() -> list[bytes]:
        engine = make_engine(max_order_notional=max_notional, max_gross_exposure=5e5)
        out = []
        for i, (close, weight, equity) in enumerate(steps):
            t = T0 + i * SECOND
            out += engine.on_market(bar(t, close))
            out += engine.on_signal(signal(t, weight, price=close), snapshot(t, equity))
        return [encode_event(event) for event in out]

    assert run() == run()
