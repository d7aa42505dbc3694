"""Small runnable backtest configurations over the sample data, for tests, demos and docs.

The sample data is the shared data folder (``JULES_DATA_DIR``); the configurations name its
files relative to that folder, so callers pass where it is.

Example:
    >>> from pathlib import Path
    >>> from jules_backtest.config import BacktestConfig
    >>> raw = small_config(Path("data"), Path("runs/test"), seed=7)
    >>> BacktestConfig.model_validate(raw).seed
    7
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["COINBASE", "coinbase_source", "small_config"]

COINBASE = "QuantConnect_Lean/Data/crypto/coinbase/minute"
"""The Coinbase minute trade-bar files of the sample data, relative to the data folder."""


def coinbase_source(symbol: str, day: str) -> dict[str, str]:
    """A data source entry for a Coinbase minute trade-bar file.

    Args:
        symbol: The pair, e.g. ``"btcusd"`` (any case).
        day: The day as ``YYYYMMDD``.

    Returns:
        The ``data`` entry: the file's path and the instrument id ``<SYMBOL>.COINBASE``.
    """
    return {
        "path": f"{COINBASE}/{symbol.lower()}/{day}_trade.zip",
        "instrument_id": f"{symbol.upper()}.COINBASE",
    }


def small_config(data_dir: Path, output_dir: Path, **extra: Any) -> dict[str, Any]:
    """Two instruments, one day, SMA 10/30 long/short, a few limits, 200 bootstrap samples.

    Args:
        data_dir: The sample data folder.
        output_dir: The run folder.
        **extra: Top-level keys that replace the defaults.

    Returns:
        The raw configuration, for ``BacktestConfig.model_validate`` or a YAML file.
    """
    config: dict[str, Any] = {
        "name": "test",
        "data_dir": str(data_dir),
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
