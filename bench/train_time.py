"""Benchmark: wall time of a whole training run, from data to a registered model, on CPU.

Runs ``jules_trainer.train.train`` (what ``jules-train ALGORITHM --config FILE`` does: load
and hash the data, normalise, train with early stopping on the validation window, evaluate
the three windows, export and validate ONNX and TorchScript, register a candidate) into a
temporary registry and prints the seconds it took and the model's test-window metrics. The
default is the demo model's recipe (``make demo-model``). Usage::

    .venv/bin/python bench/train_time.py [--config examples/train.yaml] [--algorithm supervised]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
from jules_trainer.config import load_train_config
from jules_trainer.train import train
from machine import describe  # bench/machine.py (scripts run from bench/)

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "examples" / "train.yaml")
    parser.add_argument("--algorithm", choices=("supervised", "dqn", "ppo"), default="supervised")
    args = parser.parse_args()
    config_path = args.config.resolve()
    os.chdir(ROOT)  # the configuration's data_dir is relative to the repository root
    print(f"machine: {describe()}; torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as registry:
        config = load_train_config(config_path, [f"registry_dir={registry}"])
        start = time.perf_counter()
        result = train(args.algorithm, config, progress=False)
        seconds = time.perf_counter() - start
    print(
        f"{args.algorithm} on {config_path.name}: {seconds:.1f} s from data to a registered "
        f"model ({result.model_name} {result.model_version}); its test-window metrics:"
    )
    for key, value in sorted(result.metrics.items()):
        print(f"  {key}: {value:.6g}")


if __name__ == "__main__":
    main()
