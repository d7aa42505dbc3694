"""A broker restart in the middle of a Kafka-mode backtest, and under a live service.

The test runs its own broker (``kafka-local.sh`` in a temporary state folder, on fixed ports
so that the restarted broker is found where the clients left it), runs the first day of the
demo backtest through Kafka (one process per service, each client in turn), stops the broker
once the order-router has published a few hundred steps and starts it again 15 s later. The
run must finish with the embedded run's files, byte for byte; while the broker is away each
service reports ``degraded`` on ``/health`` and logs the outage once (and its end once),
however many lines its Kafka client would have written.

A live features service (consumer group, commits after processing) is fed bars before the
outage and, by a producer that waits for the broker, during it: after the restart it has
published every vector once, the same as the embedded engine's.

A whole `jules up` paper session (T4) loses its broker for 15 s: every service says
``degraded``, none dies, and afterwards every bar has its vector and every signal, order,
decision, acceptance and fill is there once.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from jules.backtest_kafka import KafkaRunOptions, run_backtest_kafka
from jules.session import SessionState, supervisor_state
from jules_backtest.config import BacktestConfig, load_config
from jules_backtest.run import RunSummary, run_backtest
from jules_contracts import Bar, decode_event
from jules_contracts.topics import FEATURES
from jules_features.engine import FeatureEngine, FeatureSchema
from jules_market_data.loaders import load
from jules_runtime.bus import KafkaBus
from jules_runtime.settings import KafkaClientName, KafkaSettings

from .bus_helpers import create_scoped_topics, new_scope, read_topic, wait_until
from .fuzz_driver import metric_total
from .kafka_helpers import BOOTSTRAP_RE, kafka_local, last_line
from .service_process import ServiceProcess, free_port, http_status, http_text, start_service
from .test_features_service import NAMES, real_bars
from .test_session_commands import audited_types, jules
from .test_session_kill_switch import audit_records, wait_for
from .test_topic_replay_parity import assert_same_run

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
OUTAGE_S = 15.0
SESSION_DATA = "QuantConnect_Lean/Data/crypto/coinbase/minute/btcusd/20180404_trade.zip"
STEPS_BEFORE_OUTAGE = 400
RUN_TIMEOUT_S = 200.0  # a run takes about 45 s, of which the outage 15 s


class RestartableBroker:
    """A kafka-local.sh broker on fixed ports whose data survives a stop and a start."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.port = str(free_port())
        self.controller_port = str(free_port())
        self.bootstrap = f"127.0.0.1:{self.port}"

    def start(self, *, fresh: bool = False) -> None:
        """Start it (``fresh``: with an empty data folder) and wait until it answers."""
        result = kafka_local(
            "start",
            state_dir=self.state_dir,
            port=self.port,
            controller_port=self.controller_port,
            fresh=fresh,
        )
        if result.returncode != 0 or last_line(result.stdout) != self.bootstrap:
            raise RuntimeError(f"broker start failed:\n{result.stdout}\n{result.stderr}")
        assert BOOTSTRAP_RE.match(self.bootstrap)

    def stop(self) -> None:
        """Stop it (harmless when it is not running)."""
        kafka_local("stop", state_dir=self.state_dir, timeout=60)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableBroker]:
    """This module's own broker: the test stops and starts it."""
    own = RestartableBroker(tmp_path_factory.mktemp("kafka-restart"))
    own.start(fresh=True)
    try:
        yield own
    finally:
        own.stop()


def _config(output_dir: Path) -> BacktestConfig:
    """The demo backtest, first day only (about 1,440 steps)."""
    return load_config(
        REPO_ROOT / "examples" / "demo.yaml",
        data_dir=DATA_DIR,
        output_dir=output_dir,
        end=datetime(2018, 4, 5, tzinfo=UTC),
    )


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> RunSummary:
    """The reference: the same backtest in embedded mode."""
    return run_backtest(_config(tmp_path_factory.mktemp("embedded") / "run"))


