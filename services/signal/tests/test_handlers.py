"""SignalHandler: bars paired with their vectors and decided, foreign schemas refused, all logged.

No broker: the handler is called directly, or through the deterministic ``InMemoryBus``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pytest
from jules_contracts import (
    AlertCode,
    AlertSeverity,
    Bar,
    Event,
    FeatureVector,
    RiskAlert,
    SignalGenerated,
    decode_event,
)
from jules_contracts.topics import FEATURES, MD_BARS, RISK_ALERTS, SIGNALS
from jules_runtime.bus import InMemoryBus
from jules_runtime.logging import logger
from jules_signal.config import PairingSettings
from jules_signal.engine import LiveSchema, OnnxPolicy, Strategy, build_strategy
from jules_signal.handlers import SignalHandler
from jules_signal.metrics import SignalMetrics
from prometheus_client import CollectorRegistry, generate_latest

from . import onnx_models
from .builders import BTC, ETH, OTHER_SCHEMA_ID, SCHEMA_ID, make_bar, make_features
from .streams import CONFIG, SCHEMA, embedded, interleave, stream


def handler(
    strategy: Strategy | None = None, *, stale_after: int = 1, max_pending: int = 10_000
) -> SignalHandler:
    return SignalHandler(
        strategy or build_strategy(CONFIG),
        SCHEMA,
        PairingSettings(stale_after=stale_after, max_pending=max_pending),
    )


def feed(target: SignalHandler, events: Sequence[Event]) -> list[Event]:
    outputs: list[Event] = []
    for event in events:
        if isinstance(event, Bar):
            outputs.extend(target.on_bar(event))
        elif isinstance(event, FeatureVector):
            outputs.extend(target.on_features(event))
    return outputs


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    """The messages of WARNING and ERROR records logged during the test."""
    records: list[str] = []
    sink = logger.add(lambda message: records.append(message.record["message"]), level="WARNING")
    yield records
    logger.remove(sink)


def test_the_test_stream_has_crossings_both_ways():
    directions = {signal.direction.value for signal in embedded(stream())}
    assert directions == {"LONG", "SHORT"}


@pytest.mark.parametrize("order", ["bars_first", "vectors_first", "alternating", "vector_lead"])
def test_any_arrival_order_gives_the_embedded_signals(order, warnings):
    pairs = stream()
    bars = [bar for bar, _ in pairs]
    vectors = [vector for _, vector in pairs]
    orders: dict[str, list[Event]] = {
        "bars_first": [*bars, *vectors],
        "vectors_first": [*vectors, *bars],
        "alternating": [e for bar, vector in pairs for e in (bar, vector)],
        "vector_lead": [e for bar, vector in pairs for e in (vector, bar)],
    }
    events = orders[order]
    target = handler(stale_after=1)  # the strictest bound: nothing may be dropped anyway
    assert feed(target, events) == embedded(pairs)
    assert target.pending("bar") == target.pending("vector") == 0
    assert warnings == []


@pytest.mark.parametrize("seed", range(20))
def test_random_interleavings_of_two_instruments_give_the_embedded_signals(seed, warnings):
    btc, eth = stream(BTC), stream(ETH)
    events = interleave(
        seed,
        [bar for bar, _ in btc],
        [vector for _, vector in btc],
        [bar for bar, _ in eth],
        [vector for _, vector in eth],
    )
    outputs = feed(handler(stale_after=1), events)
    signals = [output for output in outputs if isinstance(output, SignalGenerated)]
    assert len(signals) == len(outputs)
    assert [s for s in signals if s.instrument_id == BTC] == embedded(btc)
    assert [s for s in signals if s.instrument_id == ETH] == embedded(eth)
    assert warnings == []


async def test_through_the_in_memory_bus_signals_reach_signals_v1():
    pairs = stream()
    bus = InMemoryBus("signal")
    bus.subscribe([MD_BARS, FEATURES], handler())
    async with bus:
        await bus.publish(*[bar for bar, _ in pairs])
        await bus.publish(*[vector for _, vector in pairs])
        await bus.drain()
    published = [decode_event(record.value) for record in bus.records(SIGNALS.name)]
    assert published == embedded(pairs)
    assert bus.records(RISK_ALERTS.name) == []


async def test_a_vector_of_another_schema_is_refused_with_an_alert(warnings):
    pairs = stream(count=40)
    bar, good = pairs[20]
    foreign = make_features(bar, dict(good.features), schema_id=OTHER_SCHEMA_ID)
    bus = InMemoryBus("signal")
    target = handler()
    bus.subscribe([MD_BARS, FEATURES], target)
    async with bus:
        await bus.publish(bar, foreign)
        await bus.drain()
    [record] = bus.records(RISK_ALERTS.name)
    alert = decode_event(record.value)
    assert isinstance(alert, RiskAlert)
    assert alert.code == AlertCode.FEATURE_SCHEMA_MISMATCH
    assert alert.severity is AlertSeverity.CRITICAL
    assert alert.instrument_id == BTC
    assert alert.causation_id == foreign.event_id
    assert OTHER_SCHEMA_ID in alert.message
    assert SCHEMA_ID in alert.message
    assert bus.records(SIGNALS.name) == []
    assert target.pending("bar") == target.pending("vector") == 0  # its bar is settled too
    assert any("feature vector refused" in message for message in warnings)


def test_a_refused_vector_is_not_processed():
    pairs = stream()
    index = 40
    foreign_bar, good = pairs[index]
    foreign = make_features(foreign_bar, dict(good.features), schema_id=OTHER_SCHEMA_ID)
    events: list[Event] = []
    for i, (bar, vector) in enumerate(pairs):
        events += [bar, foreign if i == index else vector]
    outputs = feed(handler(), events)
    alerts = [o for o in outputs if isinstance(o, RiskAlert)]
    assert [a.code for a in alerts] == [AlertCode.FEATURE_SCHEMA_MISMATCH]
    # The strategy never saw the refused vector: as if its bar had had no vector at all.
    expected = embedded([pair for i, pair in enumerate(pairs) if i != index])
    assert [o for o in outputs if isinstance(o, SignalGenerated)] == expected


def test_a_vector_with_the_live_id_but_other_feature_names_is_refused():
    bar, _ = stream(count=1)[0]
    vector = make_features(bar, {"sma_3": 1.0, "sma_9": 1.0})
    [alert] = handler().on_features(vector)
    assert isinstance(alert, RiskAlert)
    assert alert.code == AlertCode.FEATURE_SCHEMA_MISMATCH
    assert "sma_9" in alert.message


def test_a_vector_whose_bar_never_comes_is_dropped_after_n_newer_bars(warnings):
    pairs = stream(count=10)
    target = handler(stale_after=3)
    orphan = pairs[2][1]
    assert target.on_features(orphan) == []
    for bar, vector in pairs[3:5]:  # two newer bars: still waiting
        feed(target, [bar, vector])
    assert target.pending("vector") == 1
    assert warnings == []
    feed(target, [pairs[5][0]])  # the third newer bar
    assert target.pending("vector") == 0
    assert target.pending("bar") == 1  # the third bar waits for its own vector
    assert any("feature vector dropped without its bar" in message for message in warnings)


def test_a_bar_whose_vector_never_comes_is_dropped_after_n_newer_vectors(warnings):
    pairs = stream(count=10)
    target = handler(stale_after=2)
    bars = [bar for bar, _ in pairs]
    feed(target, bars)  # the features service lags: every bar waits
    assert target.pending("bar") == 10
    feed(target, [pairs[1][1]])  # bar 0's vector never comes; one newer vector
    assert target.pending("bar") == 9
    assert warnings == []
    feed(target, [pairs[2][1]])
    assert target.pending("bar") == 7
    assert any("bar dropped without its feature vector" in message for message in warnings)


def test_at_most_max_pending_wait_per_instrument(warnings):
    pairs = stream(count=6)
    target = handler(max_pending=3)
    feed(target, [bar for bar, _ in pairs])
    assert target.pending("bar") == 3
    assert sum("more than 3 bars wait" in message for message in warnings) == 3
    feed(target, [vector for _, vector in pairs[3:]])  # the three newest still pair
    assert target.pending("bar") == 0


def test_a_redelivered_bar_or_vector_is_ignored(warnings):
    pairs = stream()
    target = handler()
    first = feed(target, [e for bar, vector in pairs for e in (bar, vector)])
    again = feed(target, [e for bar, vector in pairs[-20:] for e in (vector, bar)])
    assert first == embedded(pairs)
    assert again == []
    assert target.pending("bar") == target.pending("vector") == 0
    assert warnings == []


def test_metrics_count_signals_refusals_drops_and_waiting_events():
    registry = CollectorRegistry()
    pairs = stream()
    target = SignalHandler(
        build_strategy(CONFIG), SCHEMA, PairingSettings(stale_after=1), SignalMetrics(registry)
    )
    feed(target, [e for bar, vector in pairs for e in (bar, vector)])
    bar, vector = stream(count=1)[0]
    feed(target, [make_features(bar, dict(vector.features), schema_id=OTHER_SCHEMA_ID)])
    feed(target, [make_bar(500, instrument=ETH)])
    text = generate_latest(registry).decode()
    longs = sum(1 for s in embedded(pairs) if s.direction.value == "LONG")
    assert (
        f'jules_signal_signals_total{{direction="LONG",strategy_id="sma_cross_3_8"}} {longs}.0'
        in text
    )
    assert 'jules_signal_refused_vectors_total{code="FEATURE_SCHEMA_MISMATCH"} 1.0' in text
    assert 'jules_signal_pending{kind="bar"} 1.0' in text
    assert 'jules_signal_pending{kind="vector"} 0.0' in text


def test_a_model_output_the_policy_cannot_use_is_reported_as_an_alert():
    # y = log(x @ W) with a negative product: NaN, which the policy refuses.
    weights = np.array([[-1.0], [0.0], [0.0]])
    policy = OnnxPolicy.from_bytes(
        onnx_models.policy_model(weights, activation="Log"), live_schema_id=SCHEMA_ID
    )
    names = onnx_models.FEATURES
    bar = make_bar(0, 100.0)
    vector = make_features(bar, {"sma_10": 110.0, "sma_30": 100.0, "rsi_14": 50.0})
    target = SignalHandler(policy, LiveSchema(SCHEMA_ID, names))
    assert target.on_bar(bar) == []
    [alert] = target.on_features(vector)
    assert isinstance(alert, RiskAlert)
    assert alert.code == AlertCode.MODEL_OUTPUT_INVALID
    assert "INVALID_MODEL_OUTPUT" in alert.message
    assert target.pending("bar") == target.pending("vector") == 0


def test_drops_and_duplicates_are_logged_and_counted(warnings):
    registry = CollectorRegistry()
    pairs = stream(count=10)
    target = SignalHandler(
        build_strategy(CONFIG), SCHEMA, PairingSettings(stale_after=2), SignalMetrics(registry)
    )
    feed(target, [pairs[0][1]])  # its bar never comes
    feed(target, [e for bar, vector in pairs[1:4] for e in (bar, vector)])
    feed(target, [pairs[3][0], pairs[3][1]])  # redelivered
    causeless = pairs[5][1].model_copy(update={"causation_id": None})
    assert target.on_features(causeless) == []
    text = generate_latest(registry).decode()
    assert 'jules_signal_unpaired_dropped_total{kind="vector",reason="stale"} 1.0' in text
    assert 'jules_signal_unpaired_dropped_total{kind="vector",reason="no_cause"} 1.0' in text
    assert 'jules_signal_duplicates_total{kind="bar"} 1.0' in text
    assert 'jules_signal_duplicates_total{kind="vector"} 1.0' in text
    assert any("feature vector dropped without its bar: 2 newer bars" in m for m in warnings)
    assert any("names no bar (no causation_id)" in m for m in warnings)


class FailingOnce:
    """A strategy whose first decision raises (a bug), then decides as the real one."""

    def __init__(self) -> None:
        self.inner = build_strategy(CONFIG)
        self.failed = False

    @property
    def strategy_id(self) -> str:
        return self.inner.strategy_id

    @property
    def required_features(self) -> tuple[str, ...]:
        return self.inner.required_features

    def on_features(self, features: FeatureVector, bar: Bar) -> list[SignalGenerated]:
        if not self.failed:
            self.failed = True
            raise RuntimeError("boom")
        return self.inner.on_features(features, bar)


def test_a_decision_that_raises_leaves_its_pair_to_be_decided_again():
    pairs = stream()
    target = handler(FailingOnce())
    bar, vector = pairs[0]
    assert target.on_bar(bar) == []
    with pytest.raises(RuntimeError, match="boom"):
        target.on_features(vector)
    assert target.pending("bar") == 1  # the bus retries the vector: its bar still waits
    outputs = feed(target, [vector, *[e for b, v in pairs[1:] for e in (b, v)]])
    assert outputs == embedded(pairs)
    assert target.pending("bar") == target.pending("vector") == 0
