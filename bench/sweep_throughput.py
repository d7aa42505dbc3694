"""Benchmark: sweep trials per minute, in one process and on local Dask clusters.

Runs the same grid (the demo backtest's SMA crossover: three Coinbase instruments, two days of
1-minute bars, 8,640 bars a trial) through ``jules_backtest.sweep.search.run_search``: in this
process (no Dask), then on a local Dask cluster of 1 and of 2 worker processes. Prints trials
per minute for each (the search alone; the cluster's start-up is printed apart), and checks
that every way gives the same figures. A second part runs the walk-forward example
(``examples/sweeps/ema_walk_forward.yaml``: a month of BTC-PERP minute bars, three folds,
24 Optuna trials each) through ``jules sweep`` and prints its trials per minute.

    .venv/bin/python bench/sweep_throughput.py [--trials 48] [--skip-walk-forward]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jules_backtest.sweep.config import load_sweep
from jules_backtest.sweep.search import local_client, run_search
from jules_backtest.sweep.space import Space
from jules_backtest.sweep.trial import BacktestTrial
from machine import describe

ROOT = Path(__file__).resolve().parents[1]


def grid_space(trials: int) -> Space:
    """A fast/slow grid of at least ``trials`` points (fast 2..., slow 30, 45, ...)."""
    slows = [30 + 15 * i for i in range(4)]
    fasts = list(range(2, 2 + -(-trials // len(slows))))
    return Space.parse({"strategy.fast": fasts, "strategy.slow": slows})


def timed(trial: BacktestTrial, space: Space, workers: int | None) -> tuple[float, float, list]:
    """(cluster start-up seconds, search seconds, figures) for one way of running."""
    clock = time.perf_counter()
    if workers is None:
        records = run_search(trial, space, objective="total_return")
        return 0.0, time.perf_counter() - clock, [r.objective for r in records]
    with local_client(workers=workers) as client:
        startup = time.perf_counter() - clock
        clock = time.perf_counter()
        records = run_search(trial, space, objective="total_return", client=client)
        return startup, time.perf_counter() - clock, [r.objective for r in records]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=48)
    parser.add_argument("--skip-walk-forward", action="store_true")
    args = parser.parse_args()
    sweep = load_sweep(ROOT / "examples" / "sweeps" / "sma_grid.yaml")
    trial = BacktestTrial(sweep.base)
    space = grid_space(args.trials)
    count = len(space.grid())
    print(f"machine: {describe()}")
    print(f"grid: {count} trials of the demo backtest (3 instruments x 2 days of 1-minute bars)")
    print(f"  {'where':<26} {'start-up s':>10} {'search s':>9} {'trials/minute':>14}")
    reference = None
    for label, workers in (
        ("this process (no Dask)", None),
        ("local Dask, 1 worker", 1),
        ("local Dask, 2 workers", 2),
    ):
        startup, seconds, figures = timed(trial, space, workers)
        if reference is None:
            reference = figures
        elif figures != reference:
            raise SystemExit(f"{label}: the figures differ from the in-process search")
        print(f"  {label:<26} {startup:>10.1f} {seconds:>9.1f} {count / seconds * 60:>14.1f}")
    print("  (the same figures every way)")
    if args.skip_walk_forward:
        return
    with tempfile.TemporaryDirectory() as folder:
        clock = time.perf_counter()
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "jules"),
                "sweep",
                "-c",
                str(ROOT / "examples" / "sweeps" / "ema_walk_forward.yaml"),
                "--output-dir",
                folder,
                "--workers",
                "2",
                "--json",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - clock
        summary = json.loads(done.stdout)
    print("walk-forward example (examples/sweeps/ema_walk_forward.yaml, jules sweep, 2 workers):")
    print(
        f"  {summary['trials']} trials in {summary['seconds']:.1f} s of sweep "
        f"({summary['trials_per_minute']:.1f} trials/minute, out-of-sample runs included); "
        f"{wall:.1f} s for the whole command"
    )


if __name__ == "__main__":
    main()
