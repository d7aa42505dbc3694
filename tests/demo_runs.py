"""The demo run folders' checksums: what `make demo` writes must not change by accident.

``tests/data/demo_run_checksums.json`` holds the SHA-256 of every file of the run folders of
``examples/demo.yaml`` and ``examples/demo-onnx.yaml`` (``run.json`` aside: it says when the run
ran). A change that moves code changes none of them; a change that means to change a result
updates the file and says why in its commit.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CHECKSUMS = REPO_ROOT / "tests" / "data" / "demo_run_checksums.json"
CONFIGS = {"demo": "examples/demo.yaml", "demo-onnx": "examples/demo-onnx.yaml"}


def expected_checksums(run: str) -> dict[str, str]:
    """The recorded checksum of each file of ``run``'s folder, by relative path."""
    checksums: dict[str, dict[str, str]] = json.loads(CHECKSUMS.read_text())
    return checksums[run]


def run_folder_checksums(run_dir: Path) -> dict[str, str]:
    """SHA-256 of each file of a run folder, except ``run.json`` and the services' ``logs/``."""
    return {
        path.relative_to(run_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(run_dir.rglob("*"))
        if path.is_file()
        and path.name != "run.json"
        and "logs" not in path.relative_to(run_dir).parts
    }
