"""The service's wiring: the handler subscribed on a bus (the deterministic ``InMemoryBus``)."""

from __future__ import annotations

from jules_contracts import (
    AlertCode,
    Event,
    Quote,
    RiskAlert,
    SignalGenerated,
    decode_event,
    derive_event_id,
)
from jules_contracts.topics import RISK_ALERTS, SIGNALS
from jules_runtime.bus import InMemoryBus
from jules_signal.app import subscribe
from jules_signal.config import PairingSettings
from jules_signal.engine import PythonStrategy
from jules_signal.examples.quote_momentum import QuoteMomentum, QuoteMomentumParams
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


async def test_a_strategy_with_a_quote_hook_gets_the_quotes_on_the_bus() -> None:
    def strategy() -> PythonStrategy:
        params = QuoteMomentumParams(fast=2, slow=10, scale_spreads=1, threshold=0.5, min_hold_s=0)
        return PythonStrategy(QuoteMomentum(params), "qm")

    quotes = [
        Quote(
            event_id=derive_event_id("test-quote", i),
            source="market-data",
            event_time=1_700_000_000_000_000_000 + i * 100_000_000,
            instrument_id="EURUSD.FXCM",
            bid_price=1.3 + 0.001 * (i if i < 20 else 40 - i),
            ask_price=1.3001 + 0.001 * (i if i < 20 else 40 - i),
        )
        for i in range(40)
    ]
    handler = SignalHandler(
        strategy(), SCHEMA, PairingSettings(), SignalMetrics(CollectorRegistry())
    )
    bus = InMemoryBus("signal")
    subscribe(bus, handler)
    async with bus:
        await bus.publish(*quotes)
        await bus.drain()

    reference = strategy()
    expected = [s for quote in quotes for s in reference.on_market(quote)]
    published = [decode_event(record.value) for record in bus.records(SIGNALS.name)]
    assert [s.direction.value for s in expected] == ["LONG", "FLAT", "SHORT"]  # up, then down
    assert published == expected
