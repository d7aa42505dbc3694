"""Helpers for backtest tests: where the shared data is and small configurations."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
COINBASE = "QuantConnect_Lean/Data/crypto/coinbase/minute"


def coinbase_source(symbol: str, day: str) -> dict[str, str]:
    """A data source entry for a Coinbase minute trade-bar file."""
    return {
        "path": f"{COINBASE}/{symbol.lower()}/{day}_trade.zip",
        "instrument_id": f"{symbol.upper()}.COINBASE",
    }


def small_config(output_dir: Path, **extra: Any) -> dict[str, Any]:
    """Two instruments, one day, SMA 10/30 long/short, a few limits, 200 bootstrap samples."""
    config: dict[str, Any] = {
        "name": "test",
        "data_dir": str(DATA_DIR),
        "data": [coinbase_source("btcusd", "20180404"), coinbase_source("ethusd", "20180404")],
        "strategy": {"kind": "sma_cross", "fast": 10, "slow": 30, "mode": "long_short"},
        "risk": {
            "sizing": {"kind": "fixed_fraction", "fraction": 0.4},
            "limits": {"max_order_notional": 60_000},
        },
        "execution": {"fees": {"taker_bps": 5}},
        "monte_carlo": {"samples": 200, "block": 20},
        "output_dir": str(output_dir),
    }
    config.update(extra)
    return config
