"""The features service as its own process on the real broker: the same vectors as the
embedded engine, health/readiness/metrics endpoints, graceful shutdown on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from jules_contracts import Bar, FeatureVector, decode_event
from jules_contracts.topics import FEATURES, MD_BARS
from jules_features.engine import FeatureEngine, FeatureSchema
from jules_market_data.loaders import load
from jules_runtime.bus import KafkaBus
from jules_runtime.settings import KafkaSettings

from .bus_helpers import create_scoped_topics, new_scope, read_topic, wait_until
from .service_process import http_status, http_text, start_service

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
BARS_FILE = "QuantConnect_Lean/Data/crypto/coinbase/minute/ethusd/20180405_trade.zip"
NAMES = ("sma_10", "ema_21", "rsi_14", "atr_14", "vwap")


def real_bars(count: int) -> list[Bar]:
    bars = [
        e for e in load(DATA_DIR / BARS_FILE, instrument_id="ETHUSD.COINBASE") if isinstance(e, Bar)
    ]
    return bars[:count]


async def test_features_service_process_publishes_the_embedded_vectors(kafka, tmp_path):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    bars = real_bars(200)
    embedded = FeatureEngine(FeatureSchema.from_names(NAMES))
    expected = [embedded.on_bar(bar) for bar in bars]

    service = start_service(
        "features", kafka.bootstrap, scope, tmp_path, FEATURES=json.dumps(list(NAMES))
    )
    try:
        service.wait_ready()
        assert http_status(service.base_url + "/health") == 204
        async with KafkaBus("test-feed", settings, scope) as feed:
            await feed.publish(*bars)
        records = await read_topic(kafka.bootstrap, FEATURES.scoped(scope), len(bars))
        # a consumer may read the vectors before the service has its acknowledgements
        out = 'jules_features_events_out_total{event_type="features.vector"} 200.0'
        deadline = time.monotonic() + 30
        metrics = http_text(service.base_url + "/metrics")
        while out not in metrics and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            metrics = http_text(service.base_url + "/metrics")
    finally:
        status = service.terminate()

    vectors = [decode_event(record.value) for record in records]
    assert all(isinstance(v, FeatureVector) for v in vectors)
    assert vectors == expected  # same ids, values and schema as the embedded engine
    assert f'jules_features_events_in_total{{topic="{MD_BARS.scoped(scope)}"}} 200.0' in metrics
    assert out in metrics
    assert "jules_features_processing_seconds_bucket" in metrics
    [last_time] = [
        float(line.split()[1])
        for line in metrics.splitlines()
        if line.startswith("jules_features_last_event_time_seconds ")
    ]
    assert last_time == bars[-1].event_time / 1e9
    assert "jules_features_faststream_received_messages_total" in metrics
    assert status == 0, service.log.read_text()[-3000:]
    assert "service started" in service.log.read_text()


async def test_an_invalid_setting_stops_the_service_at_start_up(kafka, tmp_path):
    service = start_service(
        "features", kafka.bootstrap, new_scope(), tmp_path, FEATURES='["sma_10","bogus_3"]'
    )
    status = service.process.wait(timeout=60)
    assert status == 2
    assert "unknown feature 'bogus_3'" in service.log.read_text()


async def test_with_a_commit_interval_batches_commit_after_their_acks_and_a_timer_commits_the_rest(
    kafka, tmp_path
):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    bars = real_bars(120)
    embedded = FeatureEngine(FeatureSchema.from_names(NAMES))
    expected = [embedded.on_bar(bar) for bar in bars]
    group = f"{scope}.jules-features"

    service = start_service(
        "features",
        kafka.bootstrap,
        scope,
        tmp_path,
        FEATURES=json.dumps(list(NAMES)),
        KAFKA__COMMIT_INTERVAL_MS="300",
    )
    try:
        service.wait_ready()
        async with KafkaBus("test-feed", settings, scope) as feed:
            await feed.publish(*bars[:-1])
            records = await read_topic(kafka.bootstrap, FEATURES.scoped(scope), len(bars) - 1)
            counted = 'jules_features_events_out_total{event_type="features.vector"} 119.0'
            await wait_until(lambda: counted in http_text(service.base_url + "/metrics"))
            # idle: the timer commits what the last batches left, without another message
            assert await _committed(kafka.bootstrap, group, at_least=len(bars) - 1) == 119
            await feed.publish(bars[-1])
            records = await read_topic(kafka.bootstrap, FEATURES.scoped(scope), len(bars))
            committed = await _committed(kafka.bootstrap, group, at_least=len(bars))
    finally:
        status = service.terminate()

    assert [decode_event(record.value) for record in records] == expected  # order kept
    assert committed == len(bars)  # every offset, and only after its vector was acknowledged
    assert status == 0, service.log.read_text()[-3000:]


async def _committed(bootstrap: str, group: str, *, at_least: int = 1) -> int:
    """The group's committed offsets summed, once they reach ``at_least`` (or after 30 s)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            offsets = await admin.list_consumer_group_offsets(group)
            total = int(sum(meta.offset for meta in offsets.values() if meta.offset > 0))
            if total >= at_least or asyncio.get_running_loop().time() > deadline:
                return total
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def test_two_replicas_in_one_group_split_the_instruments_and_give_the_embedded_vectors(
    kafka, tmp_path
):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    scope = new_scope()
    await create_scoped_topics(settings, scope, partitions=4)
    symbols = ("btcusd", "ethusd", "ltcusd", "btceur")  # partitions 1, 3, 3 and 0 of 4
    bars = [
        bar
        for symbol in symbols
        for bar in load(
            DATA_DIR / BARS_FILE.replace("ethusd", symbol),
            instrument_id=f"{symbol.upper()}.COINBASE",
        )
        if isinstance(bar, Bar)
    ][::1]
    bars = sorted(
        (
            b
            for s in symbols
            for b in [x for x in bars if x.instrument_id.startswith(s.upper())][:150]
        ),
        key=lambda b: (b.event_time, b.instrument_id),
    )
    expected: dict[str, list[FeatureVector]] = {}
    engine = FeatureEngine(FeatureSchema.from_names(NAMES))
    for bar in bars:
        expected.setdefault(bar.instrument_id, []).append(engine.on_bar(bar))
    logs = [tmp_path / "a", tmp_path / "b"]
    for folder in logs:
        folder.mkdir()
    replicas = [
        start_service("features", kafka.bootstrap, scope, folder, FEATURES=json.dumps(list(NAMES)))
        for folder in logs
    ]
    try:
        for replica in replicas:
            replica.wait_ready()
        assert await _group_members(kafka.bootstrap, f"{scope}.jules-features", 2) == 2
        async with KafkaBus("test-feed", settings, scope) as feed:
            await feed.publish(*bars)
        records = await read_topic(kafka.bootstrap, FEATURES.scoped(scope), len(bars))

        # A replica counts a vector once the broker acknowledged it, which can come after a
        # reader already received it: wait for the counts to catch up with the topic.
        def counts_now() -> list[float]:
            return [_events_out(http_text(r.base_url + "/metrics")) for r in replicas]

        await wait_until(lambda: sum(counts_now()) >= len(bars), timeout_s=30)
        counts = counts_now()
    finally:
        statuses = [replica.terminate() for replica in replicas]

    got: dict[str, list[FeatureVector]] = {}
    for record in records:
        vector = decode_event(record.value)
        assert isinstance(vector, FeatureVector)
        got.setdefault(vector.instrument_id, []).append(vector)
    assert got == expected  # per instrument: the same vectors, in order, as one engine
    assert sum(counts) == len(bars)  # each bar computed once
    assert all(count > 0 for count in counts)  # both replicas had instruments (even, odd)
    assert statuses == [0, 0]


def _events_out(metrics: str) -> float:
    name = 'jules_features_events_out_total{event_type="features.vector"}'
    return sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith(name))


async def _group_members(bootstrap: str, group: str, wanted: int) -> int:
    """Wait until ``group`` is stable with ``wanted`` members; return its member count."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            [response] = await admin.describe_consumer_groups([group])
            # groups: (error_code, group_id, state, protocol_type, protocol, members, ...)
            group_state = response.groups[0]
            members = len(group_state[5])
            if (group_state[2] == "Stable" and members == wanted) or (
                asyncio.get_running_loop().time() > deadline
            ):
                return members
            await asyncio.sleep(0.25)
    finally:
        await admin.close()
