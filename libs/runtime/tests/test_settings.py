"""Service settings: env prefix per service, `__` nesting, clear start-up errors."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import pytest
from jules_runtime.errors import ConfigError
from jules_runtime.settings import ServiceSettings, load_settings, service_settings_config
from pydantic import BaseModel, ConfigDict, Field, SecretStr


class RiskSettings(ServiceSettings):
    service_name: ClassVar[str] = "risk"
    model_config = service_settings_config("risk")

    max_order_notional: Annotated[float, Field(gt=0)] = 100_000.0


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("JULES_RISK__"):
            monkeypatch.delenv(name)


def test_defaults_load_without_any_variable():
    settings = load_settings(RiskSettings)
    assert settings.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert settings.consumer_group == "jules-risk"
    assert settings.client_id == "jules-risk"


def test_variables_with_the_service_prefix_and_nesting_are_read(monkeypatch):
    monkeypatch.setenv("JULES_RISK__MAX_ORDER_NOTIONAL", "2500.5")
    monkeypatch.setenv("JULES_RISK__KAFKA__BOOTSTRAP_SERVERS", "10.0.0.1:9092")
    monkeypatch.setenv("JULES_RISK__RUN_SCOPE", "bt-run1")
    settings = load_settings(RiskSettings)
    assert settings.max_order_notional == 2500.5
    assert settings.kafka.bootstrap_servers == "10.0.0.1:9092"
    assert settings.consumer_group == "bt-run1.jules-risk"


def test_overrides_from_flags_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("JULES_RISK__MAX_ORDER_NOTIONAL", "2500")
    assert load_settings(RiskSettings, max_order_notional=10.0).max_order_notional == 10.0


def test_invalid_value_names_the_variable_and_the_value(monkeypatch):
    monkeypatch.setenv("JULES_RISK__KAFKA__LINGER_MS", "soon")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(RiskSettings)
    message = str(excinfo.value)
    assert "invalid configuration for service 'risk'" in message
    assert "JULES_RISK__KAFKA__LINGER_MS='soon'" in message


class _Account(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    api_key: SecretStr | None = None


class VaultSettings(ServiceSettings):
    service_name: ClassVar[str] = "vault"
    model_config = service_settings_config("vault")

    accounts: tuple[_Account, ...] = ()
    token: Annotated[SecretStr, Field(min_length=32)] | None = None
    retries: int = 1


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("JULES_VAULT__ACCOUNTS", '{"name": "a", "api_key": "sentinel-8f3a1c"}'),  # not a list
        ("JULES_VAULT__TOKEN", "sentinel-8f3a1c"),  # too short
    ],
)
def test_an_invalid_value_that_may_hold_a_secret_is_not_echoed(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("JULES_VAULT__RETRIES", "often")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(VaultSettings)
    message = str(excinfo.value)
    assert f"{variable} (value not shown: it may hold secrets):" in message
    assert "sentinel-8f3a1c" not in message
    assert "JULES_VAULT__RETRIES='often'" in message  # a plain setting's value still shows


def test_negative_limit_is_refused(monkeypatch):
    monkeypatch.setenv("JULES_RISK__MAX_ORDER_NOTIONAL", "-1")
    with pytest.raises(
        ConfigError, match="MAX_ORDER_NOTIONAL='-1': Input should be greater than 0"
    ):
        load_settings(RiskSettings)


def test_unknown_variable_with_the_prefix_is_refused_with_a_suggestion(monkeypatch):
    monkeypatch.setenv("JULES_RISK__MAX_ORDER_NOTIONAl", "5")
    monkeypatch.setenv("JULES_RISK__MAX_ORDR_NOTIONAL", "5")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(RiskSettings)
    assert "JULES_RISK__MAX_ORDR_NOTIONAL: unknown setting; did you mean " in str(excinfo.value)
    assert "JULES_RISK__MAX_ORDER_NOTIONAL?" in str(excinfo.value)


def test_inconsistent_kafka_timeouts_are_refused(monkeypatch):
    monkeypatch.setenv("JULES_RISK__KAFKA__SESSION_TIMEOUT_MS", "6000")
    monkeypatch.setenv("JULES_RISK__KAFKA__HEARTBEAT_INTERVAL_MS", "3000")
    with pytest.raises(ConfigError, match="heartbeat_interval_ms"):
        load_settings(RiskSettings)


def test_the_delivery_timeout_is_a_setting_and_must_outlast_a_request(monkeypatch):
    monkeypatch.setenv("JULES_RISK__KAFKA__DELIVERY_TIMEOUT_MS", "300000")
    assert load_settings(RiskSettings).kafka.delivery_timeout_ms == 300_000
    monkeypatch.setenv("JULES_RISK__KAFKA__DELIVERY_TIMEOUT_MS", "20000")
    with pytest.raises(ConfigError, match="delivery_timeout_ms"):
        load_settings(RiskSettings)  # shorter than request_timeout_ms (30 s)


def test_settings_are_frozen():
    settings = load_settings(RiskSettings)
    with pytest.raises(ValueError, match="frozen"):
        settings.max_order_notional = 1.0


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    fraction: float = 1.0
    count: int = 1
    enabled: bool = False
    label: str = "x"
    side: Literal["BUY", "SELL"] = "BUY"


class StrictSettings(ServiceSettings):
    service_name: ClassVar[str] = "strict"
    model_config = service_settings_config("strict")

    section: Strict = Strict()


def test_nested_strict_values_from_the_environment_are_read_as_json(monkeypatch):
    monkeypatch.setenv("JULES_STRICT__SECTION__FRACTION", "0.25")
    monkeypatch.setenv("JULES_STRICT__SECTION__COUNT", "7")
    monkeypatch.setenv("JULES_STRICT__SECTION__ENABLED", "true")
    monkeypatch.setenv("JULES_STRICT__SECTION__LABEL", "42")  # text stays text
    monkeypatch.setenv("JULES_STRICT__SECTION__SIDE", "SELL")
    section = load_settings(StrictSettings).section
    assert section == Strict(fraction=0.25, count=7, enabled=True, label="42", side="SELL")


def test_a_nested_value_of_the_wrong_kind_is_still_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("JULES_STRICT__SECTION__COUNT", '"7"')  # a JSON string, not a number
    with pytest.raises(ConfigError, match="JULES_STRICT__SECTION__COUNT"):
        load_settings(StrictSettings)


def test_choices_are_read_in_any_case(monkeypatch):
    monkeypatch.setenv("JULES_RISK__LOG__LEVEL", "debug")
    monkeypatch.setenv("JULES_RISK__KAFKA__CLIENT", "Confluent")
    monkeypatch.setenv("JULES_RISK__KAFKA__COMPRESSION_TYPE", "ZSTD")
    monkeypatch.setenv("JULES_RISK__KAFKA__AUTO_OFFSET_RESET", "Latest")
    monkeypatch.setenv("JULES_RISK__KAFKA__ISOLATION_LEVEL", "READ_UNCOMMITTED")

    settings = load_settings(RiskSettings)

    assert settings.log.level == "DEBUG"
    assert (settings.kafka.client, settings.kafka.compression_type) == ("confluent", "zstd")
    assert settings.kafka.auto_offset_reset == "latest"
    assert settings.kafka.isolation_level == "read_uncommitted"


def test_an_unknown_choice_names_the_variable_and_the_valid_values(monkeypatch):
    monkeypatch.setenv("JULES_RISK__LOG__LEVEL", "verbose")

    with pytest.raises(ConfigError) as caught:
        load_settings(RiskSettings)

    message = str(caught.value)
    assert "JULES_RISK__LOG__LEVEL='verbose'" in message
    assert "'TRACE', 'DEBUG', 'INFO', 'SUCCESS', 'WARNING', 'ERROR' or 'CRITICAL'" in message
