"""Model serving on the real broker: the signal service as its own process serves a registry
model, swaps versions on SwapModel commands between two pairs (nothing lost or repeated),
refuses a model of another feature schema with an alert, and runs a shadow version beside
production on signals.shadow.v1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jules.cli import app as jules_cli
from jules.shadow_cmd import read_signals
from jules.swap_cmd import StageOption, publish_swap, swap_command
from jules_contracts import Bar, Event, FeatureVector, RiskAlert, SignalGenerated, decode_event
from jules_contracts.topics import FEATURES, MD_BARS, RISK_ALERTS, SIGNALS, SIGNALS_SHADOW
from jules_features.engine import FeatureEngine, FeatureSchema
from jules_runtime.bus import KafkaBus
from jules_runtime.settings import KafkaSettings
from jules_signal.engine import OnnxPolicy
from jules_signal.model_store import MODEL_FILE, STAGES_FILE, Stages
from jules_trainer.linear_policy import write_linear_policy
from typer.testing import CliRunner

from .bus_helpers import create_scoped_topics, new_scope, read_topic
from .service_process import ServiceProcess, start_service
from .test_signal_service import metric, real_bars, wait_for_metric

NAMES = ("sma_10", "sma_30")
MODEL = "ma-policy"
BAR_COUNT = 600
SWAP_AT, SHADOW_AT = 300, 450


def write_registry(root: Path, first_close: float) -> None:
    """Versions 1, 2 and 4 on the live features; 3 reads a feature the live schema lacks."""
    scale = {"sma_10": (first_close, 20.0), "sma_30": (first_close, 20.0)}
    versions = {"1": (1.0, -1.0), "2": (-0.6, 0.9), "4": (1.5, -1.5)}
    for version, weights in versions.items():
        (root / MODEL / version).mkdir(parents=True)
        write_linear_policy(
            root / MODEL / version / MODEL_FILE,
            features=NAMES,
            weights=weights,
            normalisation=scale,
            model_name=MODEL,
            model_version=version,
        )
    (root / MODEL / "3").mkdir()
    write_linear_policy(
        root / MODEL / "3" / MODEL_FILE,
        features=(*NAMES, "rsi_14"),
        weights=(1.0, -1.0, 0.1),
        normalisation={**scale, "rsi_14": (50.0, 10.0)},
        model_name=MODEL,
        model_version="3",
    )
    (root / MODEL / STAGES_FILE).write_text(Stages(production="1").model_dump_json())


@dataclass(frozen=True)
class ModelRun:
    """A scope with its topics, real bars, their feature vectors and a registry of versions."""

    scope: str
    bars: list[Bar]
    schema: FeatureSchema
    pairs: list[tuple[Bar, FeatureVector]]
    registry: Path


async def model_run(settings: KafkaSettings, tmp_path: Path, count: int) -> ModelRun:
    """A new scope, ``count`` real bars paired with their vectors, the registry in ``tmp_path``."""
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    bars = real_bars(count)
    schema = FeatureSchema.from_names(NAMES)
    engine = FeatureEngine(schema)
    pairs = [(bar, engine.on_bar(bar)) for bar in bars]
    registry = tmp_path / "registry"
    write_registry(registry, bars[0].close)
    return ModelRun(scope, bars, schema, pairs, registry)


def start_model_service(
    bootstrap: str, run: ModelRun, log_dir: Path, **settings: str
) -> ServiceProcess:
    """Start the signal service serving ``MODEL`` from the run's registry."""
    return start_service(
        "signal",
        bootstrap,
        run.scope,
        log_dir,
        FEATURES=json.dumps(list(NAMES)),
        FEATURE_SCHEMA_ID=run.schema.schema_id,
        MODEL_REGISTRY=str(run.registry),
        MODEL_NAME=MODEL,
        **settings,
    )


def policy(
    root: Path,
    version: str,
    schema: FeatureSchema,
    *,
    targets: Mapping[str, float] | None = None,
    strategy_id: str | None = None,
) -> OnnxPolicy:
    """A version's policy as the service builds it, for the reference run."""
    return OnnxPolicy.from_bytes(
        (root / MODEL / version / MODEL_FILE).read_bytes(),
        live_schema_id=schema.schema_id,
        live_feature_names=schema.names,
        strategy_id=strategy_id,
        targets=targets,
    )


def decide(
    strategy: OnnxPolicy, pairs: Sequence[tuple[Bar, FeatureVector]]
) -> list[SignalGenerated]:
    return [signal for bar, vector in pairs for signal in strategy.on_features(vector, bar)]


async def publish_pairs(feed: KafkaBus, pairs: Sequence[tuple[Bar, FeatureVector]]) -> None:
    events: list[Event] = [event for bar, vector in pairs for event in (bar, vector)]
    await feed.publish(*events)


async def wait_processed(service: ServiceProcess, scope: str, count: int) -> None:
    """Wait until the service has handled ``count`` bars and vectors, outputs acknowledged."""
    for topic in (MD_BARS, FEATURES):
        await wait_for_metric(
            service, "jules_signal_processing_seconds_count", count, topic=topic.scoped(scope)
        )


