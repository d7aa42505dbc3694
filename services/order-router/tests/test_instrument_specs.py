"""Instruments with a spec at the simulated venue: the contract multiplier in cash, PnL and
equity; fees per contract; limit and stop prices on the tick grid; partial fills in lots."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from jules_contracts import OrderAccepted, OrderApproved, OrderRejected, OrderSide, OrderType
from jules_contracts.instruments import InstrumentSpec
from jules_order_router.config import OrderRouterSettings
from jules_order_router.engine import FeeSchedule, KyleLambda, OrderRouterEngine, RouterConfig
from jules_runtime.errors import ConfigError
from jules_runtime.instruments import load_instrument_table
from jules_runtime.settings import load_settings

from .helpers import (  # type: ignore[import-not-found]
    ACCOUNT,
    BTC,
    approve,
    bar_time,
    feed,
    fills,
    make_bar,
    make_trade,
    position_of,
    reason_of,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL
SHIPPED_TABLE = Path(__file__).resolve().parents[3] / "examples" / "instruments.yaml"
EURO_FX = "6EH4.XCME"
EURO_FX_SPEC = load_instrument_table(SHIPPED_TABLE)[EURO_FX]  # tick 0.00005, 125,000, 1.18 USD
BTC_SPEC = InstrumentSpec(
    instrument_id=BTC, tick_size=0.01, lot_size=0.00001, quote_currency="USDT"
)
TABLE = {EURO_FX: EURO_FX_SPEC, BTC: BTC_SPEC}


def engine(**overrides: Any) -> OrderRouterEngine:
    fields: dict[str, Any] = {"account_id": ACCOUNT, "currency": "USD", "starting_cash": 1e6}
    return OrderRouterEngine(RouterConfig(**(fields | overrides)), TABLE)


def euro_fx_order(
    side: OrderSide,
    order_type: OrderType = OrderType.LIMIT,
    limit: float | None = None,
    stop: float | None = None,
) -> OrderApproved:
    """An approved order for one Euro FX contract, decided on bar 0."""
    decision: OrderApproved = approve(
        "o",
        side,
        1,
        at=bar_time(0),
        instrument=EURO_FX,
        order_type=order_type,
        limit=limit,
        stop=stop,
    )
    return decision


def test_one_euro_fx_contract_gains_12_50_usd_on_a_0_0001_move() -> None:
    venue = engine()
    venue.on_decision(approve("long", BUY, 1, at=bar_time(0), instrument=EURO_FX))
    feed(venue, [make_bar(1, 1.1050, instrument=EURO_FX)])  # filled at the open, 1.1050

    feed(venue, [make_bar(2, 1.1050, close=1.1051, instrument=EURO_FX)])  # marked at 1.1051

    position = position_of(venue, EURO_FX)
    assert position.unrealized_pnl == pytest.approx(12.5)
    assert venue.equity == pytest.approx(1e6 + 12.5 - 1.18)  # the fee per contract paid
    assert venue.cash == pytest.approx(1e6 - 1.1050 * 125_000 - 1.18)


def test_closing_a_contract_realises_its_move_times_the_multiplier() -> None:
    venue = engine()
    venue.on_decision(approve("short", SELL, 2, at=bar_time(0), instrument=EURO_FX))
    feed(venue, [make_bar(1, 1.1050, instrument=EURO_FX)])
    venue.on_decision(approve("cover", BUY, 2, at=bar_time(1), instrument=EURO_FX))

    feed(venue, [make_bar(2, 1.1030, instrument=EURO_FX)])

    position = position_of(venue, EURO_FX)
    assert position.quantity == 0.0
    assert position.realized_pnl == pytest.approx(2 * 0.0020 * 125_000)  # 500 USD
    snapshot = venue.snapshot(bar_time(2), make_bar(2, 1.1030, instrument=EURO_FX))
    assert snapshot.fees_paid == pytest.approx(4 * 1.18)
    assert snapshot.equity == pytest.approx(1e6 + 500 - 4 * 1.18)


def test_fees_per_contract_add_to_the_bps_fee_on_the_multiplied_notional() -> None:
    venue = engine(fees=FeeSchedule(taker_bps=1.0))
    venue.on_decision(approve("long", BUY, 3, at=bar_time(0), instrument=EURO_FX))

    (fill,) = fills(feed(venue, [make_bar(1, 1.1000, instrument=EURO_FX)]))

    # 1 bp of 3 * 1.1 * 125,000 = 41.25, plus 3 * 1.18
    assert fill.fee == pytest.approx(41.25 + 3.54)


def test_gross_exposure_of_a_snapshot_counts_the_multiplier() -> None:
    venue = engine()
    venue.on_decision(approve("long", BUY, 2, at=bar_time(0), instrument=EURO_FX))
    last = make_bar(1, 1.1, instrument=EURO_FX)
    feed(venue, [last])

    snapshot = venue.snapshot(bar_time(1), last)

    assert snapshot.gross_exposure == pytest.approx(275_000.0)


@pytest.mark.parametrize(
    ("side", "order_type", "limit", "stop", "on_grid"),
    [
        (BUY, OrderType.LIMIT, 1.10007, None, (1.10005, None)),  # never pay more
        (SELL, OrderType.LIMIT, 1.10007, None, (1.1001, None)),  # never get less
        (BUY, OrderType.STOP, None, 1.10007, (None, 1.1001)),  # never trigger earlier
        (SELL, OrderType.STOP, None, 1.10007, (None, 1.10005)),
        (BUY, OrderType.LIMIT, 1.1001, None, (1.1001, None)),  # on the grid: kept
    ],
)
def test_limit_and_stop_prices_are_put_on_the_tick_the_safe_way(
    side: OrderSide,
    order_type: OrderType,
    limit: float | None,
    stop: float | None,
    on_grid: tuple[float | None, float | None],
) -> None:
    venue = engine()
    decision = euro_fx_order(side, order_type, limit, stop)

    (accepted,) = venue.on_decision(decision)

    assert isinstance(accepted, OrderAccepted)
    order = venue.order(decision.client_order_id)
    assert order is not None
    assert (order.limit_price, order.stop_price) == on_grid


def test_a_resting_limit_fills_at_its_price_on_the_grid() -> None:
    venue = engine()
    venue.on_decision(euro_fx_order(BUY, limit=1.10007))
    feed(venue, [make_bar(1, 1.1003, instrument=EURO_FX)])  # above the limit: rests

    (fill,) = fills(feed(venue, [make_bar(2, 1.1002, low=1.1000, instrument=EURO_FX)]))

    assert fill.last_price == 1.10005


def test_a_limit_price_below_one_tick_is_rejected() -> None:
    venue = engine()

    (rejected,) = venue.on_decision(euro_fx_order(BUY, limit=0.00003))

    assert isinstance(rejected, OrderRejected)
    assert reason_of(rejected).startswith("PRICE_BELOW_TICK: limit price 3e-05 is below one tick")


def test_partial_fills_under_a_participation_cap_are_whole_lots() -> None:
    venue = engine(max_participation=0.1)
    venue.on_decision(approve("a", BUY, 1.0, at=bar_time(0)))  # BTC, lot 0.00001
    bars = [make_bar(i, 60_000.0, volume=3.333333) for i in range(1, 5)]

    events = fills(feed(venue, bars))

    # the last is what is left of the order: 1.0 - 3 * 0.33333, one lot to float dust
    assert [e.last_quantity for e in events] == pytest.approx([0.33333, 0.33333, 0.33333, 1e-05])
    assert all(BTC_SPEC.on_lot(e.last_quantity) for e in events)


def test_a_partial_fill_rounded_to_the_lot_is_priced_for_what_fills() -> None:
    venue = engine(fill_model=KyleLambda(impact_lambda=2.0), max_participation=0.1)
    venue.on_decision(approve("a", BUY, 1.0, at=bar_time(0)))  # BTC, lot 0.00001
    trade = make_trade(bar_time(1), 60_000.0, 3.3333333)  # 10%: 0.33333333, 0.33333 in lots

    (fill,) = fills(feed(venue, [trade]))

    assert fill.last_quantity == pytest.approx(0.33333)
    assert fill.last_price == pytest.approx(60_000.0 + 2.0 * 0.33333, rel=1e-12)


def test_an_instrument_without_a_spec_trades_as_before() -> None:
    venue = engine(fees=FeeSchedule(taker_bps=1.0))
    venue.on_decision(
        approve("eth", BUY, 0.123456789, at=bar_time(0), instrument="ETHUSDT.BINANCE")
    )

    (fill,) = fills(feed(venue, [make_bar(1, 3000.0, instrument="ETHUSDT.BINANCE")]))

    assert (fill.last_quantity, fill.last_price) == (0.123456789, 3000.0)
    assert fill.fee == 0.123456789 * 3000.0 * 1.0 / 10_000


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("JULES_ORDER_ROUTER__"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_the_service_reads_its_instrument_table_inline_as_json(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("JULES_ORDER_ROUTER__INSTRUMENTS", f"[{EURO_FX_SPEC.model_dump_json()}]")

    settings = load_settings(OrderRouterSettings)

    assert settings.instrument_table() == {EURO_FX: EURO_FX_SPEC}


def test_the_service_reads_the_shipped_table(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("JULES_ORDER_ROUTER__INSTRUMENTS", str(SHIPPED_TABLE))

    assert load_settings(OrderRouterSettings).instrument_table()[EURO_FX] == EURO_FX_SPEC


def test_a_missing_instrument_table_stops_the_service_naming_the_file(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.yaml"
    environment.setenv("JULES_ORDER_ROUTER__INSTRUMENTS", str(missing))

    with pytest.raises(ConfigError, match=f"JULES_ORDER_ROUTER__INSTRUMENTS=.*{missing}"):
        load_settings(OrderRouterSettings)


def test_an_order_for_a_position_with_float_dust_fills_whole() -> None:
    venue = engine()
    venue.on_decision(approve("a", BUY, 0.7, at=bar_time(0)))
    venue.on_decision(approve("b", BUY, 0.1, at=bar_time(0)))
    feed(venue, [make_bar(1, 60_000.0)])
    held = position_of(venue).quantity  # 0.7999999999999999: lots add up with float dust
    venue.on_decision(approve("exit", SELL, held, at=bar_time(1), reduce_only=True))

    (fill,) = fills(feed(venue, [make_bar(2, 60_000.0)]))

    assert fill.last_quantity == fill.cumulative_quantity == held
    assert fill.leaves_quantity == 0.0
    assert position_of(venue).quantity == 0.0
