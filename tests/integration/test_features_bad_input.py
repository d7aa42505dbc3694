"""The features service as its own process on the real broker, fed valid bars mixed with bad
input: a bar far ahead of its instrument, a bar delivered again, a bar keyed by another
instrument and a body nested too deeply. Each bad message is dead-lettered alone with its
reason (the far-ahead bar also raises an alert), the redelivery is skipped, and every valid
bar gives its vector exactly once, the same as the embedded engine's."""

from __future__ import annotations

import json
import os
from pathlib import Path

from jules_contracts import (
    AlertCode,
    Bar,
    FeatureVector,
    RiskAlert,
    decode_event,
    derive_event_id,
    encode_event,
)
from jules_contracts.dead_letter import DLQ_HEADER_REASON
from jules_contracts.topics import FEATURES, MD_BARS, RISK_ALERTS
from jules_features.engine import FeatureEngine, FeatureSchema
from jules_market_data.loaders import load
from jules_runtime.bus import KafkaBus
from jules_runtime.settings import KafkaSettings

from .bus_helpers import create_scoped_topics, new_scope, read_topic, wait_until
from .service_process import http_text, start_service

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
BARS_FILE = "QuantConnect_Lean/Data/crypto/coinbase/minute/ethusd/20180405_trade.zip"
NAMES = ("sma_10", "ema_21", "rsi_14", "atr_14", "vwap")
MINUTE_NS = 60 * 1_000_000_000


def real_bars(count: int) -> list[Bar]:
    bars = [
        e for e in load(DATA_DIR / BARS_FILE, instrument_id="ETHUSD.COINBASE") if isinstance(e, Bar)
    ]
    return bars[:count]


def far_ahead(bar: Bar, minutes: int = 500) -> Bar:
    """A contract-valid bar ``minutes`` after ``bar``, with a wild price."""
    shift = minutes * MINUTE_NS
    return bar.model_copy(
        update={
            "event_id": derive_event_id("far-ahead", bar.event_id),
            "event_time": bar.event_time + shift,
            "start_time": bar.start_time + shift,
            "open": bar.open * 10,
            "high": bar.high * 10,
            "low": bar.low * 10,
            "close": bar.close * 10,
        }
    )


async def test_bad_bars_are_dead_lettered_alone_and_the_valid_ones_processed_once(kafka, tmp_path):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    bars = real_bars(200)
    embedded = FeatureEngine(FeatureSchema.from_names(NAMES))
    expected = [embedded.on_bar(bar) for bar in bars]
    topic = MD_BARS.scoped(scope)

    service = start_service(
        "features", kafka.bootstrap, scope, tmp_path, FEATURES=json.dumps(list(NAMES))
    )
    try:
        service.wait_ready()
        async with KafkaBus("test-feed", settings, scope) as feed:
            await feed.publish(*bars[:50])
            await feed.publish(far_ahead(bars[49]))
            await feed.publish(*bars[50:100])
            await feed.publish(bars[60])  # delivered again, 40 bars later
            wrong_key = far_ahead(bars[99], minutes=1)
            await feed.publish_raw(topic, encode_event(wrong_key), key=b"BTCUSD.COINBASE")
            await feed.publish_raw(topic, b'{"a":' * 20_000 + b"1" + b"}" * 20_000)
            await feed.publish(*bars[100:])
        out = 'jules_features_events_out_total{event_type="features.vector"} 200.0'
        await wait_until(lambda: out in http_text(service.base_url + "/metrics"))
        metrics = http_text(service.base_url + "/metrics")
        records = await read_topic(kafka.bootstrap, FEATURES.scoped(scope), len(bars))
        dead = await read_topic(kafka.bootstrap, MD_BARS.scoped_dlq(scope), 3)
        alerts = await read_topic(kafka.bootstrap, RISK_ALERTS.scoped(scope), 1)
    finally:
        status = service.terminate()

    vectors = [decode_event(record.value) for record in records]
    assert all(isinstance(v, FeatureVector) for v in vectors)
    assert vectors == expected  # each valid bar once, in order, as the embedded engine
    assert [dict(record.headers)[DLQ_HEADER_REASON] for record in dead] == [
        b"TOO_FAR_AHEAD",
        b"WRONG_KEY",
        b"UNDECODABLE",
    ]
    [alert] = [decode_event(record.value) for record in alerts]
    assert isinstance(alert, RiskAlert)
    assert (alert.code, alert.instrument_id) == (AlertCode.BAR_TOO_FAR_AHEAD, "ETHUSD.COINBASE")
    for reason in ("TOO_FAR_AHEAD", "WRONG_KEY", "UNDECODABLE"):
        line = f'jules_features_dead_letters_total{{reason="{reason}",topic="{topic}"}} 1.0'
        assert line in metrics
    assert f'jules_features_redeliveries_skipped_total{{topic="{topic}"}} 1.0' in metrics
    assert status == 0, service.log.read_text()[-3000:]
