"""Each service as its own process on the real broker, its input fuzzed: valid traffic with
bad messages of every class (``poison``), redeliveries and out-of-order events mixed in.

Every bad message is dead-lettered once with its reason (and counted by reason in
``/metrics``); every valid event gives the outputs the service's handler gives in process,
exactly once; the service stays alive and healthy, and stops cleanly.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from jules_audit.store import read_records
from jules_contracts import Bar, Event, OrderSide, OrderType, derive_event_id
from jules_contracts.topics import (
    ALL_TOPICS,
    CONTROL,
    FEATURES,
    MD_BARS,
    ORDERS_DECISIONS,
    ORDERS_EVENTS,
    ORDERS_INTENTS,
    PORTFOLIO,
    RISK_ALERTS,
    SIGNALS,
    SIGNALS_SHADOW,
    Topic,
)
from jules_features import handlers as features_handlers
from jules_features.config import FeaturesSettings
from jules_features.engine import FeatureEngine, FeatureSchema
from jules_features.handlers import market_data_handler
from jules_market_data.loaders import load
from jules_order_router import handlers as router_handlers
from jules_order_router.engine import OrderRouterEngine
from jules_order_router.handlers import RouterHandler
from jules_risk import handlers as risk_handlers
from jules_risk.engine import RiskEngine
from jules_risk.handlers import RiskService
from jules_runtime.bus import Handler
from jules_signal.engine import LiveSchema, build_strategy, strategy_config_from_mapping
from jules_signal.handlers import SignalHandler

from . import test_order_router_service as router_it
from . import test_risk_service as risk_it
from .fuzz_driver import (
    FuzzCase,
    FuzzReport,
    check_report,
    metric_total,
    run_bad_only,
    run_fuzz,
)
from .kafka_helpers import KafkaEndpoint
from .poison import NON_UTF8_HEADERS
from .test_features_bad_input import DATA_DIR, far_ahead, real_bars

VALID = 150
NAMES = ("sma_10", "ema_21", "rsi_14", "atr_14", "vwap")
SIGNAL_NAMES = ("sma_5", "sma_20")
STRATEGY = {"kind": "sma_cross", "fast": 5, "slow": 20, "mode": "long_short"}


def late(event: Event) -> Event:
    """``event`` again under another id: a valid event, out of order once later ones came."""
    return event.model_copy(update={"event_id": derive_event_id("late", event.event_id)})


def with_late_events(events: Sequence[Event], ahead: bool = False) -> list[Event]:
    """``events`` with two late ones mixed in (and a bar far ahead of its stream if ``ahead``:
    the events are bars then)."""
    traffic: list[Event] = []
    for index, event in enumerate(events):
        traffic.append(event)
        if index in (len(events) // 3, 2 * len(events) // 3):
            traffic.append(late(events[index - 10]))
        if ahead and index == len(events) // 2:
            assert isinstance(event, Bar)
            traffic.append(far_ahead(event))
    return traffic


def features_case(tmp_path: Path) -> FuzzCase:
    settings = FeaturesSettings(features=NAMES)  # the service's engine: with a bar lead limit
    return FuzzCase(
        service="features",
        settings={"FEATURES": json.dumps(list(NAMES))},
        topic=MD_BARS,
        traffic=with_late_events(real_bars(VALID), ahead=True),
        outputs=(FEATURES, RISK_ALERTS),
        oracle=lambda: market_data_handler(
            FeatureEngine(settings.feature_schema, settings.live_engine_config)
        ),
    )


def signal_case(tmp_path: Path) -> FuzzCase:
    bars = real_bars(VALID)
    schema = FeatureSchema.from_names(SIGNAL_NAMES)
    engine = FeatureEngine(schema)
    vectors = [engine.on_bar(bar) for bar in bars]

    def oracle() -> Handler:
        strategy = build_strategy(strategy_config_from_mapping(STRATEGY))
        return SignalHandler(strategy, LiveSchema(schema.schema_id, SIGNAL_NAMES))

    return FuzzCase(
        service="signal",
        settings={
            "FEATURES": json.dumps(list(SIGNAL_NAMES)),
            "FEATURE_SCHEMA_ID": schema.schema_id,
            "STRATEGY": json.dumps(STRATEGY),
        },
        topic=FEATURES,
        prelude=bars,  # the bars wait for their vectors
        traffic=with_late_events(vectors),
        outputs=(SIGNALS, SIGNALS_SHADOW, RISK_ALERTS),
        oracle=oracle,
    )


def risk_case(tmp_path: Path) -> FuzzCase:
    bars = real_bars(VALID + 30)
    weights = (0.5, 0.0, -0.5, 0.25, 0.0)
    signals = [risk_it.signal(bar, weights[n % len(weights)]) for n, bar in enumerate(bars[30:])]
    return FuzzCase(
        service="risk",
        settings=risk_it.SETTINGS,
        topic=SIGNALS,
        prelude=[risk_it.snapshot(bars[0], 100_000.0), *bars[:30]],
        traffic=with_late_events(signals),
        outputs=(ORDERS_INTENTS, ORDERS_DECISIONS, RISK_ALERTS),
        oracle=lambda: RiskService(RiskEngine(risk_it.CONFIG)).handle,
    )


def order_router_case(tmp_path: Path) -> FuzzCase:
    bars = real_bars(VALID + 10)
    buy = router_it.order(bars[8], OrderSide.BUY, 2.0)
    rest = router_it.order(
        bars[9], OrderSide.SELL, 1.0, order_type=OrderType.LIMIT, limit_price=bars[9].close * 1.01
    )
    return FuzzCase(
        service="order-router",
        settings=router_it.SETTINGS,
        topic=MD_BARS,
        prelude=[*bars[:10], buy, rest, buy],  # the market order's decision delivered twice
        traffic=with_late_events(bars[10:]),
        outputs=(ORDERS_EVENTS, PORTFOLIO),
        oracle=lambda: RouterHandler(OrderRouterEngine(router_it.CONFIG)).handle,
    )


def audit_case(tmp_path: Path) -> FuzzCase:
    return FuzzCase(
        service="audit",
        settings={"DIRECTORY": str(tmp_path / "audit-log"), "CHECKPOINT_EVERY": "50"},
        topic=MD_BARS,
        traffic=with_late_events(real_bars(VALID)),
    )


def audit_recorded_each_event_once(report: FuzzReport, tmp_path: Path) -> None:
    """The audit log holds every valid event once; each redelivery counted as a duplicate
    (by the audit, or skipped by the processor while the first delivery was in flight)."""
    recorded = [
        record.event_id
        for record in read_records(tmp_path / "audit-log")
        if record.event_type != "audit.checkpoint"
    ]
    assert sorted(recorded) == sorted({event.event_id for event in report.valid.values()})
    duplicates = metric_total(report.metrics, "jules_audit_duplicates_total")
    skipped = metric_total(report.metrics, "jules_audit_redeliveries_skipped_total")
    assert duplicates + skipped == len(report.redelivered)


CASES: dict[str, tuple[Callable[[Path], FuzzCase], bool]] = {
    "features": (features_case, True),
    "signal": (signal_case, False),
    "risk": (risk_case, False),
    "order-router": (order_router_case, False),
    "audit": (audit_case, False),
}
"""Each service's case, and whether its consumer skips redeliveries (``dedup_window``) rather
than handling them and publishing nothing new."""


def on_client(case: FuzzCase, client: str) -> FuzzCase:
    """``case`` with the service on Kafka client ``client``."""
    return dataclasses.replace(case, settings={**case.settings, "KAFKA__CLIENT": client})


@pytest.mark.parametrize(
    ("service", "client"),
    [*((service, "aiokafka") for service in CASES), ("features", "confluent")],
)
async def test_fuzzed_input_is_dead_lettered_with_its_reason_and_valid_input_processed_once(
    service: str, client: str, kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    build, skips_redeliveries = CASES[service]
    report = await run_fuzz(kafka, tmp_path, on_client(build(tmp_path), client))
    print(report.summary())
    check_report(report, skips_redeliveries=skips_redeliveries)
    if service == "audit":
        audit_recorded_each_event_once(report, tmp_path)
    else:
        assert report.expected, "the valid traffic must cause outputs"


@pytest.mark.parametrize("client", ["aiokafka", "confluent"])
async def test_a_header_that_is_not_utf8_changes_nothing(
    client: str, kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    case = dataclasses.replace(
        on_client(features_case(tmp_path), client), headers=NON_UTF8_HEADERS, handled_within_s=15.0
    )
    report = await run_fuzz(kafka, tmp_path, case)
    check_report(report, skips_redeliveries=True)


INPUTS: dict[str, tuple[Topic, ...]] = {
    "features": features_handlers.INPUT_TOPICS,
    "signal": (MD_BARS, FEATURES, CONTROL),
    "risk": (*risk_handlers.INPUT_TOPICS, *risk_handlers.CONTROL_TOPICS),
    "order-router": router_handlers.INPUT_TOPICS,
    "audit": ALL_TOPICS,
}
"""Every topic each service consumes."""


@pytest.mark.parametrize("service", list(INPUTS))
async def test_every_input_topic_of_a_service_dead_letters_each_class_of_bad_message(
    service: str, kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    settings = CASES[service][0](tmp_path).settings
    reports, health, alive, status = await run_bad_only(
        kafka, tmp_path, service, settings, INPUTS[service]
    )
    for report in reports:
        print(f"{service} {report.topic}: sent {dict(report.sent)} -> dead {dict(report.dead)}")
    assert all(report.sent.total() >= 12 for report in reports)  # one message per class
    assert {r.topic: r.dead for r in reports} == {r.topic: r.sent for r in reports}
    assert {r.topic: r.counted for r in reports} == {r.topic: r.sent for r in reports}
    assert all(report.unchanged_bodies for report in reports)
    assert (health, alive, status) == (204, True, 0)


PERP_BARS = "nautilus_trader/tests/test_data/btc-perp-20211231-20220201_1m.csv"


async def test_a_thousand_bad_messages_among_ten_thousand_valid_bars(
    kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    """T6 at its scale: over 1,000 bad messages (16 classes, 63 of each) mixed into 10,000
    valid bars, with redeliveries and late bars, on the features service."""
    loaded = load(DATA_DIR / PERP_BARS, instrument_id="BTC-PERP.FTX", assume_utc=True)
    bars = [bar for bar in itertools.islice(loaded, 10_000) if isinstance(bar, Bar)]
    case = dataclasses.replace(
        features_case(tmp_path),
        traffic=with_late_events(bars, ahead=True),
        copies=63,
        redeliver_every=100,
        handled_within_s=300.0,
    )
    report = await run_fuzz(kafka, tmp_path, case)
    print(report.summary())
    assert len(report.bad) >= 1_000
    assert len(report.valid) - len(report.redelivered) >= 10_000
    check_report(report, skips_redeliveries=True)