async def test_the_signal_service_swaps_refuses_and_shadows_registry_models(kafka, tmp_path):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    run = await model_run(settings, tmp_path, BAR_COUNT)
    scope, bars, schema, pairs, registry = run.scope, run.bars, run.schema, run.pairs, run.registry

    first = policy(registry, "1", schema)
    expected = decide(first, pairs[:SWAP_AT])
    expected += decide(policy(registry, "2", schema, targets=first.targets), pairs[SWAP_AT:])
    shadow = policy(registry, "4", schema, strategy_id=f"{MODEL}.shadow")
    expected_shadow = decide(shadow, pairs[SHADOW_AT:])
    versions = [signal.model_version for signal in expected]
    assert versions.count("1") >= 3
    assert versions.count("2") >= 3
    assert len(expected_shadow) >= 3

    service = start_model_service(kafka.bootstrap, run, tmp_path)
    try:
        service.wait_ready()
        await wait_for_metric(
            service,
            "jules_signal_model_info",
            1,
            model_name=MODEL,
            model_version="1",
            stage="PRODUCTION",
        )
        async with KafkaBus("test-feed", settings, scope) as feed:
            await publish_pairs(feed, pairs[:SWAP_AT])
            await wait_processed(service, scope, SWAP_AT)
            await publish_swap(
                kafka.bootstrap,
                scope,
                swap_command(MODEL, "2", stage=StageOption.production, operator="ops"),
            )
            await wait_for_metric(
                service,
                "jules_signal_model_info",
                1,
                model_name=MODEL,
                model_version="2",
                stage="PRODUCTION",
            )
            await publish_pairs(feed, pairs[SWAP_AT:SHADOW_AT])
            await wait_processed(service, scope, SHADOW_AT)
            # A version trained on another feature schema: refused, version 2 keeps serving.
            refused = swap_command(MODEL, "3", stage=StageOption.production, operator="ops")
            await publish_swap(kafka.bootstrap, scope, refused)
            [alert_record] = await read_topic(kafka.bootstrap, RISK_ALERTS.scoped(scope), 1)
            await publish_swap(
                kafka.bootstrap,
                scope,
                swap_command(MODEL, "4", stage=StageOption.shadow, operator="ops"),
            )
            await wait_for_metric(
                service,
                "jules_signal_model_info",
                1,
                model_name=MODEL,
                model_version="4",
                stage="SHADOW",
            )
            await publish_pairs(feed, pairs[SHADOW_AT:])
            await wait_processed(service, scope, BAR_COUNT)
        metrics = await wait_for_metric(
            service, "jules_signal_model_swaps_total", 1, stage="SHADOW", result="swapped"
        )
        signals = await read_signals(kafka.bootstrap, SIGNALS.scoped(scope))
        shadow_signals = await read_signals(kafka.bootstrap, SIGNALS_SHADOW.scoped(scope))
        report = await asyncio.to_thread(  # the command runs its own event loop
            CliRunner().invoke,
            jules_cli,
            ["shadow-report", "--bootstrap", kafka.bootstrap, "--scope", scope, "--json"],
        )
    finally:
        status = service.terminate()

    log = service.log.read_text()
    assert status == 0, log[-3000:]
    # Every pair decided by exactly one version: before the swap 1, after it 2; none lost or
    # repeated, and the shadow's signals only on their own topic.
    assert signals == expected
    assert shadow_signals == expected_shadow
    assert all(s.strategy_id == MODEL for s in signals)

    alert = decode_event(alert_record.value)
    assert isinstance(alert, RiskAlert)
    assert alert.code == "MODEL_REJECTED"
    assert alert.causation_id == refused.event_id
    assert "'3'" in alert.message
    assert MODEL in alert.message
    assert "FEATURE_SCHEMA_MISMATCH" in alert.message
    assert "model refused, the running model keeps serving" in log
    assert (
        metric(metrics, "jules_signal_models_rejected_total", reason="FEATURE_SCHEMA_MISMATCH") == 1
    )
    assert (
        metric(metrics, "jules_signal_model_swaps_total", stage="PRODUCTION", result="swapped") == 1
    )
    assert (
        metric(
            metrics,
            "jules_signal_model_info",
            model_name=MODEL,
            model_version="2",
            stage="PRODUCTION",
        )
        == 1
    )
    assert (
        metric(
            metrics,
            "jules_signal_model_info",
            model_name=MODEL,
            model_version="1",
            stage="PRODUCTION",
        )
        is None
    )

    # The report read from the topics counts the decisions the service compared.
    assert report.exit_code == 0, report.output
    total = json.loads(report.output)["total"]
    assert total["production_signals"] == len(expected)
    assert total["shadow_signals"] == len(expected_shadow)
    compared = sum(
        metric(
            metrics,
            "jules_signal_shadow_comparisons_total",
            instrument_id=bars[0].instrument_id,
            production_direction=p,
            shadow_direction=s,
        )
        or 0
        for p in ("LONG", "SHORT", "FLAT")
        for s in ("LONG", "SHORT", "FLAT")
    )
    assert total["compared"] == compared > 0
    assert total["agreements"] == (
        metric(metrics, "jules_signal_shadow_agreements_total", instrument_id=bars[0].instrument_id)
        or 0
    )
