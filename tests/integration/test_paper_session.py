"""A paper session as a user runs it: `jules up --paper` streams the fake exchange's live market
through the six services, fills orders against the live book, shows positions and PnL in
`jules status`, survives `kill -9` of risk and the order-router (three times each, each time
once the service is back) with nothing lost or doubled, and what it recorded, replayed as a
backtest, gives the signals it gave live."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from jules_contracts import Event, OrderAccepted, OrderApproved, OrderDenied, SubmitOrder
from jules_contracts.codec import decode_event
from jules_contracts.orders import OrderFilled, OrderPartiallyFilled
from jules_contracts.portfolio import PortfolioSnapshot
from jules_contracts.signals import SignalGenerated
from jules_contracts.topics import (
    ORDERS_DECISIONS,
    ORDERS_EVENTS,
    ORDERS_INTENTS,
    PORTFOLIO,
    SIGNALS,
    Topic,
)

from .bus_helpers import read_topic
from .kafka_helpers import KafkaEndpoint
from .test_session_commands import REPO_ROOT, jules

pytestmark = pytest.mark.integration

PAPER = REPO_ROOT / "examples" / "paper.yaml"
CONSUMERS = ("order-router", "risk", "signal", "features")
"""The services whose consumer lag must reach 0 (audit's grows with every heartbeat)."""
SPEED = "5"  # recorded seconds per second: the 11 recorded minutes in about 130 s
KILLS = 3
"""Times each stateful service is killed with SIGKILL during the session."""


def _status(run_dir: Path) -> dict[str, Any]:
    result = jules("status", "--json", "--run-dir", str(run_dir))
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _supervised_pid(run_dir: Path, name: str) -> int:
    state = json.loads((run_dir / "logs" / f"{name}.supervisor.json").read_text())
    pid: int = state["pid"]
    return pid


def _restored(run_dir: Path, name: str, killed: int) -> bool:
    """Whether ``name`` runs again (a new process, restarted by its supervisor) and is ready."""
    state = json.loads((run_dir / "logs" / f"{name}.supervisor.json").read_text())
    if state["pid"] in (None, killed):
        return False
    session = json.loads((run_dir / "session.json").read_text())
    port = next(s["port"] for s in session["services"] if s["name"] == name)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as answer:
            return bool(answer.status == 204)
    except OSError:
        return False


def _replay_finished(run_dir: Path) -> bool:
    port = json.loads((run_dir / "session.json").read_text())["fake_exchange"]["port"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_fake/status", timeout=5) as answer:
        return bool(json.loads(answer.read())["finished"])


def _wait(condition: Any, what: str, timeout_s: float = 240) -> None:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() < start + timeout_s, f"timed out waiting for {what}"
        time.sleep(1)
    print(f"{what}: after {time.monotonic() - start:.0f}s")


async def _read_all(bootstrap: str, topic: str) -> list[Event]:
    """Every event on ``topic`` (watermarks left out), in partition order."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    records = await read_topic(bootstrap, topic, sum(ends.values()))
    events = [decode_event(r.value) for r in records if r.value is not None]
    return [e for e in events if e.event_type != "system.watermark"]


def _read(bootstrap: str, scope: str, topic: Topic) -> list[Event]:
    return asyncio.run(_read_all(bootstrap, topic.scoped(scope)))


def _audited_signals(audit_dir: Path) -> set[tuple[str, int, str, float]]:
    signals = set()
    for segment in sorted(audit_dir.glob("segment-*.jsonl")):
        for line in segment.read_text().splitlines():
            record = json.loads(line)
            if record["event_type"] == "signal.generated":
                payload = record["payload"]
                signals.add(
                    (
                        record["event_id"],
                        record["event_time"],
                        payload["direction"],
                        payload["target_weight"],
                    )
                )
    return signals


def _check_nothing_lost_or_doubled(kafka: KafkaEndpoint, scope: str) -> PortfolioSnapshot:
    """The order flow of the session, read back: every step once, the position their sum."""
    signals = [e for e in _read(kafka.bootstrap, scope, SIGNALS) if isinstance(e, SignalGenerated)]
    intents = _read(kafka.bootstrap, scope, ORDERS_INTENTS)
    decisions = _read(kafka.bootstrap, scope, ORDERS_DECISIONS)
    order_events = _read(kafka.bootstrap, scope, ORDERS_EVENTS)
    snapshots = [
        e for e in _read(kafka.bootstrap, scope, PORTFOLIO) if isinstance(e, PortfolioSnapshot)
    ]
    submitted = {e.event_id: e for e in intents if isinstance(e, SubmitOrder)}
    assert submitted, "no order in the session"
    assert signals
    assert {o.strategy_id for o in submitted.values()} == {"trade_flow"}
    # one decision per order (a redelivered decision keeps its id), none for an unknown order
    decided: dict[str, set[str]] = defaultdict(set)
    for decision in decisions:
        assert isinstance(decision, OrderApproved | OrderDenied)
        decided[decision.order.event_id].add(decision.event_id)
    assert set(decided) == set(submitted), "an order without a decision, or one decided twice"
    assert all(len(ids) == 1 for ids in decided.values())
    approved = {d.order.client_order_id for d in decisions if isinstance(d, OrderApproved)} or {"-"}
    accepted = Counter(
        e.client_order_id
        for e in {e.event_id: e for e in order_events}.values()
        if isinstance(e, OrderAccepted)
    )
    assert set(accepted) == approved
    assert set(accepted.values()) == {1}
    fills = {
        e.event_id: e for e in order_events if isinstance(e, OrderFilled | OrderPartiallyFilled)
    }
    assert fills, "no fill in the session"
    filled: dict[str, float] = defaultdict(float)
    cumulative: dict[str, float] = {}
    last = max(snapshots, key=lambda s: s.event_time)
    position = 0.0  # as of the last snapshot (a fill may follow it: the next bar had none)
    for fill in fills.values():
        filled[fill.client_order_id] += fill.last_quantity
        cumulative[fill.client_order_id] = max(
            cumulative.get(fill.client_order_id, 0.0), fill.cumulative_quantity
        )
        if fill.event_time <= last.event_time:
            position += fill.last_quantity if fill.side.value == "BUY" else -fill.last_quantity
    for client_order_id, quantity in filled.items():  # no fill doubled, none lost
        assert quantity == pytest.approx(cumulative[client_order_id], rel=1e-9)
    held = sum(p.quantity for p in last.positions)
    assert held == pytest.approx(position, abs=1e-9)
    return last


@pytest.mark.timeout(900)
def test_a_paper_session_fills_against_the_live_book_survives_kill_9_and_replays_the_same(
    kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    run_dir = tmp_path / "paper"
    up = ("up", "--paper", "-c", str(PAPER), "--run-dir", str(run_dir), "--speed", SPEED)
    started = jules(*up, "--bootstrap", kafka.bootstrap)
    killed: dict[str, int] = {}
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "paper session up" in started.stdout
        _wait(lambda: any(a["positions"] for a in _status(run_dir)["accounts"]), "a position")
        for _ in range(KILLS):  # mid-session, orders flowing: kill -9, each time once restored
            for name in ("order-router", "risk"):
                killed[name] = _supervised_pid(run_dir, name)
                os.kill(killed[name], signal.SIGKILL)
                _wait(lambda name=name: _restored(run_dir, name, killed[name]), f"{name} back")
        _wait(lambda: _replay_finished(run_dir), "the end of the recorded market")

        def settled() -> bool:
            report = _status(run_dir)
            lags = [s["lag"] for s in report["services"] if s["name"] in CONSUMERS]
            return bool(report["healthy"]) and all(lag == 0 for lag in lags)

        _wait(settled, "every service caught up")
        report = _status(run_dir)
        shown = jules("status", "--run-dir", str(run_dir))
    finally:
        stopped = jules("down", "--run-dir", str(run_dir))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "fake-exchange: stopped" in stopped.stdout

    services = {s["name"]: s for s in report["services"]}
    for name in killed:
        assert services[name]["restarts"] == KILLS
        assert services[name]["last_exit_code"] == -signal.SIGKILL
    (account,) = report["accounts"]
    assert account["account_id"] == "PAPER"
    assert "BTCUSDT.BINANCE" in shown.stdout
    assert "unrealized" in shown.stdout

    scope = json.loads((run_dir / "session.json").read_text())["scope"]
    last = _check_nothing_lost_or_doubled(kafka, scope)
    assert account["equity"] == pytest.approx(last.equity)

    # What the session recorded, replayed as a backtest, gives the signals it gave live.
    (trades,) = sorted((run_dir / "recorded").glob("BTCUSDT.BINANCE_trades_*.parquet"))
    config = yaml.safe_load(PAPER.read_text())
    config.update(
        data_dir=str(run_dir / "recorded"),
        instruments=str(PAPER.parent / config["instruments"]),
        output_dir=str(tmp_path / "replayed"),
        data=[
            {
                "path": trades.name,
                "events": ["trade", "bar"],
                "bar_interval": "1m",
                "price_type": "TRADE",
            }
        ],
    )
    replay_config = tmp_path / "replayed.yaml"
    replay_config.write_text(yaml.safe_dump(config))
    replayed = jules("backtest", "-c", str(replay_config))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    live_signals = _audited_signals(run_dir / "audit")
    assert live_signals, "no signal audited live"
    assert _audited_signals(tmp_path / "replayed" / "audit") == live_signals
