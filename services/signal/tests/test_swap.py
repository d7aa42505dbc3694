"""Model swaps and shadow mode: versions swapped between two pairs, shadows, refusals.

No broker: the handler is called directly with scripted sequences of bars, vectors and
``SwapModel`` commands, and compared with policies fed the same pairs in-process.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from jules_contracts import (
    AlertCode,
    AlertSeverity,
    Bar,
    Event,
    FeatureVector,
    RiskAlert,
    SignalGenerated,
    direction_of,
)
from jules_contracts.base import new_event_id
from jules_contracts.control import EngageKillSwitch, SwapModel
from jules_contracts.enums import ModelStage
from jules_signal.config import PairingSettings
from jules_signal.engine import OnnxPolicy, OnnxPolicyConfig, build_strategy
from jules_signal.handlers import SignalHandler
from jules_signal.metrics import SignalMetrics
from jules_signal.model_store import ModelStore
from jules_signal.serving import ModelSource
from prometheus_client import CollectorRegistry

from .builders import OTHER_SCHEMA_ID, SCHEMA_ID
from .model_registry import MODEL, model_bytes, policy, sample, source, swap, write_registry
from .streams import CONFIG, NAMES, SCHEMA, stream


def serving_handler(store: ModelStore, metrics: SignalMetrics | None = None) -> SignalHandler:
    models = source(store)
    return SignalHandler(
        models.load(MODEL, "1"),
        SCHEMA,
        PairingSettings(stale_after=1),
        metrics,
        source=models,
    )


def feed(target: SignalHandler, events: Sequence[Event]) -> list[Event]:
    outputs: list[Event] = []
    for event in events:
        if isinstance(event, Bar):
            outputs.extend(target.on_bar(event))
        elif isinstance(event, FeatureVector):
            outputs.extend(target.on_features(event))
        elif isinstance(event, SwapModel):
            outputs.extend(target.on_swap(event))
    return outputs


def decide(
    strategy: OnnxPolicy, pairs: Sequence[tuple[Bar, FeatureVector]]
) -> list[SignalGenerated]:
    return [signal for bar, vector in pairs for signal in strategy.on_features(vector, bar)]


def only_signals(events: Sequence[Event]) -> list[SignalGenerated]:
    """The events, which must all be signals."""
    signals = [event for event in events if isinstance(event, SignalGenerated)]
    assert len(signals) == len(events)
    return signals


def version_of(target: SignalHandler) -> str:
    """The version of the policy serving production."""
    assert isinstance(target.strategy, OnnxPolicy)
    return target.strategy.card.model_version


def test_a_production_swap_mid_stream_changes_the_version_between_two_pairs(tmp_path):
    pairs = stream(count=120)
    cut = 70
    metrics_registry = CollectorRegistry()
    target = serving_handler(write_registry(tmp_path), SignalMetrics(metrics_registry))
    # Every bar arrives first; vectors 0..cut-1, the swap, then the rest: the bars of the
    # second half wait in the pairing buffer across the swap.
    events: list[Event] = [bar for bar, _ in pairs]
    events += [vector for _, vector in pairs[:cut]]
    events.append(swap("2"))
    events += [vector for _, vector in pairs[cut:]]
    outputs = feed(target, events)

    before = policy("1")
    expected = decide(before, pairs[:cut])
    expected += decide(policy("2", targets=before.targets), pairs[cut:])
    assert outputs == expected
    assert all(isinstance(output, SignalGenerated) for output in outputs)
    versions = [signal.model_version for signal in expected]
    first_new = versions.index("2")
    assert set(versions[:first_new]) == {"1"}
    assert set(versions[first_new:]) == {"2"}
    assert first_new > 10
    assert len(versions) - first_new > 10
    # Exactly one signal per decided pair at most, none twice.
    assert len({signal.causation_id for signal in outputs}) == len(outputs)
    assert target.pending("bar") == target.pending("vector") == 0
    assert version_of(target) == "2"
    swapped = {"stage": "PRODUCTION", "result": "swapped"}
    assert sample(metrics_registry, "jules_signal_model_swaps_total", **swapped) == 1
    info = {"model_name": MODEL, "model_version": "2", "stage": "PRODUCTION"}
    assert sample(metrics_registry, "jules_signal_model_info", **info) == 1
    old = {**info, "model_version": "1"}
    assert metrics_registry.get_sample_value("jules_signal_model_info", old) is None


def test_the_new_version_takes_over_the_targets_in_force_and_does_not_repeat_them(tmp_path):
    pairs = stream(count=120)
    cut = 60
    coarse = OnnxPolicyConfig(dead_band=0.0, min_weight_change=0.5)
    store = write_registry(tmp_path)
    models = ModelSource(store, MODEL, SCHEMA_ID, NAMES, coarse)
    target = SignalHandler(models.load(MODEL, "1"), SCHEMA, source=models)
    outputs = feed(target, [e for bar, vector in pairs[:cut] for e in (bar, vector)])
    outputs += target.on_swap(swap("4"))  # the same weights as version 1
    outputs += feed(target, [e for bar, vector in pairs[cut:] for e in (bar, vector)])

    reference = OnnxPolicy.from_bytes(
        model_bytes("1"), live_schema_id=SCHEMA_ID, live_feature_names=NAMES, config=coarse
    )
    expected = decide(reference, pairs)  # one version all along: only real changes
    signals = only_signals(outputs)
    assert [s.target_weight for s in signals] == [s.target_weight for s in expected]
    assert [s.event_id for s in signals] == [s.event_id for s in expected]
    assert {s.model_version for s in signals if s.event_time > pairs[cut][0].event_time} == {"4"}


def test_a_refused_model_raises_an_alert_and_the_running_version_keeps_serving(tmp_path):
    pairs = stream(count=100)
    metrics_registry = CollectorRegistry()
    target = serving_handler(write_registry(tmp_path), SignalMetrics(metrics_registry))
    half = [e for bar, vector in pairs[:50] for e in (bar, vector)]
    rest = [e for bar, vector in pairs[50:] for e in (bar, vector)]
    commands = {
        "3": swap("3"),  # trained on another feature schema
        "5": swap("5"),  # not an ONNX model
        "9": swap("9"),  # no such version
        "other": swap("1", model_name="other-policy"),
    }
    outputs = feed(target, half)
    alerts = {key: target.on_swap(command) for key, command in commands.items()}
    outputs += feed(target, rest)

    assert outputs == decide(policy("1"), pairs)  # version 1 served every pair
    reasons = {
        "3": "FEATURE_SCHEMA_MISMATCH",
        "5": "INVALID_MODEL",
        "9": "REGISTRY_ERROR",
        "other": "OTHER_MODEL",
    }
    for key, [alert] in alerts.items():
        assert isinstance(alert, RiskAlert)
        assert alert.code == AlertCode.MODEL_REJECTED
        assert alert.severity is AlertSeverity.CRITICAL
        assert alert.causation_id == commands[key].event_id
        assert reasons[key] in alert.message
        assert repr(commands[key].model_version) in alert.message
        assert repr(commands[key].model_name) in alert.message
        assert "keeps serving" in alert.message
        assert sample(metrics_registry, "jules_signal_models_rejected_total", reason=reasons[key])
    assert OTHER_SCHEMA_ID in str(alerts["3"][0].model_dump()["message"])
    rejected = {"stage": "PRODUCTION", "result": "rejected"}
    assert sample(metrics_registry, "jules_signal_model_swaps_total", **rejected) == 4
    info = {"model_name": MODEL, "model_version": "1", "stage": "PRODUCTION"}
    assert sample(metrics_registry, "jules_signal_model_info", **info) == 1


def test_swaps_are_idempotent(tmp_path):
    metrics_registry = CollectorRegistry()
    target = serving_handler(write_registry(tmp_path), SignalMetrics(metrics_registry))
    command = swap("2")
    assert target.on_swap(command) == []
    serving = target.strategy
    assert target.on_swap(command) == []  # the same command redelivered
    assert target.on_swap(swap("2")) == []  # another command for the serving version
    assert target.strategy is serving
    assert (
        sample(
            metrics_registry, "jules_signal_model_swaps_total", stage="PRODUCTION", result="swapped"
        )
        == 1
    )
    assert (
        sample(
            metrics_registry,
            "jules_signal_model_swaps_total",
            stage="PRODUCTION",
            result="unchanged",
        )
        == 1
    )


def test_a_command_delivered_again_gives_its_outputs_until_acknowledged_then_nothing(tmp_path):
    metrics_registry = CollectorRegistry()
    target = serving_handler(write_registry(tmp_path), SignalMetrics(metrics_registry))
    refused, accepted = swap("3"), swap("2")
    [alert] = target.on_swap(refused)
    assert target.on_swap(refused) == [alert]  # publishing failed, retried: the same alert
    assert target.on_swap(accepted) == []
    target.models.acknowledge(refused)
    target.models.acknowledge(accepted)
    assert target.on_swap(refused) == []  # read again after a rebalance: nothing
    assert target.on_swap(accepted) == []
    assert version_of(target) == "2"
    rejected = {"stage": "PRODUCTION", "result": "rejected"}
    assert sample(metrics_registry, "jules_signal_model_swaps_total", **rejected) == 1
    swapped = {"stage": "PRODUCTION", "result": "swapped"}
    assert sample(metrics_registry, "jules_signal_model_swaps_total", **swapped) == 1
    reason = "FEATURE_SCHEMA_MISMATCH"
    assert sample(metrics_registry, "jules_signal_models_rejected_total", reason=reason) == 1


async def test_commands_for_other_services_are_ignored(tmp_path):
    target = serving_handler(write_registry(tmp_path))
    serving = target.strategy
    kill = EngageKillSwitch(
        event_id=new_event_id(), source="operator", event_time=1, reason="test", operator="ops"
    )
    assert await target(kill) == []
    assert await target(swap("2", target="risk")) == []
    assert target.strategy is serving
    assert await target(swap("2", target="*")) == []
    assert version_of(target) == "2"


def test_a_fixed_strategy_refuses_swaps():
    target = SignalHandler(build_strategy(CONFIG), SCHEMA)
    [alert] = target.on_swap(swap("2"))
    assert isinstance(alert, RiskAlert)
    assert alert.code == AlertCode.MODEL_REJECTED
    assert "NO_REGISTRY" in alert.message


async def test_a_shadow_runs_beside_production_and_its_signals_stay_apart(tmp_path):
    pairs = stream(count=120)
    cut = 40
    metrics_registry = CollectorRegistry()
    published: list[SignalGenerated] = []

    async def sink(signals: Sequence[SignalGenerated]) -> None:
        published.extend(signals)

    models = source(write_registry(tmp_path))
    target = SignalHandler(
        models.load(MODEL, "1"),
        SCHEMA,
        PairingSettings(stale_after=1),
        SignalMetrics(metrics_registry),
        source=models,
        shadow_sink=sink,
    )
    outputs: list[Event] = []
    for bar, vector in pairs[:cut]:
        outputs += await target(bar)
        outputs += await target(vector)
    outputs += await target(swap("2", ModelStage.SHADOW))
    for bar, vector in pairs[cut:]:
        outputs += await target(vector)
        outputs += await target(bar)

    assert outputs == decide(policy("1"), pairs)  # production alone reaches signals.v1
    shadow_expected = decide(policy("2", shadow=True), pairs[cut:])  # fresh targets
    assert published == shadow_expected
    assert len(published) > 10
    assert all(s.strategy_id == f"{MODEL}.shadow" and s.model_version == "2" for s in published)
    assert not {s.event_id for s in published} & {s.event_id for s in outputs}
    assert target.take_shadow() == []

    # The comparison metrics: at each vector where either emitted, both targets in force.
    production_by_vector = {s.causation_id: s.target_weight for s in only_signals(outputs)}
    shadow_by_vector = {s.causation_id: s.target_weight for s in published}
    last_production = last_shadow = None
    compared = agreed = 0
    difference = 0.0
    for _, vector in pairs:
        last_production = production_by_vector.get(vector.event_id, last_production)
        last_shadow = shadow_by_vector.get(vector.event_id, last_shadow)
        emitted = vector.event_id in production_by_vector or vector.event_id in shadow_by_vector
        if emitted and last_production is not None and last_shadow is not None:
            compared += 1
            agreed += direction_of(last_production) == direction_of(last_shadow)
            difference += abs(last_production - last_shadow)
    instrument = pairs[0][0].instrument_id
    counted = sum(
        sample(
            metrics_registry,
            "jules_signal_shadow_comparisons_total",
            instrument_id=instrument,
            production_direction=p,
            shadow_direction=s,
        )
        for p in ("LONG", "SHORT", "FLAT")
        for s in ("LONG", "SHORT", "FLAT")
    )
    assert counted == compared > 10
    assert (
        sample(metrics_registry, "jules_signal_shadow_agreements_total", instrument_id=instrument)
        == agreed
    )
    assert 0 < agreed < compared  # the two versions disagree at times
    assert sample(
        metrics_registry, "jules_signal_shadow_target_difference_sum", instrument_id=instrument
    ) == pytest.approx(difference)
    info = {"model_name": MODEL, "model_version": "2", "stage": "SHADOW"}
    assert sample(metrics_registry, "jules_signal_model_info", **info) == 1

    # Promoting the shadow's version ends the shadow run.
    assert await target(swap("2")) == []
    assert target.shadow is None
    assert version_of(target) == "2"
    assert metrics_registry.get_sample_value("jules_signal_model_info", info) is None
