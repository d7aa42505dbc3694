"""The market-data commands and service on the real broker: a replay publishes exactly the
loaded bars in order (rejected rows reported, never published), ``record`` writes a topic back
to Parquet, a paced replay honours its speed, and ``run`` replays its files with
health/readiness/metrics, stops on SIGTERM and refuses invalid settings."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
from jules_contracts import Bar, Trade, decode_event
from jules_contracts.topics import MD_BARS, MD_TRADES
from jules_market_data import MarketDataValidator, load
from jules_runtime.settings import KafkaSettings
from prometheus_client.parser import text_string_to_metric_families

from .bus_helpers import create_scoped_topics, new_scope, read_topic, wait_until
from .service_process import http_status, http_text, start_service

BIN = Path(sys.executable).parent
REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
LEAN_MINUTES = Path("QuantConnect_Lean/Data/crypto/coinbase/minute/ethusd/20180405_trade.zip")
BARS_FILE = DATA_DIR / LEAN_MINUTES
TRADES_FILE = DATA_DIR / "pyalgotrade" / "testcases" / "data" / "bitstampUSD.csv"
INSTRUMENT = "ETHUSD.COINBASE"


def loaded_bars(path: Path = BARS_FILE) -> list[Bar]:
    validator = MarketDataValidator()
    items = list(validator.validate(load(path, instrument_id=INSTRUMENT)))
    assert validator.report().total_rejected == 0
    return [item for item in items if isinstance(item, Bar)]


def sample(metrics: str, name: str) -> float | None:
    """The value of the unlabelled sample ``name`` in a /metrics text."""
    for family in text_string_to_metric_families(metrics):
        for item in family.samples:
            if item.name == name and not item.labels:
                return float(item.value)
    return None


def command(bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``jules-market-data ARGS`` as its own process against the test broker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JULES_")}
    env["JULES_MARKET_DATA__KAFKA__BOOTSTRAP_SERVERS"] = bootstrap
    return subprocess.run(
        [str(BIN / "jules-market-data"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def market_data(bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(command, bootstrap, *args)


def lean_prefix(tmp_path: Path, rows: int) -> Path:
    """The first ``rows`` minutes of the real file, as a Lean zip in Lean's folder layout."""
    with zipfile.ZipFile(BARS_FILE) as archive:
        name = archive.namelist()[0]
        lines = archive.read(name).decode().splitlines()[:rows]
    target = tmp_path / LEAN_MINUTES
    target.parent.mkdir(parents=True)
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr(name, "\n".join(lines) + "\n")
    return target


async def test_replay_publishes_the_loaded_bars_and_record_writes_them_back(kafka, tmp_path):
    scope = new_scope()
    await create_scoped_topics(KafkaSettings(bootstrap_servers=kafka.bootstrap), scope)
    bars = loaded_bars()
    trades = [e for e in load(TRADES_FILE) if isinstance(e, Trade)]  # without the zero-size row

    replayed = await market_data(
        kafka.bootstrap,
        "replay",
        str(BARS_FILE),
        str(TRADES_FILE),
        "--full-speed",
        "--scope",
        scope,
    )

    assert replayed.returncode == 0, replayed.stderr
    assert f"published {len(bars) + len(trades)} event(s)" in replayed.stdout
    assert f"md.bars.v1 {len(bars)}, md.trades.v1 {len(trades)}" in replayed.stdout
    assert "rejected 1 row(s): ZERO_SIZE 1" in replayed.stdout
    assert "bitstampUSD.csv:8524: ZERO_SIZE" in replayed.stdout
    records = await read_topic(kafka.bootstrap, MD_BARS.scoped(scope), len(bars))
    assert [decode_event(record.value) for record in records] == bars  # same ids, in order
    trade_records = await read_topic(kafka.bootstrap, MD_TRADES.scoped(scope), len(trades))
    assert [decode_event(record.value) for record in trade_records] == trades

    output = tmp_path / "bars.parquet"
    recorded = await market_data(
        kafka.bootstrap, "record", "--topic", "md.bars.v1", "--output", str(output),
        "--scope", scope, "--timeout", "1",
    )  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    table = pq.read_table(output)
    assert table.num_rows == len(bars)
    times = table.column("event_time").to_pylist()
    assert (times[0], times[-1]) == (bars[0].event_time, bars[-1].event_time)
    assert table.column("event_id").to_pylist() == [bar.event_id for bar in bars]
    assert table.column("close").to_pylist() == [bar.close for bar in bars]

    first = tmp_path / "first.parquet"
    limited = await market_data(
        kafka.bootstrap, "record", "--topic", "md.bars.v1", "--output", str(first),
        "--scope", scope, "--max-events", "100",
    )  # fmt: skip
    assert limited.returncode == 0, limited.stderr
    assert pq.read_table(first).column("event_id").to_pylist() == [b.event_id for b in bars[:100]]

    empty = await market_data(
        kafka.bootstrap, "record", "--topic", "md.quotes.v1", "--output", str(tmp_path / "q"),
        "--scope", scope, "--timeout", "0.5",
    )  # fmt: skip
    assert empty.returncode == 1
    assert "nothing written" in empty.stderr
    assert not (tmp_path / "q").exists()


