"""Benchmark: bars per second and peak memory of an embedded backtest with an ONNX policy.

Runs ``jules backtest`` (in process) over real Coinbase 1-minute bars of four instruments,
driven by a small ONNX policy, with everything a real run does (validation, features,
policy inference, risk, simulated venue, hash-chained audit log, run folder and report).
Then, when the peer environment exists (``make bench-peers`` / bench/peers/README.md), runs
NautilusTrader and backtrader with an equivalent EMA cross on the same bars and prints the
ratios. Usage::

    .venv/bin/python bench/backtest_throughput.py [--repeat 3] [--no-peers]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jules_backtest.config import BacktestConfig
from jules_backtest.run import run_backtest
from jules_contracts import Bar
from jules_market_data.loaders import load
from jules_trainer.linear_policy import write_linear_policy
from machine import describe  # bench/machine.py (scripts run from bench/)

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", ROOT.parent / "shared" / "data"))
COINBASE = "QuantConnect_Lean/Data/crypto/coinbase/minute"
SOURCES = [
    (symbol, day)
    for symbol, days in {
        "btcusd": ("20180404", "20180405", "20180406"),
        "ethusd": ("20180404", "20180405"),
        "ltcusd": ("20180404", "20180405", "20180406"),
        "btceur": ("20180404", "20180405", "20180406"),
    }.items()
    for day in days
]
PEER_PYTHON = ROOT / ".local" / "bench-peers" / "bin" / "python"
PEERS = {"nautilus_trader": "nautilus_ema.py", "backtrader": "backtrader_ema.py"}


def config(run_dir: Path, model: Path) -> BacktestConfig:
    """The benchmark backtest: four instruments, an ONNX policy, a third of equity each."""
    return BacktestConfig.model_validate(
        {
            "name": "bench",
            "data_dir": str(DATA_DIR),
            "data": [
                {
                    "path": f"{COINBASE}/{symbol}/{day}_trade.zip",
                    "instrument_id": f"{symbol.upper()}.COINBASE",
                }
                for symbol, day in SOURCES
            ],
            "strategy": {"kind": "onnx", "model": str(model)},
            "risk": {"sizing": {"kind": "fixed_fraction", "fraction": 0.25}},
            "execution": {"fees": {"taker_bps": 5}},
            "monte_carlo": {"samples": 200},
            "output_dir": str(run_dir),
        }
    )


def export_bars(path: Path) -> int:
    """Write the benchmark's bars, merged in time order, as the peers read them."""
    bars = [
        item
        for symbol, day in SOURCES
        for item in load(
            DATA_DIR / COINBASE / symbol / f"{day}_trade.zip",
            instrument_id=f"{symbol.upper()}.COINBASE",
        )
        if isinstance(item, Bar)
    ]
    bars.sort(key=lambda bar: (bar.start_time, bar.instrument_id))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["instrument_id", "start_ns", "open", "high", "low", "close", "volume"])
        for bar in bars:
            writer.writerow(
                [
                    bar.instrument_id,
                    bar.start_time,
                    bar.open,
                    bar.high,
                    bar.low,
                    bar.close,
                    bar.volume,
                ]
            )
    return len(bars)


def run_ours(work: Path, repeat: int) -> dict[str, float]:
    """Best of ``repeat`` full runs; bars/s over the whole run."""
    model = work / "policy.onnx"
    write_linear_policy(
        model,
        features=("rsi_14", "logret_1"),
        weights=(-1.5, 0.8),
        normalisation={"rsi_14": (50.0, 10.0), "logret_1": (0.0, 0.001)},
        model_name="bench-policy",
    )
    best = float("inf")
    bars = 0
    for attempt in range(repeat):
        started = time.perf_counter()
        summary = run_backtest(config(work / f"run{attempt}", model))
        best = min(best, time.perf_counter() - started)
        bars = summary.bars
    return {
        "bars": bars,
        "seconds": best,
        "bars_per_second": bars / best,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_peer(name: str, bars_csv: Path) -> dict[str, float] | None:
    """Run one peer in its own environment; ``None`` (with a note) if it is not set up."""
    script = ROOT / "bench" / "peers" / PEERS[name]
    if not PEER_PYTHON.exists():
        return None
    out = subprocess.run(
        [
            str(PEER_PYTHON),
            str(script),
            str(bars_csv),
            "--fast",
            "10",
            "--slow",
            "30",
            "--cash",
            "100000",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if out.returncode != 0:
        print(f"{name} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
        return None
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ours = run_ours(work, args.repeat)
        print(
            f"IntradayJules embedded backtest (ONNX policy, 4 instruments): {ours['bars']:,} bars "
            f"in {ours['seconds']:.3f}s = {ours['bars_per_second']:,.0f} bar-events/s; "
            f"peak RSS {ours['peak_rss_mib']:.0f} MiB (best of {args.repeat}; whole run: loading, "
            "validation, features, inference, risk, venue, audit log, run folder, report)"
        )
        print("goal: >= 100,000 bar-events/s on one core, faster than both peers")
        if args.no_peers:
            return
        bars_csv = work / "bars.csv"
        export_bars(bars_csv)
        for name in PEERS:
            peer = run_peer(name, bars_csv)
            if peer is None:
                print(f"{name}: not run (set up the peer environment: see bench/peers/README.md)")
                continue
            ratio = ours["bars_per_second"] / peer["bars_per_second"]
            print(
                f"{name} {peer.get('version', '?')}: {peer['bars']:,} bars in "
                f"{peer['seconds']:.3f}s = {peer['bars_per_second']:,.0f} bars/s, "
                f"peak RSS {peer['peak_rss_mib']:.0f} MiB; "
                f"IntradayJules / {name} speed ratio {ratio:.2f}"
            )


if __name__ == "__main__":
    main()
