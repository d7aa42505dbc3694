"""A model's whole life on real data: trained on CPU, exported and validated, registered,
promoted through the out-of-sample gate, served in an embedded backtest, then swapped in live
by the signal service running as its own process against the real broker."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from jules.cli import app as jules_cli
from jules.shadow_cmd import read_signals
from jules_audit.store import verify
from jules_contracts import Bar, SignalGenerated
from jules_contracts.enums import ModelStage
from jules_contracts.topics import SIGNALS
from jules_features.engine import FeatureEngine, FeatureSchema
from jules_market_data.loaders import load
from jules_runtime.bus import KafkaBus
from jules_runtime.settings import KafkaSettings
from jules_signal.engine import OnnxPolicy
from jules_signal.model_store import ModelStore
from jules_trainer.cli import app as train_cli
from jules_trainer.registry import ModelRegistry
from typer.testing import CliRunner

from .bus_helpers import create_scoped_topics, new_scope
from .service_process import start_service
from .test_model_swap import decide, publish_pairs, wait_processed
from .test_signal_service import DATA_DIR, wait_for_metric

COINBASE = "QuantConnect_Lean/Data/crypto/coinbase/minute/btcusd"
TRAIN_DAYS = ("20180404", "20180405")
LIVE_DAY = "20180406"  # after every training window: out of sample for both versions
FEATURES = ("logret_1", "logret_5", "rsi_14", "natr_14")
NAME = "lifecycle"
LENIENT = ["--min-sharpe", "-1000000", "--max-drawdown", "0.99", "--min-trades", "1"]


def train_config(path: Path, registry: Path) -> Path:
    """Two real days, scale-free features, a small supervised MLP: seconds on one core."""
    config: dict[str, Any] = {
        "name": NAME,
        "data_dir": str(DATA_DIR),
        "data": [
            {"path": f"{COINBASE}/{day}_trade.zip", "instrument_id": "BTCUSD.COINBASE"}
            for day in TRAIN_DAYS
        ],
        "features": list(FEATURES),
        "env": {"episode_bars": 240, "reward_scale": 100.0},
        "risk": {"sizing": {"kind": "fixed_fraction", "fraction": 0.5}},
        "execution": {"fees": {"taker_bps": 5}},
        "registry_dir": str(registry),
        "seed": 11,
        "supervised": {"epochs": 4, "patience": 2, "net_arch": [16], "horizon": 5},
    }
    path.write_text(yaml.safe_dump(config))
    return path


def promote(registry: Path, version: str) -> list[str]:
    return ["models", "promote", NAME, version, "--to", "production", "--registry", str(registry)]


def invoke(app: Any, args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result.output


def live_bars() -> list[Bar]:
    path = DATA_DIR / COINBASE / f"{LIVE_DAY}_trade.zip"
    return [e for e in load(path, instrument_id="BTCUSD.COINBASE") if isinstance(e, Bar)]


def served(registry: Path, version: str, schema: FeatureSchema, **options: Any) -> OnnxPolicy:
    return OnnxPolicy.from_bytes(
        ModelStore(registry).read_model(NAME, version),
        live_schema_id=schema.schema_id,
        live_feature_names=schema.names,
        **options,
    )


def backtest_signals(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "orders.csv").open() as handle:
        return list(csv.DictReader(handle))


async def test_a_model_is_trained_gated_backtested_and_swapped_in_live(kafka, tmp_path):
    registry = tmp_path / "registry"
    config = train_config(tmp_path / "train.yaml", registry)

    # Train two versions (two seeds) end to end: export, validation, registration.
    invoke(train_cli, ["supervised", "--config", str(config), "--no-progress"])
    invoke(train_cli, ["supervised", "--config", str(config), "--no-progress", "--set", "seed=12"])
    models = ModelRegistry(registry)
    assert [m.version for m in models.list(NAME)] == ["1", "2"]
    assert all(m.stage is ModelStage.CANDIDATE for m in models.list(NAME))
    for version in ("1", "2"):
        folder = registry / NAME / version
        assert {"model.onnx", "model.pt", "card.json", "experiment.json"} <= {
            p.name for p in folder.iterdir()
        }

    # The gate is a real backtest: a strict threshold refuses, and so does promotion after it.
    strict = CliRunner().invoke(
        train_cli,
        [*promote(registry, "1"), "--min-sharpe", "1000"],
    )
    assert strict.exit_code == 1, strict.output
    assert models.stages(NAME).production is None
    for version in ("1", "2"):
        invoke(
            train_cli,
            ["models", "gate", NAME, version, "--registry", str(registry), *LENIENT],
        )
    invoke(train_cli, promote(registry, "1"))
    gate = json.loads((registry / NAME / "1" / "gate.json").read_text())
    assert gate["passed"] is True
    assert ModelStore(registry).production_version(NAME) == "1"

    # Serve the production model in an embedded backtest on a later, unseen day.
    run_dir = tmp_path / "backtest"
    backtest = {
        "name": "lifecycle-backtest",
        "data_dir": str(DATA_DIR),
        "data": [{"path": f"{COINBASE}/{LIVE_DAY}_trade.zip", "instrument_id": "BTCUSD.COINBASE"}],
        "strategy": {"kind": "onnx", "model": str(registry / NAME / "1" / "model.onnx")},
        "risk": {"sizing": {"kind": "fixed_fraction", "fraction": 0.5}},
        "execution": {"fees": {"taker_bps": 5}},
        "monte_carlo": {"samples": 50},
        "output_dir": str(run_dir),
    }
    (tmp_path / "backtest.yaml").write_text(yaml.safe_dump(backtest))
    invoke(jules_cli, ["backtest", "--config", str(tmp_path / "backtest.yaml")])
    orders = backtest_signals(run_dir)
    assert orders, "the production model sent no order on the backtest day"
    assert {order["strategy_id"] for order in orders} <= {NAME, "close-at-end"}
    assert any(order["strategy_id"] == NAME for order in orders)
    assert verify(run_dir / "audit").ok

    # Live: the signal service serves version 1 from the registry; version 2 is promoted and
    # swapped in between two pairs; every pair is decided by exactly one version.
    schema = FeatureSchema.from_names(FEATURES)
    engine = FeatureEngine(schema)
    bars = live_bars()[:400]
    pairs = [(bar, engine.on_bar(bar)) for bar in bars]
    half = len(pairs) // 2
    first = served(registry, "1", schema)
    expected: list[SignalGenerated] = decide(first, pairs[:half])
    expected += decide(served(registry, "2", schema, targets=first.targets), pairs[half:])
    assert {s.model_version for s in expected} == {"1", "2"}

    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    service = start_service(
        "signal",
        kafka.bootstrap,
        scope,
        tmp_path,
        FEATURES=json.dumps(list(FEATURES)),
        FEATURE_SCHEMA_ID=schema.schema_id,
        MODEL_REGISTRY=str(registry),
        MODEL_NAME=NAME,
    )
    try:
        service.wait_ready()
        async with KafkaBus("test-feed", settings, scope) as feed:
            await publish_pairs(feed, pairs[:half])
            await wait_processed(service, scope, half)
            invoke(train_cli, promote(registry, "2"))
            # The operator's command, as its own process (it runs its own event loop).
            swap = subprocess.run(  # noqa: ASYNC221 - a short command, the service is elsewhere
                [
                    str(Path(sys.executable).parent / "jules"),
                    *("swap-model", NAME, "2", "--stage", "production"),
                    *("--bootstrap", kafka.bootstrap, "--scope", scope, "--operator", "ops"),
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert swap.returncode == 0, swap.stdout + swap.stderr
            await wait_for_metric(
                service,
                "jules_signal_model_info",
                1,
                model_name=NAME,
                model_version="2",
                stage="PRODUCTION",
            )
            await publish_pairs(feed, pairs[half:])
            await wait_processed(service, scope, len(pairs))
        signals = await read_signals(kafka.bootstrap, SIGNALS.scoped(scope))
    finally:
        status = service.terminate()
    assert status == 0, service.log.read_text()[-3000:]
    assert signals == expected
    assert ModelStore(registry).production_version(NAME) == "2"
    invoke(train_cli, ["models", "rollback", NAME, "--registry", str(registry)])
    assert ModelStore(registry).production_version(NAME) == "1"
