"""The service's settings: a RouterConfig from JULES_ORDER_ROUTER__* variables (nested for the
fill model and fees); an invalid value names its variable; the command exits 2 on it."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from jules_order_router.cli import app
from jules_order_router.config import DEFAULT_ACCOUNT_ID, OrderRouterSettings
from jules_order_router.engine import (
    BarCloseSlippage,
    FeeSchedule,
    FillModel,
    KyleLambda,
    NextBarOpen,
    RouterConfig,
    VenueConfig,
)
from jules_runtime.errors import ConfigError
from jules_runtime.settings import load_settings
from typer.testing import CliRunner

PREFIX = "JULES_ORDER_ROUTER__"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Set JULES_ORDER_ROUTER__<NAME> variables (and clear any the test process has)."""
    for name in list(os.environ):
        if name.startswith(PREFIX):
            monkeypatch.delenv(name)

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(PREFIX + name.upper(), value)

    return set_env


def test_the_settings_build_the_engine_configuration_from_nested_variables(
    env: Callable[..., None],
) -> None:
    env(
        account_id="paper-01",
        currency="USDT",
        starting_cash="250000",
        engine__fill_model__kind="bar_close_slippage",
        engine__fill_model__slippage_bps="2.5",
        engine__fees__taker_bps="5",
        engine__fees__maker_bps="-1",
        engine__latency_ns="1000000",
        engine__max_participation="0.1",
        engine__instruments='["BTCUSD.COINBASE","ETHUSD.COINBASE"]',
    )

    settings = load_settings(OrderRouterSettings)

    assert settings.router_config == RouterConfig(
        account_id="paper-01",
        currency="USDT",
        starting_cash=250_000.0,
        fill_model=BarCloseSlippage(slippage_bps=2.5),
        fees=FeeSchedule(taker_bps=5.0, maker_bps=-1.0),
        latency_ns=1_000_000,
        max_participation=0.1,
        instruments=("BTCUSD.COINBASE", "ETHUSD.COINBASE"),
    )
    assert settings.http_port == 8105
    assert settings.consumer_group == "jules-order-router"


def test_by_default_the_backtest_account_fills_at_the_next_bars_open_without_fees(
    env: Callable[..., None],
) -> None:
    env()

    config = load_settings(OrderRouterSettings).router_config

    assert config == RouterConfig(account_id="BACKTEST", starting_cash=100_000.0)
    assert config.fill_model == NextBarOpen()
    assert config.fees == FeeSchedule()


@pytest.mark.parametrize(
    "model", [KyleLambda(impact_lambda=0.01), BarCloseSlippage(slippage_bps=2.5), NextBarOpen()]
)
def test_the_fill_model_and_fees_can_also_be_json_variables(
    env: Callable[..., None], model: FillModel
) -> None:
    fees = FeeSchedule(maker_bps=-1.0, taker_bps=4.0, min_fee=0.5)
    env(engine__fill_model=model.model_dump_json(), engine__fees=fees.model_dump_json())

    config = load_settings(OrderRouterSettings).router_config

    assert (config.fill_model, config.fees) == (model, fees)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"account_id": ""}, "JULES_ORDER_ROUTER__ACCOUNT_ID=''"),
        (
            {"engine__fill_model__kind": "magic"},
            "JULES_ORDER_ROUTER__ENGINE__FILL_MODEL__KIND='magic'",
        ),
        (
            {"engine__fill_model__kind": "l1_quote", "engine__fill_model__slippage_bps": "2"},
            "JULES_ORDER_ROUTER__ENGINE__FILL_MODEL__SLIPPAGE_BPS='2': not a parameter of "
            "fill model 'l1_quote'",
        ),
        (
            {"engine__fill_model__kind": "kyle_lambda"},
            "JULES_ORDER_ROUTER__ENGINE__FILL_MODEL__IMPACT_LAMBDA: Field required",
        ),
        (
            {
                "engine__fill_model__kind": "bar_close_slippage",
                "engine__fill_model__slippage_bps": "-1",
            },
            "JULES_ORDER_ROUTER__ENGINE__FILL_MODEL__SLIPPAGE_BPS='-1': Input should be "
            "greater than",
        ),
        ({"engine__fees__taker_bps": "-2"}, "JULES_ORDER_ROUTER__ENGINE__FEES__TAKER_BPS='-2'"),
        (
            {"engine__max_participation": "1.5"},
            "JULES_ORDER_ROUTER__ENGINE__MAX_PARTICIPATION='1.5'",
        ),
        ({"engine__latency_ns": "-1"}, "JULES_ORDER_ROUTER__ENGINE__LATENCY_NS='-1'"),
        ({"starting_cash": "nan"}, "JULES_ORDER_ROUTER__STARTING_CASH='nan'"),
        ({"currency": "usd"}, "JULES_ORDER_ROUTER__CURRENCY='usd'"),
        (
            {"engine__instruments": '["A.B","A.B"]'},
            'JULES_ORDER_ROUTER__ENGINE__INSTRUMENTS=\'["A.B","A.B"]\': Value error, '
            "instruments lists A.B more than once",
        ),
        (
            {"engine__fill_model__slipage_bps": "1"},
            "did you mean JULES_ORDER_ROUTER__ENGINE__FILL_MODEL__",
        ),
    ],
)
def test_an_invalid_value_names_its_variable(
    env: Callable[..., None], values: dict[str, str], expected: str
) -> None:
    env(**values)

    with pytest.raises(ConfigError) as caught:
        load_settings(OrderRouterSettings)

    assert expected in str(caught.value)


