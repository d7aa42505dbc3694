"""The ONNX policy the backtest tests run: lean against RSI extremes, follow the last return."""

from __future__ import annotations

from pathlib import Path

from jules_signal.engine import ModelCard
from jules_trainer.linear_policy import write_linear_policy

FEATURES = ("rsi_14", "logret_1")


def write_policy(path: Path, *, schema_id: str | None = None) -> ModelCard:
    """Write the test policy to ``path``."""
    return write_linear_policy(
        path,
        features=FEATURES,
        weights=(-1.5, 0.8),
        normalisation={"rsi_14": (50.0, 10.0), "logret_1": (0.0, 0.001)},
        model_name="rsi-momentum",
        schema_id=schema_id,
    )
