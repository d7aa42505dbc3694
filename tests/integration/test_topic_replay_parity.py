"""Topic-replay backtests equal the embedded run (real broker, every service its own process).

One multi-instrument backtest (three Coinbase instruments, one day of minute bars, an SMA
crossover long/short, ATR stops and limits that deny orders, lots and minimums from the
shipped instrument table) runs embedded once; then through
Kafka three ways: one process per service; two replicas of features (splitting the partitions)
and of risk (each running the whole book); and with the order-router killed with SIGKILL in
the middle of the replay and started again. Every file of the run folder the embedded run
writes must come out byte for byte the same (orders, fills, trades, positions over time in
equity.csv, metrics, the report and the hash-chained audit log); only run.json differs.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from jules.backtest_kafka import (
    KafkaRunOptions,
    backtest_service_environments,
    create_run_topics,
    run_backtest_kafka,
)
from jules_audit.store import verify
from jules_backtest.config import BacktestConfig
from jules_backtest.data import DataQuality, load_bars
from jules_backtest.run import RunSummary, run_backtest
from jules_contracts import backtest_scope
from jules_contracts.topics import IN_BAND_WATERMARK_TOPICS
from jules_runtime.settings import KafkaSettings

from .kafka_helpers import KafkaEndpoint
from .service_process import ServiceProcess, http_text, start_service

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
COINBASE = "QuantConnect_Lean/Data/crypto/coinbase/minute"
RUN_FILES = (
    "orders.csv",
    "fills.csv",
    "trades.csv",
    "equity.csv",
    "metrics.json",
    "data_quality.json",
    "report.html",
)


def _config(output_dir: Path) -> BacktestConfig:
    data = [
        {"path": f"{COINBASE}/{s}/20180404_trade.zip", "instrument_id": f"{s.upper()}.COINBASE"}
        for s in ("btcusd", "ethusd", "ltcusd")
    ]
    config: dict[str, Any] = {
        "name": "parity",
        "data_dir": str(DATA_DIR),
        "data": data,
        "strategy": {"kind": "sma_cross", "fast": 10, "slow": 30, "mode": "long_short"},
        "features": ["rsi_14", "atr_14"],
        "risk": {
            "sizing": {"kind": "fixed_fraction", "fraction": 0.3},
            "limits": {"max_order_notional": 60_000, "max_gross_exposure": 150_000},
            "stops": {"stop_loss_atr_multiple": 3.0},
        },
        "execution": {"fees": {"taker_bps": 5}},
        "instruments": str(REPO_ROOT / "examples" / "instruments.yaml"),
        "account": {"account_id": "PARITY", "starting_cash": 100_000},
        "monte_carlo": {"samples": 100, "block": 20},
        "output_dir": str(output_dir),
    }
    return BacktestConfig.model_validate(config)


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> int:
    """Lockstep steps of the run: one per distinct bar time, and the final one."""
    bars = load_bars(_config(tmp_path_factory.mktemp("times")), DataQuality())
    return len({bar.event_time for bar in bars}) + 1


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> RunSummary:
    """The reference: the same backtest in embedded mode."""
    return run_backtest(_config(tmp_path_factory.mktemp("embedded") / "run"))


def assert_same_run(embedded: RunSummary, kafka_run: RunSummary) -> None:
    """The Kafka run's folder is the embedded run's, byte for byte (its audit log too)."""
    reference, candidate = embedded.run_dir, kafka_run.run_dir
    for name in RUN_FILES:
        assert (candidate / name).read_bytes() == (reference / name).read_bytes(), name
    audit = sorted(p.name for p in (reference / "audit").iterdir())
    assert sorted(p.name for p in (candidate / "audit").iterdir()) == audit
    for name in audit:
        assert (candidate / "audit" / name).read_bytes() == (
            reference / "audit" / name
        ).read_bytes()
    assert verify(candidate / "audit").ok
    assert kafka_run.metrics == embedded.metrics
    assert json.loads((candidate / "run.json").read_text())["mode"] == "kafka"


def test_the_reference_run_trades_denies_and_stops(embedded: RunSummary) -> None:
    orders = (embedded.run_dir / "orders.csv").read_text()

    assert orders.count("\n") > 40  # plenty of orders to compare
    assert "DENIED,ORDER_NOTIONAL_LIMIT" in orders
    assert "risk-stops" in orders  # ATR stop exits made by risk on market data
    assert {"BTCUSD.COINBASE", "ETHUSD.COINBASE", "LTCUSD.COINBASE"} <= set(
        re.findall(r"[A-Z]+\.COINBASE", (embedded.run_dir / "fills.csv").read_text())
    )


def test_a_backtest_through_kafka_equals_the_embedded_run(
    kafka: KafkaEndpoint, embedded: RunSummary, tmp_path: Path
) -> None:
    scope = backtest_scope(f"one-{time.time_ns()}")
    options = KafkaRunOptions(bootstrap=kafka.bootstrap, scope=scope, partitions=4)

    run = run_backtest_kafka(_config(tmp_path / "run"), options)

    assert_same_run(embedded, run)
    assert asyncio.run(_topics_of(kafka.bootstrap, scope)) == []  # deleted after the run
    logs = {p.name for p in (run.run_dir / "logs").iterdir()}
    assert logs == {"features-0.log", "signal-0.log", "risk-0.log", "order-router-0.log"}


def test_orders_sized_at_the_fill_replayed_through_kafka_equal_the_embedded_run(
    kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    def config(folder: Path) -> BacktestConfig:
        data = _config(folder).model_dump(mode="json")
        data["risk"]["sizing"] = {"kind": "fixed_fraction", "fraction": 0.3, "at": "fill"}
        return BacktestConfig.model_validate(data)

    embedded = run_backtest(config(tmp_path / "embedded"))
    audited = "".join(p.read_text() for p in sorted((embedded.run_dir / "audit").glob("*.jsonl")))
    assert audited.count('"order.resized"') >= 10  # the router resized orders at the open
    scope = backtest_scope(f"at-fill-{time.time_ns()}")
    options = KafkaRunOptions(bootstrap=kafka.bootstrap, scope=scope, partitions=2)

    assert_same_run(embedded, run_backtest_kafka(config(tmp_path / "kafka"), options))


def test_a_backtest_through_kafka_with_confluent_kafka_equals_the_embedded_run(
    kafka: KafkaEndpoint, embedded: RunSummary, tmp_path: Path
) -> None:
    """The other client (``--kafka-client confluent``): the replay and every service on it."""
    options = KafkaRunOptions(bootstrap=kafka.bootstrap, partitions=2, client="confluent")

    run = run_backtest_kafka(_config(tmp_path / "run"), options)

    assert_same_run(embedded, run)
    for service in ("features-0", "signal-0", "risk-0", "order-router-0"):
        [started] = _log_records(run.run_dir / "logs" / f"{service}.log", "service started")
        assert started["client"] == "confluent"


def test_two_replicas_of_features_and_of_risk_give_the_same_run(
    kafka: KafkaEndpoint, embedded: RunSummary, steps: int, tmp_path: Path
) -> None:
    options = KafkaRunOptions(
        bootstrap=kafka.bootstrap, partitions=4, replicas={"features": 2, "risk": 2}
    )

    run = run_backtest_kafka(_config(tmp_path / "run"), options)

    assert_same_run(embedded, run)
    logs = run.run_dir / "logs"
    for replica in ("features-0.log", "features-1.log"):  # each reads half the partitions
        started = _log_records(logs / replica, "lockstep started")
        assert [r["partitions"] for r in started] == [2]
    for replica in ("risk-0.log", "risk-1.log"):  # each ran every step of the whole book
        finished = _log_records(logs / replica, "lockstep finished")
        assert [r["steps"] for r in finished] == [steps]
    router = _log_records(logs / "order-router-0.log", "lockstep finished")
    assert router[0]["duplicates"] > 0  # the second risk's decisions, taken once


def test_the_order_router_killed_mid_replay_and_restarted_gives_the_same_run(
    kafka: KafkaEndpoint, embedded: RunSummary, steps: int, tmp_path: Path
) -> None:
    config = _config(tmp_path / "run")
    scope = backtest_scope(f"kill-{time.time_ns()}")
    logs = tmp_path / "logs"
    (logs / "restarted").mkdir(parents=True)
    asyncio.run(create_run_topics(KafkaSettings(bootstrap_servers=kafka.bootstrap), scope, 4))
    environments = backtest_service_environments(config)

    def start(name: str, log_dir: Path = logs) -> ServiceProcess:
        service = start_service(name, kafka.bootstrap, scope, log_dir, **environments[name])
        service.wait_ready()
        return service

    services = {name: start(name) for name in ("order-router", "risk", "signal", "features")}
    result: dict[str, RunSummary | BaseException] = {}

    def run() -> None:
        options = KafkaRunOptions(bootstrap=kafka.bootstrap, scope=scope, external=True)
        try:
            result["run"] = run_backtest_kafka(config, options)
        except BaseException as error:  # reported by the assertion below
            result["run"] = error

    runner = threading.Thread(target=run)
    try:
        runner.start()
        router = services["order-router"]
        _wait_for_progress(router, minimum_steps=200)
        router.process.kill()  # SIGKILL: no shutdown, nothing flushed
        assert router.process.wait(timeout=30) == -9
        services["order-router"] = start("order-router", logs / "restarted")
        runner.join(timeout=600)
        assert not runner.is_alive(), "the run did not finish"
    finally:
        for service in services.values():
            service.terminate()
    outcome = result["run"]
    assert isinstance(outcome, RunSummary), outcome

    assert_same_run(embedded, outcome)
    kept = asyncio.run(_topics_of(kafka.bootstrap, scope))  # external services: kept
    assert len(kept) == 2 * len(IN_BAND_WATERMARK_TOPICS)  # each with its dead letters
    restarted = _log_records(logs / "restarted" / "order-router.log", "lockstep finished")
    assert restarted[0]["steps"] == steps  # it processed the whole run again
    risk = _log_records(logs / "risk.log", "lockstep finished")
    assert risk[0]["duplicates"] > 0  # the restarted router's events before the kill


async def _topics_of(bootstrap: str, scope: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return [name for name in await admin.list_topics() if name.startswith(f"{scope}.")]
    finally:
        await admin.close()


def _wait_for_progress(service: ServiceProcess, minimum_steps: int, timeout_s: float = 120) -> None:
    """Wait until ``service`` has published ``minimum_steps`` lockstep steps."""
    deadline = time.monotonic() + timeout_s
    name = "jules_order_router_events_out_total"
    while time.monotonic() < deadline:
        snapshots = 0.0
        for line in http_text(service.base_url + "/metrics").splitlines():
            if line.startswith(name) and 'event_type="portfolio.snapshot"' in line:
                snapshots = float(line.split()[-1])
        if snapshots >= minimum_steps:
            return
        time.sleep(0.02)
    raise AssertionError(f"{service.name} did not reach {minimum_steps} steps")


def _log_records(log: Path, message: str) -> list[dict[str, Any]]:
    records = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("message") == message:
                records.append(record)
    return records
