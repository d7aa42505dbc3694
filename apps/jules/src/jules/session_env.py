"""The environment of each service of a session or a Kafka-mode backtest, from a backtest config.

``jules up`` and ``jules backtest --mode kafka`` start the services as processes; each gets
its settings as environment variables (without its ``JULES_<SERVICE>__`` prefix). The engine
configurations travel whole, as the JSON of the backtest's nested sections, so a service
builds the same engines as the embedded run; so does the instrument table (a file by its
absolute path, inline entries as JSON), given to risk and the order-router alike.
"""

from __future__ import annotations

import json
from pathlib import Path

from jules_backtest.config import BacktestConfig, OnnxStrategyConfig
from jules_backtest.data import resolve
from jules_backtest.run import build_strategy_and_schema
from jules_signal.engine import PythonStrategyConfig

__all__ = ["service_environments"]


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def service_environments(
    config: BacktestConfig, run_dir: Path, speed: float | None
) -> dict[str, dict[str, str]]:
    """Each service's settings (environment variables without the prefix) for a session."""
    _, schema = build_strategy_and_schema(config)
    features = list(schema.names)
    strategy = config.strategy
    signal: dict[str, str] = {
        "FEATURES": _json(features),
        "FEATURE_SCHEMA_ID": schema.schema_id,
    }
    if isinstance(strategy, OnnxStrategyConfig):
        signal["MODEL_PATH"] = str(Path(strategy.model).resolve())
        signal["POLICY"] = _json(
            {"dead_band": strategy.dead_band, "min_weight_change": strategy.min_weight_change}
        )
    else:
        if isinstance(strategy, PythonStrategyConfig) and strategy.path is not None:
            module, _, name = strategy.path.rpartition(":")
            if module.endswith(".py"):  # a file: the services need not run in our folder
                path = f"{Path(module).resolve()}:{name}"
                strategy = strategy.model_copy(update={"path": path})
        signal["STRATEGY"] = _json(strategy.model_dump(mode="json"))
    account = config.account
    router = {
        "ACCOUNT_ID": account.account_id,
        "CURRENCY": account.currency,
        "STARTING_CASH": repr(account.starting_cash),
        "ENGINE": _json(config.execution.model_dump(mode="json")),
    }
    files = [
        {"path": str(resolve(config, source).resolve()), "instrument_id": source.instrument_id}
        for source in config.data
    ]
    market_data = {"FILES": _json(files)}
    book_depths = [source.book_depth for source in config.data if "book" in source.events]
    if book_depths:  # whole books on md.book.v1, as the backtest's book sources give them
        market_data["BOOK_DEPTH"] = str(max(book_depths))
    if speed is not None:
        market_data["SPEED"] = repr(speed)
    risk = {"ACCOUNT_ID": account.account_id, "ENGINE": _json(config.risk.model_dump(mode="json"))}
    table = config.instruments
    if table is not None:
        router["INSTRUMENTS"] = risk["INSTRUMENTS"] = (
            str(table.resolve())
            if isinstance(table, Path)
            else _json([spec.model_dump(mode="json") for spec in table])
        )
    return {
        "audit": {"DIRECTORY": str((run_dir / "audit").resolve())},
        "order-router": router,
        "risk": risk,
        "signal": signal,
        "features": {"FEATURES": _json(features)},
        "market-data": market_data,
    }
