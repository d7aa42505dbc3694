"""The service's wiring: the handler subscribed on a bus (the deterministic ``InMemoryBus``)."""

from __future__ import annotations

from jules_contracts import AlertCode, Event, RiskAlert, SignalGenerated, decode_event
from jules_contracts.topics import RISK_ALERTS, SIGNALS
from jules_runtime.bus import InMemoryBus
from jules_signal.app import subscribe
from jules_signal.config import PairingSettings
from jules_signal.handlers import SignalHandler
from jules_signal.metrics import SignalMetrics
from prometheus_client import CollectorRegistry

from .model_registry import MODEL, policy, sample, source, swap, write_registry
from .streams import SCHEMA, stream


async def test_a_swap_command_delivered_twice_is_handled_once(tmp_path):
    pairs = stream(count=60)
    cut = 30
    metrics_registry = CollectorRegistry()
    models = source(write_registry(tmp_path))
    handler = SignalHandler(
        models.load(MODEL, "1"),
        SCHEMA,
        PairingSettings(stale_after=1),
        SignalMetrics(metrics_registry),
        source=models,
    )
    bus = InMemoryBus("signal")
    subscribe(bus, handler)
    refused, accepted = swap("3"), swap("2")  # version 3: another feature schema
    async with bus:
        await bus.publish(*[e for bar, vector in pairs[:cut] for e in (bar, vector)])
        await bus.drain()
        await bus.publish(refused, accepted, refused, accepted)  # each read again once published
        await bus.drain()
        await bus.publish(*[e for bar, vector in pairs[cut:] for e in (bar, vector)])
        await bus.drain()

    alerts = [decode_event(record.value) for record in bus.records(RISK_ALERTS.name)]
    assert [(type(a), a.code, a.causation_id) for a in alerts if isinstance(a, RiskAlert)] == [
        (RiskAlert, AlertCode.MODEL_REJECTED, refused.event_id)
    ]
    assert len(alerts) == 1
    before = policy("1")
    after = policy("2", targets=before.targets)
    expected: list[Event] = []
    for strategy, part in ((before, pairs[:cut]), (after, pairs[cut:])):
        expected += [s for bar, vector in part for s in strategy.on_features(vector, bar)]
    published = [decode_event(record.value) for record in bus.records(SIGNALS.name)]
    assert published == expected
    assert {s.model_version for s in published if isinstance(s, SignalGenerated)} == {"1", "2"}
    for result, count in (("swapped", 1), ("rejected", 1), ("unchanged", 0)):
        labels = {"stage": "PRODUCTION", "result": result}
        assert sample(metrics_registry, "jules_signal_model_swaps_total", **labels) == count
