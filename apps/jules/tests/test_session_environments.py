"""``jules up`` and ``--mode kafka`` give each service the backtest's engine configuration, nested
as it is: the risk and order-router settings read from those variables build the same engines."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

import pytest
from jules.session_env import service_environments
from jules_backtest.config import BacktestConfig, load_config
from jules_backtest.examples import small_config
from jules_market_data.config import MarketDataSettings
from jules_order_router.config import OrderRouterSettings
from jules_risk.config import RiskSettings
from jules_risk.engine import RiskEngine
from jules_runtime.settings import ServiceSettings, load_settings

from .backtest_helpers import DATA_DIR, REPO_ROOT

S = TypeVar("S", bound=ServiceSettings)


def _load(monkeypatch: pytest.MonkeyPatch, prefix: str, env: dict[str, str], cls: type[S]) -> S:
    for name in list(os.environ):
        if name.startswith(prefix):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(prefix + name, value)
    return load_settings(cls)


def test_engine_options_reach_the_services_engines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = small_config(DATA_DIR, tmp_path / "run")
    raw["risk"] = {**raw["risk"], "atr_period": 21, "history_length": 250, "cancel_on_halt": False}
    raw["risk"]["limits"] = {**raw["risk"]["limits"], "price_collar_bps": None}
    raw["execution"] = {
        "fill_model": {"kind": "kyle_lambda", "impact_lambda": 0.01},
        "latency_ns": 5,
        "max_participation": 0.2,
    }
    config = BacktestConfig.model_validate(raw)

    environments = service_environments(config, tmp_path / "session", None)
    risk = _load(monkeypatch, "JULES_RISK__", environments["risk"], RiskSettings)
    router = _load(
        monkeypatch, "JULES_ORDER_ROUTER__", environments["order-router"], OrderRouterSettings
    )

    engine = RiskEngine(risk.risk_config)
    assert (engine.config.atr_period, engine.config.history_length) == (21, 250)
    assert engine.config.cancel_on_halt is False
    assert engine.config == config.risk.for_account(config.account.account_id)
    assert engine.config.limits.price_collar_bps is None
    account = config.account
    assert router.router_config == config.execution.for_account(
        account.account_id, account.currency, account.starting_cash
    )


@pytest.mark.parametrize("inline", [False, True])
def test_the_instrument_table_reaches_risk_and_the_order_router(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inline: bool
) -> None:
    table = Path(__file__).resolve().parents[3] / "examples" / "instruments.yaml"
    config = BacktestConfig.model_validate(small_config(DATA_DIR, tmp_path / "run"))
    config = config.model_copy(update={"instruments": table})
    if inline:
        config = config.model_copy(
            update={"instruments": tuple(config.instrument_table().values())}
        )

    environments = service_environments(config, tmp_path / "session", None)
    risk = _load(monkeypatch, "JULES_RISK__", environments["risk"], RiskSettings)
    router = _load(
        monkeypatch, "JULES_ORDER_ROUTER__", environments["order-router"], OrderRouterSettings
    )

    assert risk.instrument_table() == router.instrument_table() == config.instrument_table()
    assert risk.instrument_table()["6EH4.XCME"].multiplier == 125_000.0


def test_a_book_driven_session_has_the_market_data_service_publish_whole_books(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = load_config(
        REPO_ROOT / "examples" / "ticks" / "btcusdt_binance_book.yaml", data_dir=DATA_DIR
    )
    bars = BacktestConfig.model_validate(small_config(DATA_DIR, tmp_path / "run"))

    environments = service_environments(book, tmp_path / "session", None)
    settings = _load(
        monkeypatch, "JULES_MARKET_DATA__", environments["market-data"], MarketDataSettings
    )
    assert settings.book_depth == 20
    assert "BOOK_DEPTH" not in service_environments(bars, tmp_path / "s2", None)["market-data"]
