"""Helpers for the environment tests: where the shared data is and small configurations."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from jules_trainer.config import TrainConfig

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
BTC_PERP = "nautilus_trader/tests/test_data/btc-perp-20211231-20220201_1m.csv"
INSTRUMENT = "BTC-PERP.FTX"
FEATURES = ("logret_1", "logret_5", "rsi_14", "natr_14", "rvol_30", "tod_sin")


def btc_perp_source(path: str = BTC_PERP) -> dict[str, Any]:
    """The data source entry of the FTX BTC-PERP minute bars (naive UTC timestamps)."""
    return {"path": path, "instrument_id": INSTRUMENT, "interval": "1m", "assume_utc": True}


def btc_perp_head(folder: Path, rows: int, name: str = "btc-perp-head.csv") -> Path:
    """Copy the header and the first ``rows`` rows of the BTC-PERP file into ``folder``."""
    with (DATA_DIR / BTC_PERP).open(newline="") as handle:
        lines = list(csv.reader(handle))[: rows + 1]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("w", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(lines)
    return path


def train_config(data_dir: Path, path: str = BTC_PERP, **extra: Any) -> TrainConfig:
    """A small training configuration on BTC-PERP bars: half the equity, 5 bps fees."""
    data: dict[str, Any] = {
        "name": "test-model",
        "data_dir": str(data_dir),
        "data": [btc_perp_source(path)],
        "features": list(FEATURES),
        "risk": {"sizing": {"kind": "fixed_fraction", "fraction": 0.5}},
        "execution": {"fill_model": {"kind": "next_bar_open"}, "fees": {"taker_bps": 5}},
        "account": {"starting_cash": 100_000},
    }
    data.update(extra)
    return TrainConfig.model_validate(data)