class Outage:
    """Stops the broker once the order-router has published ``steps`` steps, for ``seconds``.

    Records what ``/health`` of the order-router answered during and after the outage and
    when the broker answered again.
    """

    def __init__(self, broker: RestartableBroker, steps: int, seconds: float) -> None:
        self.broker = broker
        self.steps = steps
        self.seconds = seconds
        self.during: list[tuple[int, dict[str, Any]]] = []
        self.after: int | None = None
        self.back_at: float | None = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def on_ready(self, state: SessionState) -> None:
        """``run_backtest_kafka``'s hook: start watching the order-router."""
        [router] = [s for s in state.services if s.name == "order-router"]
        url = f"http://127.0.0.1:{router.port}"
        self._thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        self._thread.start()

    def join(self) -> None:
        """Wait for the outage to be over; raise what went wrong in it."""
        assert self._thread is not None, "the services never became ready"
        self._thread.join(timeout=300)
        if self.error is not None:
            raise self.error

    def _run(self, url: str) -> None:
        try:
            _wait_for_steps(url, self.steps)
            self.broker.stop()
            deadline = time.monotonic() + self.seconds
            while time.monotonic() < deadline:
                self.during.append(_health(url))
                time.sleep(1.0)
            self.broker.start()
            self.back_at = time.monotonic()
            time.sleep(2.0)
            self.after = http_status(url + "/health")
        except BaseException as error:  # reported by join()
            self.error = error


def _health(url: str) -> tuple[int, dict[str, Any]]:
    """``/health``: its status and its JSON body (``{}`` when empty)."""
    with urllib.request.urlopen(url + "/health", timeout=5) as response:
        return int(response.status), json.loads(response.read() or b"{}")


