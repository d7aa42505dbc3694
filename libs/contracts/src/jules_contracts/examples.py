"""One valid, deterministic example of every v1 event, for tests, demos and documentation.

The examples tell one story: a BTCUSDT trade on Binance is aggregated into a bar, the bar
into features, the features into a long signal, the signal into a stop-limit order that risk
approves and the venue fills in two parts; beside it, EURUSD orders at OANDA are denied,
rejected, canceled, resized and expired, and operators act through the control topic. Derived
events are built with ``Event.derive``, so their ids, correlation and causation ids are what a
replay would produce. Optional fields are filled in wherever that is realistic, so encoding
round trips exercise them.

Example:
    >>> from jules_contracts.examples import example_for
    >>> from jules_contracts import Trade
    >>> example_for(Trade).instrument_id
    'BTCUSDT.BINANCE'
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import TypeVar

from jules_contracts.base import Event, derive_event_id, parse_utc_nanos
from jules_contracts.codec import EVENT_TYPES
from jules_contracts.control import ChangeConfig, EngageKillSwitch, ReleaseKillSwitch, SwapModel
from jules_contracts.dead_letter import DeadLetterRecord
from jules_contracts.enums import (
    AggressorSide,
    AlertSeverity,
    BookSide,
    DeadLetterReason,
    KillSwitchState,
    LiquiditySide,
    ModelStage,
    OrderSide,
    OrderType,
    PriceType,
    RiskReason,
    SignalDirection,
    TimeInForce,
)
from jules_contracts.features import FeatureVector
from jules_contracts.market_data import (
    Bar,
    BookChange,
    BookDelta,
    BookLevel,
    BookSnapshot,
    Quote,
    Trade,
)
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
    SizeAtFill,
    SubmitOrder,
)
from jules_contracts.portfolio import PortfolioSnapshot, Position
from jules_contracts.risk import AlertCode, RiskAlert
from jules_contracts.shifted import shifted_example
from jules_contracts.signals import SignalGenerated
from jules_contracts.system import AuditCheckpoint, Watermark

__all__ = ["example_events", "example_for", "shifted_example"]

E = TypeVar("E", bound=Event)

BTC = "BTCUSDT.BINANCE"
EURUSD = "EURUSD.OANDA"
ACCOUNT = "paper-01"
STRATEGY = "ppo-btc-1m"
FEATURE_SCHEMA_ID = "9f2c4e1a7b3d5e60"
_MINUTE = 60_000_000_000
_T0 = parse_utc_nanos("2024-08-08T13:30:59.912345678Z")
_BAR_CLOSE = parse_utc_nanos("2024-08-08T13:31:00Z")


def _root_id(name: str) -> str:
    return derive_event_id("example", name)


@cache
def _build() -> dict[type[Event], Event]:
    trade = Trade(
        event_id=_root_id("trade"),
        source="replay:binance",
        event_time=_T0,
        instrument_id=BTC,
        price=61_234.5,
        size=0.015,
        aggressor_side=AggressorSide.BUYER,
        trade_id="3712458890",
    )
    quote = Quote(
        event_id=_root_id("quote"),
        source="replay:oanda",
        event_time=_T0 + 1_250_000,
        instrument_id=EURUSD,
        bid_price=1.09312,
        ask_price=1.09315,
        bid_size=1_000_000.0,
        ask_size=2_000_000.0,
    )
    bar = Bar.derive(
        trade,
        source="market-data",
        event_time=_BAR_CLOSE,
        instrument_id=BTC,
        interval="1m",
        price_type=PriceType.TRADE,
        start_time=_BAR_CLOSE - _MINUTE,
        open=61_190.0,
        high=61_250.0,
        low=61_150.5,
        close=61_234.5,
        volume=12.345,
        trade_count=1834,
    )
    snapshot = BookSnapshot(
        event_id=_root_id("book_snapshot"),
        source="replay:binance",
        event_time=_T0 + 2_000_000,
        instrument_id=BTC,
        bids=(
            BookLevel(price=61_234.0, size=1.25),
            BookLevel(price=61_233.5, size=0.4),
            BookLevel(price=61_230.0, size=3.0),
        ),
        asks=(
            BookLevel(price=61_234.5, size=0.8),
            BookLevel(price=61_235.0, size=2.1),
            BookLevel(price=61_240.0, size=5.5),
        ),
        sequence=48_213_377,
    )
    delta = BookDelta.derive(
        snapshot,
        source="replay:binance",
        event_time=_T0 + 102_000_000,
        instrument_id=BTC,
        changes=(
            BookChange(side=BookSide.BID, price=61_234.0, size=0.0),
            BookChange(side=BookSide.ASK, price=61_235.5, size=1.2),
        ),
        first_sequence=48_213_378,
        sequence=48_213_380,
    )
    features = FeatureVector.derive(
        bar,
        source="features",
        instrument_id=BTC,
        feature_schema_id=FEATURE_SCHEMA_ID,
        features={"ema_21": 61_190.25, "rsi_14": 58.3, "bb_upper_20_2": None},
    )
    signal = SignalGenerated.derive(
        features,
        source="signal",
        instrument_id=BTC,
        strategy_id=STRATEGY,
        direction=SignalDirection.LONG,
        target_weight=0.25,
        strength=0.8,
        reference_price=61_234.5,
        model_version="2024.08.01-3",
        feature_schema_id=FEATURE_SCHEMA_ID,
    )
    submit = SubmitOrder.derive(
        signal,
        source="signal",
        client_order_id="jules-7f3a9c2e01",
        account_id=ACCOUNT,
        instrument_id=BTC,
        side=OrderSide.BUY,
        quantity=0.05,
        order_type=OrderType.STOP_LIMIT,
        limit_price=61_320.0,
        stop_price=61_300.0,
        time_in_force=TimeInForce.GTD,
        expire_time=_BAR_CLOSE + 5 * _MINUTE,
        reduce_only=False,
        strategy_id=STRATEGY,
        reference_price=61_234.5,
        size_at_fill=SizeAtFill(fraction=0.25, step=0.001),
    )
    approved = OrderApproved.derive(
        submit,
        source="risk",
        client_order_id=submit.client_order_id,
        instrument_id=BTC,
        quantity=0.04,
        order=submit,
    )
    eur_order = SubmitOrder(
        event_id=_root_id("eurusd_order"),
        source="signal",
        event_time=_T0 + 3_000_000,
        client_order_id="jules-5b1d0e7c42",
        account_id=ACCOUNT,
        instrument_id=EURUSD,
        side=OrderSide.SELL,
        quantity=5_000_000.0,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.IOC,
        reduce_only=True,
        strategy_id="mean-revert-fx",
        reference_price=1.09312,
    )
    denied = OrderDenied.derive(
        eur_order,
        source="risk",
        client_order_id=eur_order.client_order_id,
        instrument_id=EURUSD,
        reasons=(RiskReason.ORDER_NOTIONAL_LIMIT, RiskReason.POSITION_LIMIT),
        message="order notional 5465600.0 USD exceeds max_order_notional 1000000.0 USD",
        order=eur_order,
    )
    cancel = CancelOrder.derive(
        eur_order,
        source="signal",
        client_order_id=eur_order.client_order_id,
        instrument_id=EURUSD,
        reason="signal flipped to FLAT",
    )
    accepted = OrderAccepted.derive(
        approved,
        source="order-router",
        event_time=_BAR_CLOSE + 4_500_000,
        client_order_id=submit.client_order_id,
        instrument_id=BTC,
        venue_order_id="28457193021",
    )
    rejected = OrderRejected(
        event_id=_root_id("rejected"),
        source="order-router",
        event_time=_T0 + 9_000_000,
        client_order_id="jules-0c9e4d2a17",
        instrument_id=EURUSD,
        venue_order_id="OANDA-19283",
        reason="insufficient margin for 5000000 EURUSD",
    )
    resized = OrderResized(
        event_id=_root_id("resized"),
        source="order-router",
        event_time=_T0 + 60_000_000_000,
        client_order_id="jules-3e8f1a6b90",
        instrument_id=EURUSD,
        venue_order_id="OANDA-19285",
        quantity=200_000.0,
        previous_quantity=250_000.0,
        price=1.09315,
        equity=218_630.0,
    )
    partial = OrderPartiallyFilled.derive(
        accepted,
        key="fill-1",
        source="order-router",
        event_time=_BAR_CLOSE + 38_000_000_000,
        client_order_id=submit.client_order_id,
        instrument_id=BTC,
        venue_order_id="28457193021",
        side=OrderSide.BUY,
        fill_id="1184452001",
        last_quantity=0.015,
        last_price=61_310.0,
        cumulative_quantity=0.015,
        leaves_quantity=0.025,
        average_price=61_310.0,
        fee=0.0919650,
        fee_currency="USDT",
        liquidity=LiquiditySide.TAKER,
    )
    filled = OrderFilled.derive(
        accepted,
        key="fill-2",
        source="order-router",
        event_time=_BAR_CLOSE + 41_000_000_000,
        client_order_id=submit.client_order_id,
        instrument_id=BTC,
        venue_order_id="28457193021",
        side=OrderSide.BUY,
        fill_id="1184452002",
        last_quantity=0.025,
        last_price=61_318.0,
        cumulative_quantity=0.04,
        leaves_quantity=0.0,
        average_price=61_315.0,
        fee=-0.0306590,
        fee_currency="USDT",
        liquidity=LiquiditySide.MAKER,
    )
    canceled = OrderCanceled.derive(
        cancel,
        source="order-router",
        client_order_id=eur_order.client_order_id,
        instrument_id=EURUSD,
        venue_order_id="OANDA-19284",
        filled_quantity=250_000.0,
        reason="canceled by strategy: signal flipped to FLAT",
    )
    expired = OrderExpired(
        event_id=_root_id("expired"),
        source="order-router",
        event_time=parse_utc_nanos("2024-08-08T21:00:00Z"),
        client_order_id="jules-3e8f1a6b90",
        instrument_id=EURUSD,
        venue_order_id="OANDA-19285",
        filled_quantity=100_000.0,
    )
    portfolio = PortfolioSnapshot.derive(
        filled,
        source="order-router",
        account_id=ACCOUNT,
        currency="USDT",
        cash=97_483.84,
        equity=99_936.56,
        positions=(
            Position(
                instrument_id=BTC,
                quantity=0.04,
                average_price=61_315.0,
                realized_pnl=0.0,
                unrealized_pnl=0.12,
                last_price=61_318.0,
            ),
            Position(instrument_id=EURUSD, quantity=0.0, realized_pnl=-63.5),
        ),
        realized_pnl=-63.5,
        unrealized_pnl=0.12,
        fees_paid=0.0613060,
        gross_exposure=2_452.72,
        net_exposure=2_452.72,
    )
    alert = RiskAlert.derive(
        portfolio,
        source="risk",
        severity=AlertSeverity.WARNING,
        code=AlertCode.DRAWDOWN_LIMIT,
        message="drawdown 4.2% is above the warning level 4.0% (limit 5.0%)",
        instrument_id=BTC,
        metrics={"drawdown": 0.042, "warning": 0.04, "limit": 0.05},
    )
    engage = EngageKillSwitch(
        event_id=_root_id("engage"),
        source="jules-cli",
        event_time=parse_utc_nanos("2024-08-08T13:35:00Z"),
        target="risk",
        state=KillSwitchState.REDUCING,
        reason="EURUSD spread widening ahead of the NFP release",
        operator="alice",
        instrument_id=EURUSD,
    )
    release = ReleaseKillSwitch.derive(
        engage,
        source="jules-cli",
        event_time=parse_utc_nanos("2024-08-08T14:05:00Z"),
        target="risk",
        reason="spreads back to normal",
        operator="alice",
        instrument_id=EURUSD,
    )
    change = ChangeConfig(
        event_id=_root_id("change_config"),
        source="jules-cli",
        event_time=parse_utc_nanos("2024-08-08T13:00:00Z"),
        target="risk",
        key="limits.max_order_notional",
        value=250_000.0,
        operator="bob",
    )
    swap = SwapModel(
        event_id=_root_id("swap_model"),
        source="jules-cli",
        event_time=parse_utc_nanos("2024-08-08T12:00:00Z"),
        target="signal",
        model_name=STRATEGY,
        model_version="2024.08.08-1",
        stage=ModelStage.SHADOW,
        operator="bob",
    )
    watermark = Watermark.derive(
        bar,
        source="market-data",
        service="market-data",
        stream="md.bars.v1",
        partition=3,
        watermark=_BAR_CLOSE,
    )
    checkpoint = AuditCheckpoint(
        event_id=_root_id("audit_checkpoint"),
        source="audit",
        event_time=parse_utc_nanos("2024-08-08T13:45:00Z"),
        segment="audit-2024-08-08-0001",
        first_sequence=1,
        last_sequence=5000,
        chain_hash=hashlib.sha256(b"example chain after record 5000").hexdigest(),
        previous_chain_hash="0" * 64,
        signature=hashlib.sha512(b"example signature").hexdigest(),
    )
    bad_payload = (
        '{"event_type":"md.trade","instrument_id":"BTCUSDT.BINANCE","price":-1.0,"size":0.5}'
    )
    dead_letter = DeadLetterRecord(
        event_id=derive_event_id("system.dead_letter", "md.trades.v1", 0, 1842),
        source="market-data",
        event_time=_T0 + 5_000_000,
        reason=DeadLetterReason.INVALID,
        error="price: Input should be greater than 0 (got -1.0)",
        origin_topic="md.trades.v1",
        origin_partition=0,
        origin_offset=1842,
        key=BTC,
        payload=bad_payload,
        service="market-data",
    )
    events: tuple[Event, ...] = (
        trade,
        quote,
        bar,
        snapshot,
        delta,
        features,
        signal,
        submit,
        cancel,
        approved,
        denied,
        accepted,
        rejected,
        resized,
        partial,
        filled,
        canceled,
        expired,
        portfolio,
        alert,
        engage,
        release,
        change,
        swap,
        watermark,
        checkpoint,
        dead_letter,
    )
    return {type(event): event for event in events}


def example_events() -> tuple[Event, ...]:
    """Return one valid example of every v1 event class, in the order of ``EVENT_TYPES``.

    The examples are deterministic: the same values, ids and timestamps on every call and
    every machine. They are frozen, so callers may share them freely.

    Returns:
        One instance per class of ``jules_contracts.codec.EVENT_TYPES``.
    """
    by_class = _build()
    return tuple(by_class[cls] for cls in EVENT_TYPES)


def example_for(cls: type[E]) -> E:
    """Return the example of one event class.

    Args:
        cls: A class of ``jules_contracts.codec.EVENT_TYPES`` (``Trade``, ``OrderFilled`` ...).

    Returns:
        The deterministic example of that class.

    Raises:
        KeyError: ``cls`` is not a v1 event class.
    """
    event = _build().get(cls)
    if not isinstance(event, cls):
        raise KeyError(f"no example for {cls.__name__}: it is not a v1 event class")
    return event
