"""Venue configs: secrets from the environment or files, never shown."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from jules_runtime.logging import logger
from jules_venues import VenueConfig, VenueConfigError, load_venue_configs
from pydantic import ValidationError

KEY = "sentinel-key-1b8f3c"
SECRET = "sentinel-secret-9d2e7a"


def test_secrets_from_env_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BINANCE_KEY", KEY)
    monkeypatch.setenv("BINANCE_SECRET", SECRET)
    config = VenueConfig(name="binance", api_key_env="BINANCE_KEY", api_secret_env="BINANCE_SECRET")
    sink = io.StringIO()
    handler = logger.add(sink, level="DEBUG", serialize=True)
    try:
        logger.debug("config {} {!r}", config, config)
        logger.bind(config=config).info("bound")
    finally:
        logger.remove(handler)
    shown = [
        repr(config),
        str(config),
        config.model_dump_json(),
        str(config.model_dump()),
        sink.getvalue(),
    ]
    for text in shown:
        assert KEY not in text
        assert SECRET not in text
    assert config.ccxt_credentials() == {"apiKey": KEY, "secret": SECRET}


def test_secrets_from_files(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(f"{KEY}\n")
    (tmp_path / "secret").write_text(SECRET)
    config = VenueConfig(
        name="binance", api_key_file=tmp_path / "key", api_secret_file=tmp_path / "secret"
    )
    assert config.ccxt_credentials() == {"apiKey": KEY, "secret": SECRET}
    assert KEY not in repr(config)


def test_validation_errors_do_not_show_secrets() -> None:
    with pytest.raises(ValidationError) as raised:
        VenueConfig.model_validate(
            {"name": "binance", "api_key": KEY, "api_secret": SECRET, "book_depth": 0}
        )
    assert KEY not in str(raised.value)
    assert SECRET not in str(raised.value)
    with pytest.raises(ValidationError, match="MISSING_VAR") as raised:
        VenueConfig.model_validate(
            {"name": "binance", "api_key": KEY, "api_secret_env": "MISSING_VAR"}
        )
    assert KEY not in str(raised.value)


def test_instruments_and_symbols() -> None:
    config = VenueConfig(name="binance", instruments={"BTCUSDT.BINANCE": "BTC/USDT"})
    assert config.symbol("BTCUSDT.BINANCE") == "BTC/USDT"
    assert config.instrument_of("BTC/USDT") == "BTCUSDT.BINANCE"
    assert config.ccxt_id == "binance"
    assert config.source == "venue:binance"
    with pytest.raises(VenueConfigError, match="not configured"):
        config.symbol("ETHUSDT.BINANCE")
    with pytest.raises(ValidationError, match="both trade as"):
        VenueConfig(name="binance", instruments={"A.X": "BTC/USDT", "B.X": "BTC/USDT"})


def test_load_venue_configs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K", KEY)
    path = tmp_path / "venues.yaml"
    path.write_text(
        "venues:\n"
        "  - name: binance\n"
        "    instruments: {BTCUSDT.BINANCE: BTC/USDT}\n"
        "    api_key_env: K\n"
        "    urls: {api: {public: http://127.0.0.1:1/api/v3}}\n"
    )
    configs = load_venue_configs(path)
    assert configs["binance"].urls == {"api": {"public": "http://127.0.0.1:1/api/v3"}}
    path.write_text(f"venues:\n  - name: binance\n    api_key: {KEY}\n    book_depth: -1\n")
    with pytest.raises(VenueConfigError, match="book_depth") as raised:
        load_venue_configs(path)
    assert KEY not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (f"venues:\n  - name: binance\n    api_key: {KEY}: x\n", "line 3, column"),
        (f"venues:\n  - name: binance\n    api_secret: [{SECRET}\n", "line 4, column 1"),
    ],
)
def test_invalid_yaml_is_located_without_quoting_the_line(
    tmp_path: Path, text: str, problem: str
) -> None:
    """PyYAML's message quotes the line at fault, which here holds a secret."""
    path = tmp_path / "venues.yaml"
    path.write_text(text)
    with pytest.raises(VenueConfigError, match="not valid YAML") as raised:
        load_venue_configs(path)
    assert problem in str(raised.value)
    assert KEY not in str(raised.value)
    assert SECRET not in str(raised.value)
