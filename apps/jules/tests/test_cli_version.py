"""Every command prints its distribution's version (``--version``) and offers shell completion
(``--install-completion``, ``--show-completion``)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("command", "distribution"),
    [("jules", "jules"), ("jules-risk", "jules-risk"), ("jules-train", "jules-trainer")],
)
def test_every_command_prints_its_version_and_offers_completion(
    command: str, distribution: str
) -> None:
    executable = Path(sys.executable).parent / command
    shown = subprocess.run([executable, "--version"], capture_output=True, text=True, check=True)
    helped = subprocess.run([executable, "--help"], capture_output=True, text=True, check=True)

    assert shown.stdout.strip() == f"{distribution} {version(distribution)}"
    assert "--install-completion" in helped.stdout
