"""Configuration: bad values fail at construction naming the field; run-time changes."""

from __future__ import annotations

import pytest
from jules_contracts import (
    ChangeConfig,
    OrderApproved,
    OrderDenied,
    OrderSide,
    RiskAlert,
    RiskReason,
    derive_event_id,
)
from jules_risk.engine import (
    ConfigChangeError,
    RiskConfig,
    RiskLimits,
    SizingConfig,
    StopsConfig,
    with_change,
)
from pydantic import ValidationError

from .helpers import ACCOUNT, T0, bar, decide, intent, make_engine


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        (RiskLimits, "max_order_quantity", -1.0),
        (RiskLimits, "max_order_notional", float("nan")),
        (RiskLimits, "max_gross_exposure", float("inf")),
        (RiskLimits, "price_collar_bps", "50"),
        (RiskLimits, "max_open_orders", 2.5),
        (RiskLimits, "max_orders_per_window", True),
        (RiskLimits, "max_drawdown", 1.0),
        (RiskLimits, "es_confidence", 0.0),
        (RiskLimits, "reference_max_age_ns", 0),
        (RiskLimits, "allowed_instruments", ("not an instrument",)),
        (SizingConfig, "kind", "martingale"),
        (SizingConfig, "fraction", 1.5),
        (SizingConfig, "volatility_lookback", 1),
        (StopsConfig, "stop_loss_atr_multiple", 0.0),
        (RiskConfig, "account_id", "has space"),
        (RiskConfig, "history_length", 1),
    ],
)
def test_invalid_value_fails_at_construction_naming_the_field(model, field, value):
    kwargs = {field: value}
    if model is RiskConfig and field != "account_id":
        kwargs["account_id"] = ACCOUNT

    with pytest.raises(ValidationError) as raised:
        model(**kwargs)

    assert field in str(raised.value)
    assert [error["loc"][0] for error in raised.value.errors()] == [field]


def test_nested_error_names_the_dotted_path():
    with pytest.raises(ValidationError) as raised:
        RiskConfig.model_validate({"account_id": ACCOUNT, "limits": {"max_open_orders": -3}})

    assert raised.value.errors()[0]["loc"] == ("limits", "max_open_orders")


def test_unknown_field_is_refused_by_name():
    with pytest.raises(ValidationError, match="max_order_qty"):
        RiskLimits(max_order_qty=5.0)  # type: ignore[call-arg]


def test_whole_units_with_fractional_lot_names_lot_size():
    with pytest.raises(ValidationError, match=r"lot_size 0\.5 must be a whole number"):
        SizingConfig(whole_units=True, lot_size=0.5)


def test_config_is_frozen():
    limits = RiskLimits()

    with pytest.raises(ValidationError):
        limits.max_open_orders = 3  # type: ignore[misc]


def test_with_change_validates_like_start_up():
    config = RiskConfig(account_id=ACCOUNT)

    changed = with_change(config, "limits.max_order_notional", 5_000)

    assert changed.limits.max_order_notional == 5_000.0
    assert config.limits.max_order_notional is None
    with pytest.raises(ConfigChangeError, match=r"limits\.max_open_orders.*greater than 0"):
        with_change(config, "limits.max_open_orders", -1)
    with pytest.raises(ConfigChangeError, match="not a setting of limits"):
        with_change(config, "limits.max_order_size", 1)
    with pytest.raises(ConfigChangeError, match="cannot be changed at run time"):
        with_change(config, "account_id", "other")


@pytest.mark.parametrize(
    ("field", "written", "canonical"),
    [
        ("kind", "ATR_Risk", "atr_risk"),
        ("kind", "VOLATILITY_TARGET", "volatility_target"),
        ("at", "Fill", "fill"),
    ],
)
def test_a_sizing_choice_is_read_in_any_case(field: str, written: str, canonical: str) -> None:
    sizing = SizingConfig.model_validate({field: written})

    assert getattr(sizing, field) == canonical


@pytest.mark.parametrize(
    ("field", "written", "valid"),
    [
        ("kind", "atr", "'fixed_fraction', 'all_equity', 'atr_risk' or 'volatility_target'"),
        ("at", "close", "'decision' or 'fill'"),
    ],
)
def test_an_unknown_sizing_choice_names_the_field_and_the_valid_values(
    field: str, written: str, valid: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        SizingConfig.model_validate({field: written})

    assert field in str(caught.value)
    assert valid in str(caught.value)


def test_a_run_time_change_of_a_choice_is_read_in_any_case():
    config = RiskConfig(account_id=ACCOUNT)

    assert with_change(config, "sizing.kind", "All_Equity").sizing.kind == "all_equity"
    with pytest.raises(ConfigChangeError, match=r"sizing\.kind.*'fixed_fraction', 'all_equity'"):
        with_change(config, "sizing.kind", "everything")


def _change(key: str, value: float | int | str, t: int = T0) -> ChangeConfig:
    return ChangeConfig(
        event_id=derive_event_id("test-change", key, str(value)),
        source="test",
        event_time=t,
        target="risk",
        key=key,
        value=value,
        operator="risk-officer",
    )


def test_change_config_command_applies_a_new_limit_at_once():
    engine = make_engine()
    engine.on_market(bar(T0, 100.0))

    (alert,) = engine.on_control(_change("limits.max_order_quantity", 5))
    denied = decide(engine, intent(T0, OrderSide.BUY, 6.0))

    assert isinstance(alert, RiskAlert)
    assert alert.code == "CONFIG_CHANGED"
    assert "limits.max_order_quantity changed from None to 5" in alert.message
    assert isinstance(denied, OrderDenied)
    assert denied.reasons == (RiskReason.ORDER_QUANTITY_LIMIT,)


def test_invalid_change_config_alerts_and_leaves_the_config_unchanged():
    engine = make_engine(max_order_quantity=10.0)
    engine.on_market(bar(T0, 100.0))
    before = engine.config

    (alert,) = engine.on_control(_change("limits.max_order_quantity", -5))
    approved = decide(engine, intent(T0, OrderSide.BUY, 10.0))

    assert isinstance(alert, RiskAlert)
    assert alert.code == "CONFIG_CHANGE_REJECTED"
    assert "limits.max_order_quantity" in alert.message
    assert engine.config == before
    assert isinstance(approved, OrderApproved)


def test_change_config_for_another_service_is_ignored():
    engine = make_engine()
    command = _change("limits.max_order_quantity", 5).model_copy(update={"target": "features"})

    assert engine.on_control(command) == []
    assert engine.config.limits.max_order_quantity is None


def test_a_full_config_given_as_the_controls_keeps_its_controls_and_takes_the_new_account():
    config = RiskConfig(account_id="OLD", atr_period=7, history_length=50)

    moved = config.for_account("NEW")

    assert moved.account_id == "NEW"
    assert (moved.atr_period, moved.history_length) == (7, 50)
    assert moved.model_dump(exclude={"account_id"}) == config.model_dump(exclude={"account_id"})
