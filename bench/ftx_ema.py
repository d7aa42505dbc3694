"""Benchmark: the FTX BTC-PERP EMA 9/21 backtest, whole process, side by side with the peers.

The job users run most: one instrument, 45,031 one-minute bars
(``nautilus_trader/tests/test_data/btc-perp-20211231-20220201_1m.csv`` in the shared data),
an EMA 9/21 cross, long/short, reversing, all equity, next-bar-open fills. Each engine runs
as its own process, timed from outside (imports, loading, the run, outputs), ``--repeat``
times; the median is printed with the trade count (every engine makes the same trades):

* ``jules backtest`` (embedded; the full run folder with the audit log and the report);
* backtesting.py (``bench/peers/backtesting_ema.py``, in the project environment);
* NautilusTrader and backtrader (``bench/peers``), when their environment exists
  (``make bench-peers``).

Each command runs once untimed first (``processes.median_seconds``). ``--checkout DIR`` times
``jules`` on another checkout's sources (before/after a change, same machine). Usage::

    .venv/bin/python bench/ftx_ema.py [--repeat 3] [--checkout ../before]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from machine import describe  # bench/machine.py (scripts run from bench/)
from processes import JULES, ROOT, median_seconds
from universe import universe_config  # bench/universe.py

DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", ROOT.parent / "shared" / "data"))
BARS = DATA_DIR / "nautilus_trader/tests/test_data/btc-perp-20211231-20220201_1m.csv"
PEER_PYTHON = ROOT / ".local" / "bench-peers" / "bin" / "python"
PEERS = {"nautilus_trader": "nautilus_ema.py", "backtrader": "backtrader_ema.py"}
CONFIG = """\
name: ftx-ema
data_dir: {data_dir}
data:
  - {{path: {path}, instrument_id: BTC-PERP.FTX, assume_utc: true}}
strategy: {{kind: ema_cross, fast: 9, slow: 21, mode: long_short}}
risk:
  sizing: {{kind: all_equity}}
execution:
  fill_model: {{kind: next_bar_open}}
account: {{starting_cash: 100000}}
"""


def run_ours(work: Path, repeat: int, checkout: Path | None) -> dict[str, float]:
    """``jules backtest`` on the FTX run: median whole-process seconds, and its trades."""
    config = work / "ftx-ema.yaml"
    config.write_text(CONFIG.format(data_dir=DATA_DIR, path=BARS.relative_to(DATA_DIR)))
    out = work / "ours"
    command = [*JULES, "backtest", "-c", str(config), "--output-dir", str(out), "--no-progress"]
    seconds, _ = median_seconds(command, repeat, checkout=checkout)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # ours ran first
    with (out / "trades.csv").open() as handle:
        trades = sum(1 for _ in handle) - 1
    run = json.loads((out / "run.json").read_text())
    return {
        "seconds": seconds,
        "trades": trades,
        "run_bars_per_s": run["bars"] / run["wall_seconds"],
        "peak_mib": peak_mib,
    }


def run_universe(work: Path, instruments: int, checkout: Path | None) -> float:
    """``jules backtest`` of the windowed universe (``bench/universe.py``), whole process, once
    after an untimed run."""
    config = universe_config(instruments, work, DATA_DIR)
    out = work / "universe"
    command = [*JULES, "backtest", "-c", str(config), "--output-dir", str(out), "--no-progress"]
    seconds, _ = median_seconds(command, 1, checkout=checkout)
    return seconds


def run_demo(work: Path, checkout: Path | None) -> float:
    """``jules backtest`` of the demo (examples/demo.yaml), whole process, median of three."""
    out = work / "demo"
    config = ROOT / "examples" / "demo.yaml"
    command = [*JULES, "backtest", "-c", str(config), "--output-dir", str(out), "--no-progress"]
    seconds, _ = median_seconds(command, 3, checkout=checkout)
    return seconds


def run_backtesting_py(repeat: int) -> dict[str, float]:
    """backtesting.py on the same bars: median whole-process seconds, and its trades."""
    script = ROOT / "bench" / "peers" / "backtesting_ema.py"
    seconds, stdout = median_seconds([sys.executable, str(script), str(BARS)], repeat)
    return {"seconds": seconds, "trades": json.loads(stdout.strip().splitlines()[-1])["trades"]}


def export_for_peers(path: Path) -> None:
    """The bars in the peers' CSV format (``instrument_id,start_ns,open,high,low,close,volume``)."""
    with BARS.open() as source, path.open("w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["instrument_id", "start_ns", "open", "high", "low", "close", "volume"])
        for row in csv.DictReader(source):
            close_time = datetime.fromisoformat(row["timestamp"]).replace(tzinfo=UTC)
            start_ns = int(close_time.timestamp()) * 1_000_000_000 - 60_000_000_000
            writer.writerow(
                [
                    "BTC-PERP.FTX",
                    start_ns,
                    row["open"],
                    row["high"],
                    row["low"],
                    row["close"],
                    row["volume"],
                ]
            )


def run_peer(name: str, bars_csv: Path, repeat: int) -> dict[str, float] | None:
    """A peer in its own environment, ``repeat`` times; ``None`` when it is not set up."""
    if not PEER_PYTHON.exists():
        return None
    script = ROOT / "bench" / "peers" / PEERS[name]
    command = [str(PEER_PYTHON), str(script), str(bars_csv), "--fast", "9", "--slow", "21"]
    seconds, stdout = median_seconds(command, repeat)
    return {"seconds": seconds, "trades": json.loads(stdout.strip().splitlines()[-1])["trades"]}


def main() -> None:
    """Run every engine and print the figures next to the goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--checkout", type=Path, help="time jules on this checkout's sources")
    parser.add_argument(
        "--universe", type=int, default=100, help="also time the windowed universe (0: not)"
    )
    args = parser.parse_args()
    print(f"machine: {describe()}")
    print(
        f"data: {BARS.name} (45,031 one-minute bars), EMA 9/21 long/short, median of {args.repeat}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ours = run_ours(work, args.repeat, args.checkout)
        print(
            f"IntradayJules (jules backtest, whole process): {ours['seconds']:.2f} s, "
            f"{ours['trades']:,} trades; the run alone (run.json: loading to run folder, "
            f"without start-up and imports) {ours['run_bars_per_s']:,.0f} bars/s (goal >= "
            f"100,000); peak RSS {ours['peak_mib']:,.0f} MiB (goal <= 300)"
        )
        peer = run_backtesting_py(args.repeat)
        print(
            f"backtesting.py (whole process): {peer['seconds']:.2f} s, {peer['trades']:,} trades;"
            f" IntradayJules / backtesting.py time ratio {ours['seconds'] / peer['seconds']:.2f} "
            "(goal <= 1.0)"
        )
        bars_csv = work / "peer-bars.csv"
        export_for_peers(bars_csv)
        for name in PEERS:
            result = run_peer(name, bars_csv, args.repeat)
            if result is None:
                print(f"{name}: not run (set up the peer environment: make bench-peers)")
                continue
            print(
                f"{name} (whole process): {result['seconds']:.2f} s, {result['trades']:,} trades; "
                f"IntradayJules / {name} time ratio {ours['seconds'] / result['seconds']:.2f} "
                "(goal <= 0.33)"
            )
        print(f"demo (examples/demo.yaml, whole process): {run_demo(work, args.checkout):.2f} s")
        if args.universe:
            seconds = run_universe(work, args.universe, args.checkout)
            print(
                f"universe: the FTX file under {args.universe} ids, a 10-hour window "
                f"({args.universe * 600:,} bars), whole process: {seconds:.2f} s"
            )


if __name__ == "__main__":
    main()
