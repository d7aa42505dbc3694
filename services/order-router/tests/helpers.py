"""Builders of hand-made market events and decisions for the order-router engine tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from jules_contracts import (
    Bar,
    BookLevel,
    BookSnapshot,
    Event,
    OrderApproved,
    OrderCanceled,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSide,
    OrderType,
    Position,
    PriceType,
    Quote,
    SizeAtFill,
    SubmitOrder,
    TimeInForce,
    Trade,
    derive_event_id,
    parse_utc_nanos,
)
from jules_contracts.ids import client_order_id
from jules_order_router.engine import OrderRouterEngine, Portfolio, RouterConfig

T0 = parse_utc_nanos("2024-08-08T13:30:00Z")
SECOND = 1_000_000_000
MINUTE = 60 * SECOND
BTC = "BTCUSDT.BINANCE"
ETH = "ETHUSDT.BINANCE"
ACCOUNT = "paper-01"
STRATEGY = "test-strategy"

FillEvent = OrderFilled | OrderPartiallyFilled


def root_id(*parts: object) -> str:
    return derive_event_id("test", *(str(part) for part in parts))


def bar_time(index: int) -> int:
    """Close time of bar ``index`` (bar 0 covers [T0, T0 + 1 min))."""
    return T0 + (index + 1) * MINUTE


def make_bar(
    index: int,
    open: float,
    high: float | None = None,
    low: float | None = None,
    close: float | None = None,
    *,
    volume: float = 1_000.0,
    instrument: str = BTC,
    price_type: PriceType = PriceType.TRADE,
) -> Bar:
    """Bar ``index`` of one-minute bars starting at ``T0``; high/low default to cover o/c."""
    close = open if close is None else close
    high = max(open, close) if high is None else high
    low = min(open, close) if low is None else low
    start = T0 + index * MINUTE
    return Bar(
        event_id=root_id("bar", instrument, index),
        source="market-data",
        event_time=start + MINUTE,
        instrument_id=instrument,
        interval="1m",
        price_type=price_type,
        start_time=start,
        open=float(open),
        high=float(high),
        low=float(low),
        close=float(close),
        volume=float(volume),
    )


def make_quote(
    time: int,
    bid: float,
    ask: float,
    *,
    bid_size: float = 0.0,
    ask_size: float = 0.0,
    instrument: str = BTC,
) -> Quote:
    return Quote(
        event_id=root_id("quote", instrument, time, bid, ask),
        source="replay:test",
        event_time=time,
        instrument_id=instrument,
        bid_price=float(bid),
        ask_price=float(ask),
        bid_size=float(bid_size),
        ask_size=float(ask_size),
    )


def make_book(
    time: int,
    bids: Sequence[tuple[float, float]],
    asks: Sequence[tuple[float, float]],
    *,
    instrument: str = BTC,
) -> BookSnapshot:
    return BookSnapshot(
        event_id=root_id("book", instrument, time),
        source="replay:test",
        event_time=time,
        instrument_id=instrument,
        bids=tuple(BookLevel(price=float(p), size=float(s)) for p, s in bids),
        asks=tuple(BookLevel(price=float(p), size=float(s)) for p, s in asks),
    )


def make_trade(time: int, price: float, size: float, *, instrument: str = BTC) -> Trade:
    return Trade(
        event_id=root_id("trade", instrument, time, price),
        source="replay:test",
        event_time=time,
        instrument_id=instrument,
        price=float(price),
        size=float(size),
    )


def approve(
    name: str,
    side: OrderSide,
    quantity: float,
    *,
    at: int,
    approved: float | None = None,
    instrument: str = BTC,
    account: str = ACCOUNT,
    order_type: OrderType = OrderType.MARKET,
    limit: float | None = None,
    stop: float | None = None,
    tif: TimeInForce = TimeInForce.GTC,
    expire: int | None = None,
    reduce_only: bool = False,
    coid: str | None = None,
    size_at_fill: SizeAtFill | None = None,
) -> OrderApproved:
    """An approval of an order decided at ``at``; its client order id derives from ``name``."""
    signal_id = root_id("signal", name)
    intent = SubmitOrder(
        event_id=root_id("submit", name),
        source="risk",
        event_time=at,
        client_order_id=coid or client_order_id(STRATEGY, signal_id),
        account_id=account,
        instrument_id=instrument,
        side=side,
        quantity=float(quantity),
        order_type=order_type,
        limit_price=None if limit is None else float(limit),
        stop_price=None if stop is None else float(stop),
        time_in_force=tif,
        expire_time=expire,
        reduce_only=reduce_only,
        strategy_id=STRATEGY,
        size_at_fill=size_at_fill,
    )
    return OrderApproved.derive(
        intent,
        source="risk",
        client_order_id=intent.client_order_id,
        instrument_id=instrument,
        quantity=float(quantity if approved is None else approved),
        order=intent,
    )


def make_engine(**overrides: Any) -> OrderRouterEngine:
    fields: dict[str, Any] = {
        "account_id": ACCOUNT,
        "currency": "USDT",
        "starting_cash": 100_000.0,
    }
    fields.update(overrides)
    return OrderRouterEngine(RouterConfig(**fields))


def position_of(holder: OrderRouterEngine | Portfolio, instrument: str = BTC) -> Position:
    """The position in ``instrument``, which the test expects to exist."""
    position = holder.position(instrument)
    assert position is not None, f"no position in {instrument}"
    return position


def reason_of(event: OrderCanceled | OrderRejected) -> str:
    assert event.reason is not None
    return event.reason


def fills(events: Iterable[Event]) -> list[FillEvent]:
    return [e for e in events if isinstance(e, OrderFilled | OrderPartiallyFilled)]


def feed(engine: OrderRouterEngine, events: Iterable[Event]) -> list[Event]:
    """Feed market events in order; return every order event the engine emitted."""
    out: list[Event] = []
    for event in events:
        out.extend(engine.on_market(event))  # type: ignore[arg-type]
    return out
