"""Bars out of their instrument's order, too far ahead of it, or delivered again: refused or
skipped alone, never moving the features, and the later bars processed as if they never came."""

from __future__ import annotations

import pytest
from jules_contracts import AlertCode, Bar, FeatureVector, RiskAlert, decode_event, derive_event_id
from jules_contracts.dead_letter import DLQ_HEADER_REASON
from jules_contracts.topics import FEATURES, MD_BARS, RISK_ALERTS
from jules_features.config import FeaturesSettings
from jules_features.engine import (
    FeatureEngine,
    FeatureEngineConfig,
    FeatureError,
    FeatureErrorReason,
    FeatureSchema,
)
from jules_features.handlers import INPUT_TOPICS, market_data_handler
from jules_runtime.bus import InMemoryBus

from .market_data import MINUTE_NS, make_bar

T0 = 1_723_161_600 * 1_000_000_000
INSTRUMENT = "BTCUSDT.BINANCE"
SCHEMA = FeatureSchema.from_names(["sma_3", "ema_5", "rsi_3"])


def bar(minute: int, close: float | None = None) -> Bar:
    price = close if close is not None else 100.0 + (minute % 7)
    return make_bar(INSTRUMENT, T0 + minute * MINUTE_NS, (price, price + 1, price - 1, price, 1.0))


def vectors(bars: list[Bar], config: FeatureEngineConfig | None = None) -> list[dict[str, object]]:
    engine = FeatureEngine(SCHEMA, config)
    return [dict(engine.on_bar(b).features) for b in bars]


def test_a_bar_too_far_ahead_is_refused_and_changes_nothing():
    engine = FeatureEngine(SCHEMA, FeatureEngineConfig(max_bar_lead_intervals=10))
    for minute in range(5):
        engine.on_bar(bar(minute))

    with pytest.raises(FeatureError) as refused:
        engine.on_bar(bar(500, close=1e6))
    assert refused.value.reason is FeatureErrorReason.BAR_TOO_FAR_AHEAD

    later = [engine.on_bar(bar(minute)).features for minute in range(5, 9)]
    assert later == vectors([bar(m) for m in range(9)])[5:]


def test_a_bar_within_the_lead_limit_is_taken():
    engine = FeatureEngine(SCHEMA, FeatureEngineConfig(max_bar_lead_intervals=10))
    engine.on_bar(bar(0))
    engine.on_bar(bar(10))  # 10 intervals later: at the limit


def test_two_bars_in_step_after_a_gap_show_the_stream_jumped_and_the_second_is_taken():
    engine = FeatureEngine(SCHEMA, FeatureEngineConfig(max_bar_lead_intervals=10))
    engine.on_bar(bar(0))
    with pytest.raises(FeatureError):
        engine.on_bar(bar(1000))
    with pytest.raises(FeatureError):
        engine.on_bar(bar(1000))  # the same bar again proves nothing
    vector = engine.on_bar(bar(1001))
    assert vector.event_time == bar(1001).event_time


def test_without_a_lead_limit_every_later_bar_is_taken():
    engine = FeatureEngine(SCHEMA, FeatureEngineConfig(max_bar_lead_intervals=None))
    engine.on_bar(bar(0))
    engine.on_bar(bar(100_000))


async def test_the_handler_dead_letters_a_far_ahead_and_an_early_bar_alone_with_an_alert():
    bus = InMemoryBus("features")
    engine = FeatureEngine(SCHEMA, FeatureEngineConfig(max_bar_lead_intervals=10))
    processor = bus.subscribe(INPUT_TOPICS, market_data_handler(engine), dedup_window=100)
    stream = [bar(m) for m in range(5)] + [bar(500, close=1e6)] + [bar(m) for m in range(5, 9)]
    stream.insert(8, bar(2, close=5.0).model_copy(update={"event_id": derive_event_id("early")}))
    async with bus:
        await bus.publish(*stream)
        await bus.drain()

    dead = bus.records(MD_BARS.dlq)
    assert [d.header(DLQ_HEADER_REASON) for d in dead] == ["TOO_FAR_AHEAD", "OUT_OF_ORDER"]
    alerts = [decode_event(record.value) for record in bus.records(RISK_ALERTS.name)]
    assert [a.code for a in alerts if isinstance(a, RiskAlert)] == [
        AlertCode.BAR_TOO_FAR_AHEAD,
        AlertCode.BAR_OUT_OF_ORDER,
    ]
    published = [decode_event(record.value) for record in bus.records(FEATURES.name)]
    assert all(isinstance(v, FeatureVector) for v in published)
    assert [dict(v.features) for v in published if isinstance(v, FeatureVector)] == vectors(
        [bar(m) for m in range(9)]
    )
    assert processor.stats.dead_lettered == 2
    assert processor.stats.handler_retries == 0


async def test_a_bar_delivered_again_later_moves_the_features_once():
    bus = InMemoryBus("features")
    processor = bus.subscribe(
        INPUT_TOPICS, market_data_handler(FeatureEngine(SCHEMA)), dedup_window=100
    )
    stream = [bar(0), bar(1), bar(2), bar(1), bar(3), bar(0), bar(4)]
    async with bus:
        await bus.publish(*stream)
        await bus.drain()

    published = [decode_event(record.value) for record in bus.records(FEATURES.name)]
    assert all(isinstance(v, FeatureVector) for v in published)
    assert [dict(v.features) for v in published if isinstance(v, FeatureVector)] == vectors(
        [bar(m) for m in range(5)]
    )
    assert processor.stats.duplicates == 2
    assert bus.records(MD_BARS.dlq) == []


def test_live_mode_limits_the_bar_lead_unless_the_engine_sets_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JULES_FEATURES__KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    assert FeaturesSettings().engine.max_bar_lead_intervals is None  # backtests: no limit
    assert FeaturesSettings().live_engine_config.max_bar_lead_intervals == 120
    monkeypatch.setenv("JULES_FEATURES__ENGINE__MAX_BAR_LEAD_INTERVALS", "30")
    assert FeaturesSettings().live_engine_config.max_bar_lead_intervals == 30
