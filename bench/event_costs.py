"""Benchmark: what one bar costs in the embedded loop, piece by piece, and what each remedy gives.

On the FTX BTC-PERP file of ``bench/ftx_ema.py`` (45,031 one-minute bars, EMA 9/21), in this
process, CPU time per bar (median of ``--repeat``):

1. **The whole run** (``run_backtest``, the run folder included): seconds and bars/s, with its
   event count; the per-bar budget of the 100,000 bars/s goal is 10 µs.
2. **Loading**: the bar table's reader (CSV rows parsed, bars validated, ids derived).
3. **Events**: a ``Bar`` validated by pydantic, the same built by ``model_construct``
   (pydantic's unvalidated path) and as a light object (a frozen ``msgspec.Struct`` with the
   same fields), a derived event id, a derived ``FeatureVector``.
4. **Features**: the streaming EMA 9 and 21 (TA-Lib's streaming handles) per bar, against
   TA-Lib's batch EMA over the whole series divided by its bars.
5. **Audit**: the canonical JSON of an event, the chain's SHA-256 link per record, against one
   SHA-256 over a block of 1,000 records divided by its records.

Each remedy's gain is bounded by the cost it removes times the events per bar. Usage::

    .venv/bin/python bench/event_costs.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import numpy as np
from jules_audit.engine.chain import canonical, link_hash
from jules_backtest.config import BacktestConfig
from jules_backtest.run import run_backtest
from jules_contracts import Bar, FeatureVector, derive_event_id
from jules_features.engine import FeatureEngine, FeatureSchema
from jules_features.engine.config import FeatureEngineConfig
from jules_features.engine.indicators import BarFeatures
from jules_market_data.loaders import load_bar_table
from machine import describe  # bench/machine.py (scripts run from bench/)

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", ROOT.parent / "shared" / "data"))
BARS = DATA_DIR / "nautilus_trader/tests/test_data/btc-perp-20211231-20220201_1m.csv"
GOAL_BARS_PER_SECOND = 100_000


def each(make: Callable[[], object], count: int) -> Callable[[], None]:
    """Work that calls ``make()`` ``count`` times, keeping nothing (as a loop does)."""

    def work() -> None:
        for _ in range(count):
            make()

    return work


def cpu_us(work: Callable[[], object], per: int, repeat: int) -> float:
    """Median CPU microseconds of ``work()`` divided by ``per``."""
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        work()
        samples.append((time.process_time() - start) / per * 1e6)
    return statistics.median(samples)


def load() -> list[Bar]:
    """The FTX bars, as a backtest reads them (parsed, validated, ids derived)."""
    items = load_bar_table(BARS, instrument_id="BTC-PERP.FTX", interval="1m", assume_utc=True)
    return [item for item in items if isinstance(item, Bar)]


def whole_run(repeat: int) -> tuple[float, int]:
    """Median CPU seconds of the whole embedded run, and the events it audited."""
    seconds, events = [], 0
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as work:
            config = BacktestConfig.model_validate(
                {
                    "name": "ftx-ema",
                    "data_dir": str(BARS.parent),
                    "data": [
                        {"path": BARS.name, "instrument_id": "BTC-PERP.FTX", "assume_utc": True}
                    ],
                    "strategy": {"kind": "ema_cross", "fast": 9, "slow": 21, "mode": "long_short"},
                    "risk": {"sizing": {"kind": "all_equity"}},
                    "execution": {"fill_model": {"kind": "next_bar_open"}},
                    "output_dir": str(Path(work) / "run"),
                }
            )
            start = time.process_time()
            run_backtest(config)
            seconds.append(time.process_time() - start)
            audit = Path(work) / "run" / "audit"
            events = sum(sum(1 for _ in path.open("rb")) for path in audit.glob("segment-*.jsonl"))
    return statistics.median(seconds), events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    repeat = args.repeat
    print(f"machine: {describe()}")

    run_seconds, events = whole_run(max(1, repeat // 2))
    bars = load()
    n = len(bars)
    per_bar = events / n
    run_us = run_seconds / n * 1e6
    print(f"whole embedded run (CPU, run folder included): {run_seconds:.2f} s for {n:,} bars")
    print(
        f"  {n / run_seconds:,.0f} bars/s = {run_us:.0f} µs per bar "
        f"(goal {GOAL_BARS_PER_SECOND:,} bars/s = {1e6 / GOAL_BARS_PER_SECOND:.0f} µs per bar); "
        f"{events:,} events audited, {per_bar:.2f} per bar"
    )

    rows: list[tuple[str, float, float]] = []  # (piece, µs each, times per bar)
    rows.append(("load: the bar table's reader, per bar", cpu_us(load, n, repeat), 1))

    bar = bars[1000]
    fields = bar.model_dump()
    count = 20_000
    rows.append(
        (
            "Bar: pydantic validation",
            cpu_us(each(lambda: Bar.model_validate(fields), count), count, repeat),
            1,
        )
    )
    rows.append(
        (
            "Bar: model_construct (no validation)",
            cpu_us(each(lambda: Bar.model_construct(**fields), count), count, repeat),
            1,
        )
    )
    light = msgspec.defstruct("LightBar", [(name, object) for name in fields], frozen=True)
    rows.append(
        (
            "a light object with the Bar's fields (msgspec Struct)",
            cpu_us(each(lambda: light(**fields), count), count, repeat),
            1,
        )
    )
    rows.append(
        (
            "derived event id (SHA-256 of the cause)",
            cpu_us(each(lambda: derive_event_id("x", bar.event_id, 7), count), count, repeat),
            per_bar,
        )
    )
    schema = FeatureSchema.from_names(["ema_9", "ema_21"])
    features = {"ema_9": 1.0, "ema_21": 2.0}
    rows.append(
        (
            "FeatureVector.derive (validated)",
            cpu_us(
                each(
                    lambda: FeatureVector.derive(
                        bar,
                        source="features",
                        instrument_id=bar.instrument_id,
                        feature_schema_id=schema.schema_id,
                        features=features,
                    ),
                    count,
                ),
                count,
                repeat,
            ),
            1,
        )
    )

    import talib

    closes = np.array([b.close for b in bars])
    rows.append(
        (
            "features: the vector of a bar (streaming EMA 9+21, the event)",
            cpu_us(lambda: _vectors(schema, bars), n, repeat),
            1,
        )
    )
    rows.append(
        (
            "features: streaming EMA 9+21 alone (TA-Lib handles)",
            cpu_us(lambda: _indicators(schema, bars), n, repeat),
            1,
        )
    )
    rows.append(
        (
            "features: TA-Lib batch EMA 9+21, per bar",
            cpu_us(lambda: (talib.EMA(closes, 9), talib.EMA(closes, 21)), n, repeat),
            1,
        )
    )

    rows.append(("audit: canonical JSON of a bar", cpu_us(lambda: _canon(bars), n, repeat), 1))
    payloads = [canonical(b) for b in bars[:count]]
    rows.append(
        (
            "audit: SHA-256 link per record",
            cpu_us(lambda: _chain(payloads), count, repeat),
            per_bar,
        )
    )
    rows.append(
        (
            "audit: SHA-256 per block of 1,000 records, per record",
            cpu_us(lambda: _blocks(payloads), count, repeat),
            per_bar,
        )
    )

    print(f"\n{'piece':<62} {'µs each':>9} {'per bar':>10} {'% of run':>9}")
    for name, micros, times in rows:
        print(f"{name:<62} {micros:>9.2f} {times:>10.2f} {100 * micros * times / run_us:>8.1f}%")


def _vectors(schema: FeatureSchema, bars: list[Bar]) -> None:
    engine = FeatureEngine(schema)
    for bar in bars:
        engine.on_bar(bar)


def _indicators(schema: FeatureSchema, bars: list[Bar]) -> None:
    indicators = BarFeatures(schema.specs, FeatureEngineConfig())
    for bar in bars:
        indicators.update(bar)


def _canon(bars: list[Bar]) -> None:
    for bar in bars:
        canonical(bar)


def _chain(payloads: list[bytes]) -> None:
    head = bytes(32)
    for payload in payloads:
        head = link_hash(head, payload)
        head.hex()


def _blocks(payloads: list[bytes]) -> None:
    for first in range(0, len(payloads), 1000):
        hashlib.sha256(b"".join(payloads[first : first + 1000])).hexdigest()


if __name__ == "__main__":
    main()
