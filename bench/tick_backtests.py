"""Benchmark: quote-, trade- and book-driven backtests beside the bar-driven one (events/s).

Runs each example config of ``examples/ticks`` as an embedded backtest in this process
(``run_backtest``: loading, validation, the run and the run folder), and the FTX BTC-PERP EMA
9/21 bar run of ``bench/ftx_ema.py`` (45,031 one-minute bars) for reference, each ``--repeat``
times, with the audit log on (``all``, the default of a run) and off. Printed per run: the
market events it took (bars and ticks), the median seconds of the run and the events per
second. Usage::

    .venv/bin/python bench/tick_backtests.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from ftx_ema import BARS, CONFIG, DATA_DIR  # bench/ftx_ema.py
from jules_backtest.config import BacktestConfig, load_config
from jules_backtest.run import run_backtest
from machine import describe  # bench/machine.py (scripts run from bench/)
from processes import ROOT

TICK_CONFIGS = sorted((ROOT / "examples" / "ticks").glob("*.yaml"))


def configs(work: Path) -> dict[str, BacktestConfig]:
    """The runs by name: the bar-driven reference first, then the tick examples."""
    bar_config = work / "ftx-ema.yaml"
    bar_config.write_text(CONFIG.format(data_dir=DATA_DIR, path=BARS.relative_to(DATA_DIR)))
    runs = {"bars: FTX BTC-PERP EMA 9/21": load_config(bar_config)}
    for path in TICK_CONFIGS:
        runs[f"ticks: {path.stem}"] = load_config(path, data_dir=DATA_DIR)
    return runs


def measure(config: BacktestConfig, out: Path, repeat: int) -> tuple[int, int, float]:
    """(bars, ticks, median seconds) of ``repeat`` runs (after one untimed run)."""
    seconds = []
    for index in range(repeat + 1):
        start = time.perf_counter()
        summary = run_backtest(config.model_copy(update={"output_dir": out}), overwrite=True)
        if index:
            seconds.append(time.perf_counter() - start)
    run = json.loads((out / "run.json").read_text())
    assert run["bars"] == summary.bars
    return summary.bars, sum(summary.quality.ticks.values()), statistics.median(seconds)


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    print(f"embedded backtests, run_backtest in one process, median of {args.repeat}:")
    header = f"  {'run':<42} {'audit':>5} {'bars':>7} {'ticks':>8} {'seconds':>8} {'events/s':>9}"
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, config in configs(work).items():
            for level in ("all", "off"):
                audited = config.model_copy(
                    update={"audit": config.audit.model_copy(update={"level": level})}
                )
                bars, ticks, seconds = measure(audited, work / "run", args.repeat)
                rate = (bars + ticks) / seconds
                print(
                    f"  {name:<42} {level:>5} {bars:>7,} {ticks:>8,} {seconds:>8.2f} {rate:>9,.0f}"
                )


if __name__ == "__main__":
    main()