def _wait_for_steps(url: str, steps: int, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    name = 'jules_order_router_events_out_total{event_type="portfolio.snapshot"}'
    while time.monotonic() < deadline:
        for line in http_text(url + "/metrics").splitlines():
            if line.startswith(name) and float(line.split()[-1]) >= steps:
                return
        time.sleep(0.05)
    raise AssertionError(f"the order-router did not reach {steps} steps")


def _diagnosis(error: BaseException, outage: Outage, logs: Path) -> str:
    """What a failed run said, what the outage thread met, and the services' warnings."""
    lines = [f"the run failed: {error}", f"outage: {outage.error!r}, back at {outage.back_at}"]
    for log in sorted(logs.glob("*.log")):
        noisy = [r for r in _log_records(log) if r["level"] != "INFO"]
        lines += [f"{log.name}:"] + [
            f"  {r['ts']} {r['message'][:300]} {r.get('dropped_by_kind', '')}"
            f" {r.get('last_dropped', '')}"
            for r in noisy[-40:]
        ]
    return "\n".join(lines)


def _log_records(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


@pytest.mark.parametrize("client", ["aiokafka", "confluent"])
def test_a_broker_restart_mid_run_pauses_the_backtest_which_then_equals_the_embedded_run(
    broker: RestartableBroker,
    embedded: RunSummary,
    tmp_path: Path,
    client: KafkaClientName,
) -> None:
    outage = Outage(broker, STEPS_BEFORE_OUTAGE, OUTAGE_S)
    # the run's own bound comes before the test's: a stuck run fails with its diagnosis
    options = KafkaRunOptions(bootstrap=broker.bootstrap, client=client, timeout_s=RUN_TIMEOUT_S)

    try:
        run = run_backtest_kafka(_config(tmp_path / "run"), options, on_ready=outage.on_ready)
    except (TimeoutError, RuntimeError) as error:
        raise AssertionError(_diagnosis(error, outage, tmp_path / "run" / "logs")) from error
    finished = time.monotonic()
    outage.join()

    assert_same_run(embedded, run)

    assert outage.during, "health was never asked during the outage"
    assert all(status == 200 for status, _ in outage.during)
    assert all(body["status"] == "degraded" for _, body in outage.during[1:])
    assert outage.after == 204
    assert outage.back_at is not None
    print(f"{client}: run finished {finished - outage.back_at:.1f}s after the broker was back")

    for log in sorted((run.run_dir / "logs").glob("*.log")):
        records = _log_records(log)
        messages = [r["message"] for r in records]
        assert messages.count("Kafka broker unreachable") <= 1, log.name
        assert messages.count("Kafka broker reachable again") == 1, log.name
        noisy = [r for r in records if r["level"] in {"WARNING", "ERROR", "CRITICAL"}]
        assert len(noisy) < 30, (log.name, [r["message"][:120] for r in noisy])
        [back] = [r for r in records if r["message"] == "Kafka broker reachable again"]
        print(
            f"{client} {log.name}: outage {back['outage_s']}s, {back['suppressed_log_records']} "
            "client log records suppressed"
        )


def _vectors_out(service: ServiceProcess) -> float:
    name = 'jules_features_events_out_total{event_type="features.vector"}'
    for line in http_text(service.base_url + "/metrics").splitlines():
        if line.startswith(name):
            return float(line.split()[-1])
    return 0.0


@pytest.mark.parametrize("client", ["aiokafka", "confluent"])
async def test_a_live_service_rides_out_a_broker_restart_without_losing_or_doubling(
    broker: RestartableBroker, tmp_path: Path, client: KafkaClientName
) -> None:
    settings = KafkaSettings(bootstrap_servers=broker.bootstrap, client=client)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    bars = real_bars(600)
    engine = FeatureEngine(FeatureSchema.from_names(NAMES))
    expected = [engine.on_bar(bar) for bar in bars]
    service = start_service(
        "features",
        broker.bootstrap,
        scope,
        tmp_path,
        FEATURES=json.dumps(list(NAMES)),
        KAFKA__CLIENT=client,
    )
    health: list[tuple[int, dict[str, Any]]] = []
    try:
        service.wait_ready()
        async with KafkaBus("test-feed", settings, scope) as feed:
            await feed.publish(*bars[:300])
            await wait_until(lambda: _vectors_out(service) >= 300)
            await asyncio.to_thread(broker.stop)
            during = asyncio.create_task(feed.publish(*bars[300:]))  # waits for the broker
            for _ in range(int(OUTAGE_S)):
                await asyncio.sleep(1.0)
                health.append(await asyncio.to_thread(_health, service.base_url))
            assert not during.done()
            await asyncio.to_thread(broker.start)
            back = time.monotonic()
            await during
            await wait_until(lambda: _vectors_out(service) >= 600, timeout_s=120)
            resumed_s = time.monotonic() - back
        await asyncio.sleep(3.0)  # a duplicate would come now
        records = await read_topic(broker.bootstrap, FEATURES.scoped(scope), len(bars))
        after = _health(service.base_url)
    finally:
        status = service.terminate()

    vectors = [decode_event(record.value) for record in records]
    ids = [vector.event_id for vector in vectors]
    lost = len({vector.event_id for vector in expected} - set(ids))
    duplicated = len(ids) - len(set(ids))
    print(
        f"live features on {client}: every vector out {resumed_s:.1f}s after the broker was back, "
        f"{lost} lost, {duplicated} duplicated"
    )
    assert (lost, duplicated) == (0, 0)
    assert vectors == expected
    assert any(body.get("status") == "degraded" for _, body in health), health
    assert after == (204, {})
    assert status == 0, service.log.read_text()[-3000:]
    messages = [r["message"] for r in _log_records(service.log)]
    assert messages.count("Kafka broker unreachable") == 1
    assert messages.count("Kafka broker reachable again") == 1


def test_a_paper_session_rides_out_a_broker_restart_losing_and_doubling_nothing(
    broker: RestartableBroker, tmp_path: Path
) -> None:
    """T4 on a whole `jules up` session: every service degraded while the broker is away,
    none restarted, and after it every bar, vector, decision and order accounted for once."""
    config = tmp_path / "session.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "session-broker-restart",
                "data_dir": str(DATA_DIR),
                "data": [{"path": SESSION_DATA, "instrument_id": "BTCUSD.COINBASE"}],
                "strategy": {"kind": "sma_cross", "fast": 5, "slow": 15, "mode": "long_short"},
                "risk": {"sizing": {"kind": "fixed_fraction", "fraction": 0.5}},
            }
        )
    )
    bars = [
        e
        for e in load(DATA_DIR / SESSION_DATA, instrument_id="BTCUSD.COINBASE")
        if isinstance(e, Bar)
    ]
    run_dir = tmp_path / "session"
    audit = run_dir / "audit"
    # a minute bar every 25 ms: the replay lasts about 40 s without the outage
    up = jules("up", "-c", str(config), "--run-dir", str(run_dir), "--speed", "2400",
               "--bootstrap", broker.bootstrap)  # fmt: skip
    health: dict[str, list[str]] = {}
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        state = SessionState.load(run_dir)
        urls = {s.name: f"http://127.0.0.1:{s.port}" for s in state.services}
        wait_for("bars", lambda: audited_types(audit).get("md.bar", 0) >= 300, audit)
        broker.stop()
        for _ in range(int(OUTAGE_S)):
            time.sleep(1.0)
            for name, url in urls.items():
                status, body = _health(url)
                health.setdefault(name, []).append(f"{status} {body.get('status', '')}".strip())
        broker.start()
        back = time.monotonic()
        market_data = urls["market-data"] + "/metrics"
        wait_for("replay", lambda: 'state="finished"} 1.0' in http_text(market_data), audit)
        wait_for("vectors", lambda: audited_types(audit).get("features.vector", 0) >= len(bars),
                 audit)  # fmt: skip
        recovered_s = time.monotonic() - back
        settled = _settled(audit)
        after = {name: _health(url)[0] for name, url in urls.items()}
        restarts = {s.name: getattr(supervisor_state(s), "restarts", None) for s in state.services}
        duplicates = {
            name: metric_total(http_text(url + "/metrics"), _skipped(name))
            for name, url in urls.items()
        }
        audit_metrics = http_text(urls["audit"] + "/metrics")
        duplicates["audit (recorded already)"] = metric_total(
            audit_metrics, "jules_audit_duplicates_total"
        )
    finally:
        down = jules("down", "--run-dir", str(run_dir))
    assert down.returncode == 0, down.stdout + down.stderr

    kinds = audited_types(audit)
    print(
        f"session: every bar through {recovered_s:.1f}s after the broker was back; audited "
        f"{settled}; redeliveries skipped {duplicates}"
    )
    for name, seen in health.items():  # degraded once its probe missed three times
        assert all(line.startswith("200") for line in seen), (name, seen)
        assert seen[-1] == "200 degraded", (name, seen)
    assert after == dict.fromkeys(after, 204)
    assert restarts == dict.fromkeys(health, 0)  # rode it out: no service died
    assert kinds["md.bar"] == kinds["features.vector"] == len(bars)  # none lost
    _one_effect_per_cause(audit)
    for name in health:
        messages = [r["message"] for r in _log_records(run_dir / "logs" / f"{name}.log")]
        assert messages.count("Kafka broker unreachable") == 1, name
        assert messages.count("Kafka broker reachable again") == 1, name


