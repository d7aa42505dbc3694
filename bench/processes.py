"""Timing whole processes, as a user runs them (imported by the whole-process benchmarks).

Each command runs once untimed first, so Python's byte-code caches exist (a first run also
compiles every module; an environment with ``PYTHONDONTWRITEBYTECODE`` set would recompile on
every run, so the children run without it), then ``repeat`` times; the median is reported.
With ``checkout``, the command runs on another checkout's sources (``git worktree add
../before <commit>``, then ``--checkout ../before``): the same benchmark then measures the code
before and after a change on the same machine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["JULES", "ROOT", "median_seconds", "run"]

ROOT = Path(__file__).resolve().parents[1]
JULES = [sys.executable, "-c", "from jules.cli import app; app()"]
"""The ``jules`` command (of the checkout whose sources ``run`` puts first on the path)."""


def _environment(checkout: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if checkout is not None:
        sources = sorted(str(p) for p in checkout.resolve().glob("*/*/src"))
        if not sources:
            sys.exit(f"{checkout} holds no */*/src folders: not a checkout of this project")
        env["PYTHONPATH"] = os.pathsep.join([*sources, env.get("PYTHONPATH", "")])
    return env


def run(command: list[str], *, checkout: Path | None = None) -> tuple[float, str]:
    """Run ``command`` to completion (from the repository root); its wall time and stdout."""
    started = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=_environment(checkout),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def median_seconds(
    command: list[str], repeat: int, *, checkout: Path | None = None
) -> tuple[float, str]:
    """One untimed run, then the median of ``repeat`` timed runs; and the last stdout."""
    run(command, checkout=checkout)
    times: list[float] = []
    stdout = ""
    for _ in range(repeat):
        seconds, stdout = run(command, checkout=checkout)
        times.append(seconds)
    return statistics.median(times), stdout
