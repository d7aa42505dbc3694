"""The signal service as its own process, behind the features service as another process, on the
real broker: the same signals as the embedded feature engine and strategy on the same bars,
a refused feature schema as a risk alert, endpoints, graceful shutdown, refused settings."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path

from jules_contracts import Bar, FeatureVector, RiskAlert, SignalGenerated, decode_event
from jules_contracts.topics import FEATURES, MD_BARS, RISK_ALERTS, SIGNALS
from jules_features.engine import FeatureEngine, FeatureSchema
from jules_market_data.loaders import load
from jules_runtime.bus import KafkaBus
from jules_runtime.settings import KafkaSettings
from jules_signal.engine import build_strategy, strategy_config_from_mapping
from jules_trainer.linear_policy import write_linear_policy

from .bus_helpers import create_scoped_topics, new_scope, read_topic
from .service_process import ServiceProcess, http_status, http_text, start_service

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
BARS_FILE = "QuantConnect_Lean/Data/crypto/coinbase/minute/btcusd/20180404_trade.zip"
NAMES = ("sma_10", "sma_30")
STRATEGY = {"kind": "sma_cross", "fast": 10, "slow": 30, "mode": "long_short"}
BAR_COUNT = 600


def real_bars(count: int) -> list[Bar]:
    bars = [
        e for e in load(DATA_DIR / BARS_FILE, instrument_id="BTCUSD.COINBASE") if isinstance(e, Bar)
    ]
    return bars[:count]


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of a Prometheus text exposition (labels in any order)."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if found == labels:
            return float(match.group(3))
    return None


async def wait_for_metric(
    service: ServiceProcess, name: str, value: float, timeout_s: float = 60, **labels: str
) -> str:
    """Poll ``/metrics`` until the sample reaches ``value``; return the exposition."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        text = http_text(service.base_url + "/metrics")
        current = metric(text, name, **labels)
        if current is not None and current >= value:
            return text
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{name}{labels} is {current}, not {value}")
        await asyncio.sleep(0.1)


async def test_features_and_signal_processes_publish_the_embedded_signals(kafka, tmp_path):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    bars = real_bars(BAR_COUNT)
    assert len(bars) == BAR_COUNT
    schema = FeatureSchema.from_names(NAMES)
    engine = FeatureEngine(schema)
    strategy = build_strategy(strategy_config_from_mapping(STRATEGY))
    expected = [s for bar in bars for s in strategy.on_features(engine.on_bar(bar), bar)]
    assert len(expected) >= 10  # crossings both ways on this day

    features = start_service(
        "features", kafka.bootstrap, scope, tmp_path, FEATURES=json.dumps(list(NAMES))
    )
    signal = start_service(
        "signal",
        kafka.bootstrap,
        scope,
        tmp_path,
        FEATURES=json.dumps(list(NAMES)),
        FEATURE_SCHEMA_ID=schema.schema_id,
        STRATEGY=json.dumps(STRATEGY),
    )
    try:
        features.wait_ready()
        signal.wait_ready()
        assert http_status(signal.base_url + "/health") == 204
        assert http_status(signal.base_url + "/ready") == 204
        async with KafkaBus("test-feed", settings, scope) as feed:
            await feed.publish(*bars)
            await wait_for_metric(
                signal,
                "jules_signal_events_in_total",
                BAR_COUNT,
                topic=FEATURES.scoped(scope),
            )
            await wait_for_metric(
                signal, "jules_signal_events_in_total", BAR_COUNT, topic=MD_BARS.scoped(scope)
            )
            records = await read_topic(kafka.bootstrap, SIGNALS.scoped(scope), len(expected))
            # A vector of another feature schema (as from a features service configured
            # differently): refused, reported on risk.alerts.v1.
            foreign = FeatureVector.derive(
                bars[-1],
                source="features",
                instrument_id=bars[-1].instrument_id,
                feature_schema_id=FeatureSchema.from_names(("sma_10", "sma_20")).schema_id,
                features={"sma_10": 1.0, "sma_20": 1.0},
            )
            await feed.publish(foreign)
            [alert_record] = await read_topic(kafka.bootstrap, RISK_ALERTS.scoped(scope), 1)
        metrics = await wait_for_metric(
            signal, "jules_signal_refused_vectors_total", 1, code="FEATURE_SCHEMA_MISMATCH"
        )
    finally:
        signal_status = signal.terminate()
        features_status = features.terminate()

    signals = [decode_event(record.value) for record in records]
    assert all(isinstance(s, SignalGenerated) for s in signals)
    assert signals == expected  # same ids, directions, weights, prices as the embedded run
    assert {s.direction.value for s in expected} == {"LONG", "SHORT"}
    assert metric(metrics, "jules_signal_events_out_total", event_type="signal.generated") == len(
        expected
    )
    assert metric(metrics, "jules_signal_events_out_total", event_type="risk.alert") == 1
    assert metric(metrics, "jules_signal_pending", kind="bar") == 0
    assert metric(metrics, "jules_signal_pending", kind="vector") == 0
    assert (
        metric(metrics, "jules_signal_unpaired_dropped_total", kind="bar", reason="stale") is None
    )
    assert "jules_signal_processing_seconds_bucket" in metrics
    assert "jules_signal_faststream_received_messages_total" in metrics

    alert = decode_event(alert_record.value)
    assert isinstance(alert, RiskAlert)
    assert alert.code == "FEATURE_SCHEMA_MISMATCH"
    assert alert.causation_id == foreign.event_id
    assert schema.schema_id in alert.message
    assert foreign.feature_schema_id in alert.message
    log = signal.log.read_text()
    assert "feature vector refused" in log
    assert "strategy loaded" in log
    assert "sma_cross_10_30" in log
    assert signal_status == 0, log[-3000:]
    assert features_status == 0, features.log.read_text()[-3000:]


async def test_refused_settings_and_models_stop_the_service_at_start_up(kafka, tmp_path):
    schema = FeatureSchema.from_names(NAMES)
    live = {"FEATURES": json.dumps(list(NAMES)), "FEATURE_SCHEMA_ID": schema.schema_id}
    # A model trained on another feature schema than the live one.
    model = tmp_path / "policy.onnx"
    write_linear_policy(
        model,
        features=["sma_10", "sma_30", "rsi_14"],
        weights=[1.0, -1.0, 0.1],
        normalisation={"sma_10": (0.0, 1.0), "sma_30": (0.0, 1.0), "rsi_14": (50.0, 10.0)},
    )
    (tmp_path / "rule").mkdir()
    (tmp_path / "model").mkdir()
    rule = start_service(
        "signal",
        kafka.bootstrap,
        new_scope(),
        tmp_path / "rule",
        STRATEGY=json.dumps({**STRATEGY, "slow": 50}),
        **live,
    )
    onnx = start_service(
        "signal", kafka.bootstrap, new_scope(), tmp_path / "model", MODEL_PATH=str(model), **live
    )

    assert rule.process.wait(timeout=60) == 2
    rule_log = rule.log.read_text()
    assert "JULES_SIGNAL__STRATEGY=" in rule_log
    assert "reads features ['sma_50']" in rule_log

    assert onnx.process.wait(timeout=60) == 2
    onnx_log = onnx.log.read_text()
    assert "JULES_SIGNAL__MODEL_PATH=" in onnx_log
    assert "FEATURE_SCHEMA_MISMATCH" in onnx_log
    assert schema.schema_id in onnx_log
    assert "Traceback" not in onnx_log
