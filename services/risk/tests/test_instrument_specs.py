"""Instruments with a spec: targets in lots, notional with the contract multiplier, orders
below the minimum not sent, intents off the lot denied; instruments without one unchanged."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from jules_contracts import OrderApproved, OrderDenied, OrderSide, RiskReason, SubmitOrder
from jules_contracts.instruments import InstrumentSpec
from jules_risk.config import RiskSettings
from jules_risk.engine import RiskConfig, RiskEngine, RiskLimits, SizingConfig
from jules_runtime.errors import ConfigError
from jules_runtime.instruments import load_instrument_table
from jules_runtime.settings import load_settings

from .helpers import ACCOUNT, BTC, T0, bar, decide, intent, signal, snapshot

LTC = "LTCUSD.COINBASE"
EURO_FX = "6EH4.XCME"
LTC_SPEC = InstrumentSpec(
    instrument_id=LTC, tick_size=0.01, lot_size=0.00000001, min_quantity=0.01, quote_currency="USD"
)
SHIPPED_TABLE = Path(__file__).resolve().parents[3] / "examples" / "instruments.yaml"
EURO_FX_SPEC = load_instrument_table(SHIPPED_TABLE)[EURO_FX]  # 125,000 EUR, whole contracts
TABLE = {LTC: LTC_SPEC, EURO_FX: EURO_FX_SPEC}


def engine_with_table(sizing: SizingConfig | None = None, **limits: Any) -> RiskEngine:
    config = RiskConfig(
        account_id=ACCOUNT, limits=RiskLimits(**limits), sizing=sizing or SizingConfig()
    )
    return RiskEngine(config, TABLE)


def sized_order(engine: RiskEngine, instrument: str, price: float, weight: float, **kw):
    engine.on_market(bar(T0, price, instrument=instrument))
    events = engine.on_signal(
        signal(T0, weight, instrument=instrument, price=price), kw.get("portfolio") or snapshot(T0)
    )
    orders = [e for e in events if isinstance(e, SubmitOrder)]
    decisions = [e for e in events if isinstance(e, OrderApproved | OrderDenied)]
    return orders, decisions


def test_ltc_target_is_rounded_toward_zero_to_the_lot():
    engine = engine_with_table(SizingConfig(kind="fixed_fraction", fraction=0.5))

    orders, decisions = sized_order(engine, LTC, 222.48, 1.0)

    assert orders[0].quantity == 224.7393024  # 224.739302409...: to 8 decimals, toward zero
    assert LTC_SPEC.on_lot(orders[0].quantity)
    assert isinstance(decisions[0], OrderApproved)


def test_an_instrument_without_a_spec_is_sized_as_before():
    engine = engine_with_table(SizingConfig(kind="fixed_fraction", fraction=0.5))

    orders, _ = sized_order(engine, BTC, 7391.0, 1.0)

    assert orders[0].quantity == 50_000.0 / 7391.0


def test_a_future_is_sized_in_contracts_of_its_multiplier():
    # 0.3 * 1,000,000 / (1.1050 * 125,000) = 2.17 contracts: 2
    engine = engine_with_table(SizingConfig(kind="fixed_fraction", fraction=0.3))

    orders, decisions = sized_order(
        engine, EURO_FX, 1.1050, 1.0, portfolio=snapshot(T0, 1_000_000.0)
    )

    assert orders[0].quantity == 2.0
    assert isinstance(decisions[0], OrderApproved)


def test_atr_risk_sizing_values_the_atr_with_the_multiplier():
    # 1% of 1,000,000 over a 2-ATR stop, 0.004 * 125,000 = 500 USD a contract: 20 contracts
    engine = engine_with_table(SizingConfig(kind="atr_risk", risk_fraction=0.01, max_leverage=5))
    engine.on_market(bar(T0, 1.1, instrument=EURO_FX), atr=0.002)

    order, _ = engine.on_signal(
        signal(T0, 1.0, instrument=EURO_FX, price=1.1), snapshot(T0, 1_000_000.0)
    )

    assert isinstance(order, SubmitOrder)
    assert order.quantity == 20.0


def test_order_notional_limit_counts_the_multiplier():
    engine = engine_with_table(max_order_notional=100_000.0)
    engine.on_market(bar(T0, 1.1, instrument=EURO_FX))

    decision = decide(engine, intent(T0, OrderSide.BUY, 1.0, instrument=EURO_FX))

    assert isinstance(decision, OrderDenied)
    assert decision.reasons == (RiskReason.ORDER_NOTIONAL_LIMIT,)
    assert "137500.00" in decision.message  # 1 * 1.1 * 125,000


def test_gross_exposure_counts_held_contracts_at_their_multiplier():
    engine = engine_with_table(max_gross_exposure=300_000.0)
    engine.on_market(bar(T0, 1.1, instrument=EURO_FX))
    holding = snapshot(T0, 1_000_000.0, {EURO_FX: 2.0})  # 275,000 of exposure

    decision = decide(engine, intent(T0, OrderSide.BUY, 1.0, instrument=EURO_FX), holding)

    assert isinstance(decision, OrderDenied)
    assert decision.reasons == (RiskReason.GROSS_EXPOSURE_LIMIT,)


@pytest.mark.parametrize(("held", "sent"), [(224.7, True), (224.735, False)])
def test_a_change_below_the_minimum_quantity_is_not_sent(held, sent):
    # the target is 224.7393024: 0.0393 from 224.7 (at least 0.01), 0.0043 from 224.735
    engine = engine_with_table(SizingConfig(kind="fixed_fraction", fraction=0.5))
    engine.on_market(bar(T0, 222.48, instrument=LTC))

    events = engine.on_signal(
        signal(T0, 1.0, instrument=LTC, price=222.48), snapshot(T0, 100_000.0, {LTC: held})
    )

    assert any(isinstance(e, SubmitOrder) for e in events) is sent


def test_closing_a_position_smaller_than_the_minimum_is_sent():
    engine = engine_with_table()
    engine.on_market(bar(T0, 222.48, instrument=LTC))

    events = engine.on_signal(
        signal(T0, 0.0, instrument=LTC, price=222.48), snapshot(T0, 100_000.0, {LTC: 0.004})
    )

    order, decision = events
    assert isinstance(order, SubmitOrder)
    assert (order.side, order.quantity) == (OrderSide.SELL, 0.004)
    assert isinstance(decision, OrderApproved)


@pytest.mark.parametrize(
    ("quantity", "words"),
    [(0.123456789, "not a multiple of the lot size 1e-08"), (0.005, "below the minimum 0.01")],
)
def test_an_intent_off_the_lot_or_below_the_minimum_is_denied_invalid(quantity, words):
    engine = engine_with_table()
    engine.on_market(bar(T0, 222.48, instrument=LTC))

    decision = decide(engine, intent(T0, OrderSide.BUY, quantity, instrument=LTC))

    assert isinstance(decision, OrderDenied)
    assert decision.reasons == (RiskReason.INVALID_ORDER,)
    assert words in decision.message
    assert LTC in decision.message


def test_the_runs_lot_size_wins_over_the_tables():
    engine = engine_with_table(SizingConfig(kind="fixed_fraction", fraction=0.5, lot_size=0.1))

    orders, decisions = sized_order(engine, LTC, 222.48, 1.0)

    assert orders[0].quantity == 224.7
    assert isinstance(decisions[0], OrderApproved)  # 0.1 is a multiple of the table's lot


def test_turnover_counts_fills_at_their_multiplier():
    engine = engine_with_table()
    engine.on_market(bar(T0, 1.1, instrument=EURO_FX))
    engine.on_portfolio(snapshot(T0, 1_000_000.0))

    assert engine.book.value(EURO_FX, 2.0, 1.1) == pytest.approx(275_000.0)
    assert engine.book.value(BTC, 2.0, 1.1) == 2.2


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("JULES_RISK__"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_the_service_reads_its_instrument_table_from_a_file(environment):
    environment.setenv("JULES_RISK__INSTRUMENTS", str(SHIPPED_TABLE))

    settings = load_settings(RiskSettings)

    assert settings.instrument_table()[LTC] == LTC_SPEC
    assert settings.instrument_table()[EURO_FX].multiplier == 125_000.0


def test_a_bad_instrument_table_stops_the_service_naming_the_file_entry_and_field(
    environment, tmp_path
):
    table = tmp_path / "instruments.yaml"
    table.write_text(
        "instruments:\n"
        "  - {instrument_id: LTCUSD.COINBASE, tick_size: 0.01, lot_size: 0, quote_currency: USD}\n"
    )
    environment.setenv("JULES_RISK__INSTRUMENTS", str(table))

    with pytest.raises(ConfigError) as error:
        load_settings(RiskSettings)

    message = str(error.value)
    assert "JULES_RISK__INSTRUMENTS" in message
    assert f"instrument table {table}: instruments[0] (LTCUSD.COINBASE): lot_size" in message