def test_the_whole_venue_can_be_one_json_variable(env: Callable[..., None]) -> None:
    venue = VenueConfig(fill_model=BarCloseSlippage(slippage_bps=2.5), latency_ns=5)
    env(engine=venue.model_dump_json())

    config = load_settings(OrderRouterSettings).router_config

    assert config == venue.for_account(DEFAULT_ACCOUNT_ID, "USD", 100_000.0)


def test_check_config_prints_the_settings_or_exits_2_naming_the_variable(
    env: Callable[..., None],
) -> None:
    env(account_id="paper-01", engine__fill_model__kind="l2_book")

    shown = CliRunner().invoke(app, ["check-config"])
    env(engine__max_participation="0")
    refused = CliRunner().invoke(app, ["check-config"])

    assert shown.exit_code == 0, shown.output
    assert '"kind": "l2_book"' in shown.output
    assert refused.exit_code == 2
    assert "JULES_ORDER_ROUTER__ENGINE__MAX_PARTICIPATION='0'" in refused.output


def test_a_full_router_config_given_as_the_venue_keeps_its_venue_only() -> None:
    config = VenueConfig(latency_ns=5).for_account("OLD", "EUR", 5.0)

    moved = config.for_account("NEW", "USD", 100_000.0)

    assert (moved.account_id, moved.currency, moved.starting_cash) == ("NEW", "USD", 100_000.0)
    assert moved.latency_ns == 5


def test_the_dedup_window_is_a_setting(env: Callable[..., None]) -> None:
    assert load_settings(OrderRouterSettings).dedup_window == 100_000
    env(dedup_window="10")
    assert load_settings(OrderRouterSettings).dedup_window == 10
    env(dedup_window="0")
    with pytest.raises(ConfigError, match="JULES_ORDER_ROUTER__DEDUP_WINDOW='0'"):
        load_settings(OrderRouterSettings)


def test_a_fill_model_kind_variable_is_read_in_any_case(env: Callable[..., None]) -> None:
    env(engine__fill_model__kind="L1_Quote")

    assert load_settings(OrderRouterSettings).engine.fill_model.kind == "l1_quote"

    env(engine__fill_model__kind="l1")
    with pytest.raises(ConfigError) as caught:
        load_settings(OrderRouterSettings)
    assert "JULES_ORDER_ROUTER__ENGINE__FILL_MODEL__KIND='l1'" in str(caught.value)
    assert "'next_bar_open', 'bar_close_slippage', 'l1_quote'" in str(caught.value)
