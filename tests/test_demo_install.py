"""``make demo`` installs what the demo runs: the jules package and its engines from the lock,
without the trainer (torch), its RL stack or the dev tools, which ``make setup`` adds."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def uv() -> str:
    private = REPO_ROOT / ".local" / "tools" / "bin" / "uv"
    found = str(private) if private.is_file() else shutil.which("uv")
    assert found is not None, "uv is installed by make (make setup)"
    return found


def demo_sync_command() -> list[str]:
    """The ``uv sync`` line of the Makefile's demo stamp."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    found = re.search(r"^\t\$\(UV\) sync (.*--package jules.*)$", makefile, re.MULTILINE)
    assert found is not None, "the Makefile syncs the jules package for the demo"
    return found[1].split()


def test_the_demo_installs_the_engines_without_torch_or_the_dev_tools() -> None:
    options = [o for o in demo_sync_command() if o != "--inexact"]  # export takes the rest
    exported = subprocess.run(
        [uv(), "export", *options, "--format", "requirements-txt", "--no-hashes"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = {
        re.split(r"[=<>~ ;\[]", line.strip(), maxsplit=1)[0].lower()
        for line in exported.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "-"))
    }

    assert {"onnxruntime", "ta-lib", "typer", "pydantic"} <= names
    assert not names & {"torch", "gymnasium", "stable-baselines3", "tensorboard", "pytest", "ruff"}
