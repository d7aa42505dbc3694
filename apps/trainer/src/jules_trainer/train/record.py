"""The experiment record (``experiment.json``) of a training run.

Keys:

* ``algorithm``, ``model_name``, ``model_version``, ``seed``, ``created_at`` (ISO UTC);
* ``config``: the full resolved ``TrainConfig`` as JSON (the gate backtests from it);
* ``parameters``: the algorithm's own section of the configuration;
* ``data_hash`` (SHA-256 of the data files), ``code_version`` (git sha of ``HEAD`` in a git
  checkout, else the package version), ``libraries`` (versions of Python, torch,
  stable-baselines3, gymnasium, numpy, onnx, onnxruntime);
* ``folds``: per fold ``index``, ``train``/``validation``/``test`` windows as ISO
  ``[start, end)`` pairs, ``metrics`` per window and ``training`` (steps or epochs, early
  stopping, every validation evaluation);
* ``metrics``: the model card's metrics; ``export``: the parity measured at export;
  ``tensorboard``: the logs' folder relative to the version folder (or ``null``).
"""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from jules_trainer.config import TrainConfig
from jules_trainer.data import Fold
from jules_trainer.train.common import FoldOutcome

__all__ = ["build_record", "code_version", "library_versions"]

_LIBRARIES = ("torch", "stable-baselines3", "gymnasium", "numpy", "onnx", "onnxruntime")


def code_version() -> str:
    """The git sha of ``HEAD`` when this package runs from a git checkout, else its version."""
    here = Path(__file__).resolve().parent
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 (git from PATH, fixed arguments)
            cwd=here,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        sha = result.stdout.strip()
        if len(sha) == 40 and all(c in "0123456789abcdef" for c in sha):
            return sha
    except (OSError, subprocess.SubprocessError):
        pass
    return metadata.version("jules-trainer")


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries training depends on."""
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def build_record(
    *,
    algorithm: str,
    config: TrainConfig,
    model_version: str,
    data_hash: str,
    code: str,
    folds: list[Fold],
    outcomes: list[FoldOutcome],
    metrics: dict[str, float],
    created_at: str,
    export: dict[str, float],
    tensorboard: str | None,
) -> dict[str, Any]:
    """Assemble the experiment record (see the module docstring)."""
    return {
        "algorithm": algorithm,
        "model_name": config.name,
        "model_version": model_version,
        "seed": config.seed,
        "created_at": created_at,
        "config": config.model_dump(mode="json"),
        "parameters": getattr(config, algorithm).model_dump(mode="json"),
        "data_hash": data_hash,
        "code_version": code,
        "libraries": library_versions(),
        "folds": [
            {
                "index": fold.index,
                "train": list(fold.train.iso()),
                "validation": list(fold.validation.iso()),
                "test": list(fold.test.iso()),
                "metrics": outcome.metrics,
                "training": outcome.training,
            }
            for fold, outcome in zip(folds, outcomes, strict=True)
        ],
        "metrics": metrics,
        "export": export,
        "tensorboard": tensorboard,
    }