async def test_a_paced_replay_takes_at_least_the_data_span_over_the_speed(kafka, tmp_path):
    scope = new_scope()
    await create_scoped_topics(KafkaSettings(bootstrap_servers=kafka.bootstrap), scope)
    path = lean_prefix(tmp_path, rows=31)  # 30 minutes of event time
    bars = loaded_bars(path)
    speed = 600.0  # ten minutes per second: 3 s
    span_s = (bars[-1].event_time - bars[0].event_time) / 1e9
    least = span_s / speed - 0.5

    replayed = await market_data(
        kafka.bootstrap, "replay", str(path), "--instrument-id", INSTRUMENT,
        "--speed", f"{speed:g}", "--scope", scope,
    )  # fmt: skip

    assert replayed.returncode == 0, replayed.stderr
    assert f"at {speed:g}x" in replayed.stdout
    match = re.search(r"published 31 event\(s\) in ([0-9.]+) s", replayed.stdout)
    assert match is not None, replayed.stdout
    assert float(match[1]) >= least
    records = await read_topic(kafka.bootstrap, MD_BARS.scoped(scope), len(bars))
    assert [decode_event(record.value) for record in records] == bars
    # the producer stamps each message when it is sent: the stamps spread over the span too
    assert (records[-1].timestamp - records[0].timestamp) / 1000 >= least


async def test_the_service_replays_its_files_and_stops_on_sigterm(kafka, tmp_path):
    scope = new_scope()
    await create_scoped_topics(KafkaSettings(bootstrap_servers=kafka.bootstrap), scope)
    bars = loaded_bars()
    files = json.dumps([{"path": str(BARS_FILE), "instrument_id": INSTRUMENT}])

    service = start_service("market-data", kafka.bootstrap, scope, tmp_path, FILES=files)
    try:
        service.wait_ready()
        assert http_status(service.base_url + "/health") == 204
        records = await read_topic(kafka.bootstrap, MD_BARS.scoped(scope), len(bars))
        await wait_until(
            lambda: 'state="finished"} 1.0' in http_text(service.base_url + "/metrics")
        )
        metrics = http_text(service.base_url + "/metrics")
    finally:
        status = service.terminate()

    assert [decode_event(record.value) for record in records] == bars
    assert f'jules_market_data_events_out_total{{event_type="md.bar"}} {len(bars)}.0' in metrics
    assert (
        sample(metrics, "jules_market_data_replay_event_time_seconds") == bars[-1].event_time / 1e9
    )
    assert "jules_market_data_rejected_rows_total{" not in metrics  # no row refused
    assert "jules_market_data_faststream_published_messages_total" in metrics
    assert status == 0, service.log.read_text()[-3000:]
    assert "replay finished" in service.log.read_text()


async def test_sigterm_stops_a_paced_replay_and_invalid_settings_stop_the_service(kafka, tmp_path):
    scope = new_scope()
    await create_scoped_topics(KafkaSettings(bootstrap_servers=kafka.bootstrap), scope)
    (tmp_path / "slow").mkdir()
    (tmp_path / "bad").mkdir()
    files = json.dumps([str(BARS_FILE)])

    slow = start_service(
        "market-data", kafka.bootstrap, scope, tmp_path / "slow", FILES=files, SPEED="60"
    )
    bad = start_service(
        "market-data", kafka.bootstrap, scope, tmp_path / "bad",
        FILES=json.dumps([str(tmp_path / "missing.zip")]), SPEED="0",
    )  # fmt: skip
    try:
        slow.wait_ready()
        await read_topic(kafka.bootstrap, MD_BARS.scoped(scope), 2)  # a minute per second
    finally:
        status = slow.terminate(timeout_s=30)
    assert status == 0, slow.log.read_text()[-3000:]
    assert "replay stopped before the end of the files" in slow.log.read_text()

    assert bad.process.wait(timeout=60) == 2
    text = bad.log.read_text()
    assert "JULES_MARKET_DATA__FILES__0__PATH: Value error, file not found" in text
    assert "JULES_MARKET_DATA__SPEED='0'" in text
