"""Registry entries without training: a linear ONNX policy over real features and real data.

The experiment record is written by hand as the trainer writes it: the training configuration
under ``config`` (two Coinbase BTC-USD days from the shared data folder) and walk-forward
folds with ISO ``[start, end)`` windows.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jules_signal.engine import ModelCard
from jules_trainer.linear_policy import write_linear_policy
from jules_trainer.registry import ModelRegistry, RegisteredModel

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
COINBASE = "QuantConnect_Lean/Data/crypto/coinbase/minute"

FEATURES = ("rsi_14",)
NORMALISATION = {"rsi_14": (50.0, 10.0)}

# BTC-USD on 2018-04-04 has bars from 00:01 to 16:48 UTC, on 2018-04-05 the whole day.
FOLDS: list[dict[str, Any]] = [
    {
        "index": 0,
        "train": ["2018-04-04T00:00:00+00:00", "2018-04-04T08:00:00+00:00"],
        "validation": ["2018-04-04T08:00:00+00:00", "2018-04-04T12:00:00+00:00"],
        "test": ["2018-04-04T12:00:00+00:00", "2018-04-04T17:00:00+00:00"],
    },
    {
        "index": 1,
        "train": ["2018-04-05T00:00:00+00:00", "2018-04-05T12:00:00+00:00"],
        "validation": ["2018-04-05T12:00:00+00:00", "2018-04-05T18:00:00+00:00"],
        "test": ["2018-04-05T18:00:00+00:00", "2018-04-06T00:00:00+00:00"],
    },
]


def train_config(name: str = "lin") -> dict[str, Any]:
    """A training configuration (as stored in experiment.json) over two BTC-USD days."""
    return {
        "name": name,
        "data_dir": str(DATA_DIR),
        "data": [
            {"path": f"{COINBASE}/btcusd/20180404_trade.zip", "instrument_id": "BTCUSD.COINBASE"},
            {"path": f"{COINBASE}/btcusd/20180405_trade.zip", "instrument_id": "BTCUSD.COINBASE"},
        ],
        "features": list(FEATURES),
        "env": {"action": {"kind": "continuous"}},
        "risk": {"sizing": {"kind": "fixed_fraction", "fraction": 0.5}},
        "execution": {"fees": {"taker_bps": 5}},
    }


def linear_onnx(
    path: Path, *, name: str = "lin", version: str = "1", weight: float = 1.0
) -> ModelCard:
    """Write a linear policy (``tanh(weight * standardised RSI)``) to ``path``; its card."""
    return write_linear_policy(
        path,
        features=FEATURES,
        weights=(weight,),
        normalisation=NORMALISATION,
        model_name=name,
        model_version=version,
    )


def register_linear(
    registry: ModelRegistry,
    work: Path,
    *,
    name: str = "lin",
    weight: float = -2.0,
    folds: list[dict[str, Any]] | None = None,
) -> RegisteredModel:
    """Write a linear policy (``linear_onnx``) and register it.

    The version is ``registry.next_version(name)``; the files are written in ``work`` first.
    """
    version = registry.next_version(name)
    source = work / f"{name}-{version}.onnx"
    card = linear_onnx(source, name=name, version=version, weight=weight)
    experiment = {
        "algorithm": "linear",
        "seed": 0,
        "config": train_config(name),
        "folds": FOLDS if folds is None else folds,
    }
    return registry.register(
        card=card, onnx_path=source, torchscript_path=None, experiment=experiment
    )
