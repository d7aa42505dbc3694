"""``jules replay``: a backtest's bars into a run's md.bars.v1, with the replay's watermarks."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from jules_backtest.config import load_config
from jules_backtest.data import DataQuality, load_bars
from jules_contracts import Bar, Watermark, decode_event
from jules_contracts.topics import MD_BARS

from .bus_helpers import new_scope, read_topic
from .kafka_helpers import KafkaEndpoint
from .test_topic_replay_parity import COINBASE, DATA_DIR

pytestmark = pytest.mark.integration
JULES = Path(sys.executable).parent / "jules"


def test_replay_publishes_each_time_then_its_watermark_into_every_partition(
    kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    config = tmp_path / "replay.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "replay",
                "data_dir": str(DATA_DIR),
                "data": [
                    {"path": f"{COINBASE}/{s}/20180404_trade.zip", "instrument_id": f"{s}.CB"}
                    for s in ("btcusd", "ethusd")
                ],
                "strategy": {"kind": "sma_cross", "fast": 10, "slow": 30},
            }
        )
    )
    scope = new_scope()

    done = subprocess.run(
        [
            *(str(JULES), "replay", "-c", str(config), "--scope", scope),
            *("--partitions", "2", "--bootstrap", kafka.bootstrap),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    loaded = list(load_bars(load_config(config), DataQuality()))
    times = len({bar.event_time for bar in loaded})
    assert f"replayed {len(loaded):,} bars" in done.stdout
    topic = MD_BARS.scoped(scope)
    records = asyncio.run(read_topic(kafka.bootstrap, topic, len(loaded) + 2 * (times + 1)))
    per_partition: dict[int, list[Bar | Watermark]] = {}
    for record in records:
        event = decode_event(record.value or b"", allowed=MD_BARS.event_types)
        assert isinstance(event, Bar | Watermark)
        per_partition.setdefault(record.partition, []).append(event)
    assert sorted(per_partition) == [0, 1]
    for partition, events in per_partition.items():
        marks = [e for e in events if isinstance(e, Watermark)]
        assert [m.partition for m in marks] == [partition] * (times + 1)
        assert [m.final for m in marks] == [False] * times + [True]
        assert all(m.service == "replay" for m in marks)
        open_time = -1
        for event in events:  # every bar comes before the watermark of its time
            if isinstance(event, Watermark):
                open_time = event.watermark
            else:
                assert event.event_time > open_time
    bars = Counter(
        e.instrument_id for es in per_partition.values() for e in es if isinstance(e, Bar)
    )
    assert bars == Counter(bar.instrument_id for bar in loaded)
    assert sorted(bars) == ["btcusd.CB", "ethusd.CB"]


def test_replay_refuses_a_bad_scope(tmp_path: Path) -> None:
    config = tmp_path / "replay.yaml"
    config.write_text(yaml.safe_dump({"name": "x", "data": [], "strategy": {"kind": "sma_cross"}}))

    done = subprocess.run(
        [str(JULES), "replay", "-c", str(config), "--scope", "Bad Scope"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 2
    assert "invalid --scope" in done.stdout
    assert "'Bad Scope'" in done.stdout
