"""Benchmark: what ``make demo`` installs, beside what ``make setup`` installs.

Creates two fresh virtual environments in a temporary folder with the Makefile's own sync
commands (the demo's ``uv sync --package jules --no-dev``; setup's ``uv sync --all-packages``,
which adds the trainer with torch and the dev tools), and prints the size on disk and the
package count of each, with the seconds each sync took (a warm uv cache makes them fast; a
cold one downloads). Nothing in the repository's own ``.venv`` is touched.

    .venv/bin/python bench/demo_install_size.py [--setup-too]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from machine import describe

ROOT = Path(__file__).resolve().parents[1]
MAKEFILE = (ROOT / "Makefile").read_text()


def uv() -> str:
    private = ROOT / ".local" / "tools" / "bin" / "uv"
    found = str(private) if private.is_file() else shutil.which("uv")
    if found is None:
        raise SystemExit("uv not found: run make setup once (it installs uv into .local/tools)")
    return found


def demo_options() -> list[str]:
    """The options of the Makefile's demo sync (``--inexact`` aside: the folder is new)."""
    found = re.search(r"^\t\$\(UV\) sync --locked (.*--package jules.*)$", MAKEFILE, re.M)
    if found is None:
        raise SystemExit("the Makefile has no demo sync line (uv sync ... --package jules)")
    return [option for option in found[1].split() if option != "--inexact"]


def size_mib(folder: Path) -> float:
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return total / 2**20


def install(name: str, options: list[str], work: Path) -> tuple[float, int, float]:
    """Sync into ``work/name`` with ``options``: (MiB, packages, seconds)."""
    venv = work / name
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    started = time.perf_counter()
    subprocess.run(
        [uv(), "sync", "--locked", *options], cwd=ROOT, env=env, check=True, capture_output=True
    )
    seconds = time.perf_counter() - started
    packages = len(list((venv / "lib").glob("python*/site-packages/*.dist-info")))
    return size_mib(venv), packages, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup-too", action="store_true", help="Also size make setup's (~7 GB).")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    runs = {"make demo": demo_options()}
    if args.setup_too:
        runs["make setup"] = ["--all-packages"]
    with tempfile.TemporaryDirectory(prefix="jules-install-") as folder:
        print(f"  {'install':<12} {'MiB':>8} {'packages':>9} {'seconds':>8}")
        for name, options in runs.items():
            mib, packages, seconds = install(name.replace(" ", "-"), options, Path(folder))
            print(f"  {name:<12} {mib:>8,.0f} {packages:>9} {seconds:>8.1f}")


if __name__ == "__main__":
    main()