def _skipped(service: str) -> str:
    return f"jules_{service.replace('-', '_')}_redeliveries_skipped_total"


def _settled(audit: Path) -> dict[str, int]:
    """The audit's counts by event type, once they stopped changing for three seconds."""
    counts, still_since = audited_types(audit), time.monotonic()
    deadline = still_since + 60
    while time.monotonic() - still_since < 3.0:
        assert time.monotonic() < deadline, "the session never settled"
        time.sleep(0.5)
        now = audited_types(audit)
        if now != counts:
            counts, still_since = now, time.monotonic()
    return counts


def _one_effect_per_cause(audit: Path) -> None:
    """Each signal led to one order, each order to one decision, each approval to one order
    accepted, each acceptance to fills adding up to the order's quantity: none lost, none
    doubled."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for record in audit_records(
        audit,
        "signal.generated",
        "order.submit",
        "risk.order_approved",
        "risk.order_denied",
        "order.accepted",
        "order.filled",
        "order.partially_filled",
    ):
        payload = record["payload"]
        assert isinstance(payload, dict)
        by_type.setdefault(str(record["event_type"]), []).append(payload)

    def causes(kind: str) -> list[str]:
        return [p["causation_id"] for p in by_type.get(kind, [])]

    orders = by_type["order.submit"]
    assert len(set(causes("order.submit"))) == len(orders)  # no cause made two orders
    decided = causes("risk.order_approved") + causes("risk.order_denied")
    assert sorted(decided) == sorted(p["event_id"] for p in orders)
    approved = {p["client_order_id"] for p in by_type["risk.order_approved"]}
    accepted = [p["client_order_id"] for p in by_type.get("order.accepted", [])]
    assert sorted(accepted) == sorted(approved)
    quantity = {
        p["client_order_id"]: p["order"]["quantity"] for p in by_type["risk.order_approved"]
    }
    filled: dict[str, float] = {}
    for fill in by_type.get("order.filled", []) + by_type.get("order.partially_filled", []):
        filled[fill["client_order_id"]] = (
            filled.get(fill["client_order_id"], 0.0) + fill["last_quantity"]
        )
    assert all(abs(filled[order] - quantity[order]) < 1e-9 for order in filled)
