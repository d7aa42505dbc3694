"""Bad configuration fails at construction, naming the field and the value."""

from __future__ import annotations

import pytest
from jules_order_router.engine import (
    BarCloseSlippage,
    FeeSchedule,
    KyleLambda,
    L1Quote,
    NextBarOpen,
    RouterConfig,
)
from pydantic import BaseModel, ValidationError

VALID = {"account_id": "paper-01", "starting_cash": 1_000.0}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_participation", 0.0),
        ("max_participation", 1.5),
        ("latency_ns", -1),
        ("latency_ns", 1.5),
        ("starting_cash", -1.0),
        ("starting_cash", float("nan")),
        ("currency", "usd"),
        ("account_id", "has space"),
        ("instruments", ("BTCUSDT.BINANCE", "BTCUSDT.BINANCE")),
        ("instruments", ("NOVENUE",)),
    ],
)
def test_an_invalid_router_setting_names_the_field_and_value(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        RouterConfig.model_validate({**VALID, field: value})

    message = str(caught.value)
    assert field in message
    assert str(value).split(",")[0].strip("()'") in message


@pytest.mark.parametrize(
    ("model", "fields", "field"),
    [
        (BarCloseSlippage, {"slippage_bps": -1.0}, "slippage_bps"),
        (KyleLambda, {"impact_lambda": -0.1}, "impact_lambda"),
        (KyleLambda, {"impact_lambda": 0.1, "max_impact_fraction": 1.0}, "max_impact_fraction"),
        (FeeSchedule, {"taker_bps": -2.0}, "taker_bps"),
        (FeeSchedule, {"min_fee": -0.5}, "min_fee"),
    ],
)
def test_an_invalid_model_or_fee_setting_names_the_field(
    model: type[BaseModel], fields: dict[str, float], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model(**fields)

    errors = caught.value.errors()
    assert [error["loc"] for error in errors] == [(field,)]
    assert errors[0]["input"] == fields[field]


def test_an_unknown_fill_model_kind_is_refused_naming_the_known_kinds() -> None:
    with pytest.raises(ValidationError) as caught:
        RouterConfig.model_validate({**VALID, "fill_model": {"kind": "magic"}})

    message = str(caught.value)
    assert "fill_model" in message
    assert "magic" in message
    assert "next_bar_open" in message


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="slipage_bps"):
        BarCloseSlippage(slipage_bps=1.0)  # type: ignore[call-arg]


def test_configuration_is_frozen_and_defaults_to_next_bar_open_without_fees() -> None:
    config = RouterConfig.model_validate(VALID)

    assert config.fill_model == NextBarOpen()
    assert config.fees == FeeSchedule()
    assert (config.latency_ns, config.max_participation, config.instruments) == (0, None, None)
    with pytest.raises(ValidationError):
        config.latency_ns = 5  # type: ignore[misc]


def test_a_fill_model_is_chosen_from_plain_data_by_kind() -> None:
    config = RouterConfig.model_validate({**VALID, "fill_model": {"kind": "l1_quote"}})

    assert config.fill_model == L1Quote()


@pytest.mark.parametrize("written", ["Next_Bar_Open", "NEXT_BAR_OPEN", "next_bar_open"])
def test_a_fill_model_kind_is_read_in_any_case(written: str) -> None:
    config = RouterConfig.model_validate({**VALID, "fill_model": {"kind": written}})

    assert config.fill_model == NextBarOpen()
    assert config.model_dump()["fill_model"] == {"kind": "next_bar_open"}


def test_a_mixed_case_fill_model_keeps_its_parameters() -> None:
    config = RouterConfig.model_validate(
        {**VALID, "fill_model": {"kind": "Bar_Close_Slippage", "slippage_bps": 2.5}}
    )

    assert config.fill_model == BarCloseSlippage(slippage_bps=2.5)


def test_an_unknown_fill_model_kind_names_the_field_and_the_kinds() -> None:
    with pytest.raises(ValidationError) as caught:
        RouterConfig.model_validate({**VALID, "fill_model": {"kind": "next_bar"}})

    message = str(caught.value)
    assert "fill_model" in message
    assert "'next_bar'" in message
    assert "'next_bar_open', 'bar_close_slippage', 'l1_quote', 'l2_book', 'kyle_lambda'" in message
