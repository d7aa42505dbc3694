"""Instrument specs: strict fields, rounding to the grids, and tables that name what is wrong."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jules_contracts.instruments import (
    InstrumentSpec,
    InstrumentTableError,
    instrument_table,
    round_to_increment,
)
from pydantic import ValidationError

EURO_FX = {
    "instrument_id": "6EH4.XCME",
    "tick_size": 0.00005,
    "lot_size": 1,
    "min_quantity": 1,
    "multiplier": 125_000,
    "quote_currency": "USD",
    "fee_per_contract": 1.18,
}
LTC = {
    "instrument_id": "LTCUSD.COINBASE",
    "tick_size": 0.01,
    "lot_size": 0.00000001,
    "quote_currency": "USD",
}


def test_a_spec_has_defaults_for_a_spot_instrument():
    spec = InstrumentSpec.model_validate(LTC)

    assert (spec.multiplier, spec.min_quantity, spec.fee_per_contract) == (1.0, None, 0.0)
    assert spec.smallest_order == 0.00000001


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tick_size", 0),
        ("lot_size", -1.0),
        ("multiplier", float("nan")),
        ("fee_per_contract", -0.5),
        ("quote_currency", "usd"),
        ("lot_size", "0.01"),
        ("instrument_id", "LTCUSD"),
    ],
)
def test_a_spec_refuses_an_invalid_field(field, value):
    with pytest.raises(ValidationError, match=field):
        InstrumentSpec.model_validate({**EURO_FX, field: value})


def test_a_spec_refuses_unknown_fields():
    with pytest.raises(ValidationError, match="contract_size"):
        InstrumentSpec.model_validate({**EURO_FX, "contract_size": 125_000})


def test_notional_counts_the_multiplier():
    spec = InstrumentSpec.model_validate(EURO_FX)

    assert spec.notional(2.0, 1.1) == pytest.approx(275_000.0)
    assert spec.notional(1.0, 1.1051) - spec.notional(1.0, 1.1050) == pytest.approx(12.5)


def test_quantities_round_toward_zero_to_the_lot():
    spec = InstrumentSpec.model_validate(LTC)

    assert spec.round_quantity(224.7359352760506) == 224.73593527
    assert spec.round_quantity(-224.7359352760506) == -224.73593527
    assert spec.round_quantity(0.000000009) == 0.0
    assert spec.on_lot(224.73593527)
    assert not spec.on_lot(224.7359352760506)


def test_prices_round_down_or_up_to_the_tick():
    spec = InstrumentSpec.model_validate(EURO_FX)

    assert spec.round_price(1.10007, up=False) == 1.10005
    assert spec.round_price(1.10007, up=True) == 1.1001
    assert spec.round_price(1.1001, up=False) == spec.round_price(1.1001, up=True) == 1.1001


def test_values_on_the_grid_despite_binary_fractions_stay_put():
    assert round_to_increment(0.3, 0.1) == 0.3
    assert round_to_increment(0.3, 0.1, up=True) == 0.3
    assert round_to_increment(0.09, 0.1) == 0.0


@given(
    value=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    increment=st.sampled_from([0.00000001, 0.00001, 0.00005, 0.01, 0.1, 1.0, 1000.0]),
    up=st.booleans(),
)
def test_rounding_lands_on_the_grid_within_one_increment(value, increment, up):
    rounded = round_to_increment(value, increment, up=up)

    steps = rounded / increment
    assert math.isclose(steps, round(steps), abs_tol=1e-6)
    tolerance = 1e-9 * max(increment, value)
    if up:
        assert value - tolerance <= rounded < value + increment + tolerance
    else:
        assert value - increment - tolerance < rounded <= value + tolerance


def test_a_table_indexes_its_specs_by_instrument():
    table = instrument_table([EURO_FX, LTC])

    assert list(table) == ["6EH4.XCME", "LTCUSD.COINBASE"]
    assert table["6EH4.XCME"].multiplier == 125_000.0


def test_a_table_refuses_an_instrument_listed_twice():
    with pytest.raises(InstrumentTableError, match=r"t\.yaml\[2\]: instrument_id 6EH4.XCME is"):
        instrument_table([EURO_FX, LTC, EURO_FX], source="t.yaml")


def test_a_table_error_names_the_entry_and_every_bad_field():
    bad = {**LTC, "tick_size": -0.01, "lots": 1}

    with pytest.raises(InstrumentTableError) as error:
        instrument_table([EURO_FX, bad], source="t.yaml")

    assert str(error.value) == (
        "t.yaml[1] (LTCUSD.COINBASE): tick_size: Input should be greater than 0 (got -0.01); "
        "lots: Extra inputs are not permitted (got 1)"
    )


def test_a_number_yaml_read_as_text_gets_a_hint():
    with pytest.raises(InstrumentTableError, match="write the number with a decimal point"):
        instrument_table([{**LTC, "lot_size": "1e-8"}])


def test_an_entry_that_is_not_a_mapping_is_named():
    with pytest.raises(InstrumentTableError, match=r"instruments\[0\]: an entry is a mapping"):
        instrument_table(["6EH4.XCME"])


@given(lots=st.integers(min_value=1, max_value=10**12), lot=st.sampled_from([1e-8, 1e-5, 0.001]))
def test_rounding_a_multiple_again_keeps_it(lots, lot):
    value = round_to_increment(lots * lot, lot)

    assert round_to_increment(value, lot) == value
    assert round_to_increment(value, lot, up=True) == value
