"""Benchmark: how long the ``jules`` command takes to start, and the demo backtest end to end.

Prints, as a user runs them (whole process, median of ``--repeat`` after one untimed run):

* ``jules --help``: the command's start-up, what every invocation pays (goal: under 1 s);
* ``jules backtest -c examples/demo.yaml``: the demo, embedded (imports, loading, the run,
  the run folder and the report).

``--checkout DIR`` times another checkout's sources (``git worktree add ../before <commit>``),
so a change is measured before and after on the same machine. Usage::

    .venv/bin/python bench/cli_startup.py [--repeat 5] [--checkout ../before]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from machine import describe  # bench/machine.py (scripts run from bench/)
from processes import JULES, median_seconds


def main() -> None:
    """Time both commands and print the figures next to the goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--checkout", type=Path, help="time jules on this checkout's sources")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    source = f" ({args.checkout})" if args.checkout else ""
    help_seconds, _ = median_seconds([*JULES, "--help"], args.repeat, checkout=args.checkout)
    print(f"jules --help{source}: {help_seconds:.2f} s (median of {args.repeat}; goal < 1 s)")
    with tempfile.TemporaryDirectory() as tmp:
        demo = [
            *JULES,
            "backtest",
            "-c",
            "examples/demo.yaml",
            "--output-dir",
            str(Path(tmp) / "demo"),
            "--no-progress",
        ]
        seconds, _ = median_seconds(demo, args.repeat, checkout=args.checkout)
    print(
        f"jules backtest -c examples/demo.yaml{source}: {seconds:.2f} s (median of {args.repeat})"
    )


if __name__ == "__main__":
    main()
