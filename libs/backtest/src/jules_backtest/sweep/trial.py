"""A sweep's trial: the base backtest with a point's parameters, run embedded, its metrics.

The trial function is what the Dask workers run. Each worker process keeps the market events
of the last few data windows it loaded (``_market``), so the trials of a window read and
validate the files once per worker, not once per trial; events are immutable, so a cached
run equals a fresh one (a test checks it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jules_contracts import MarketEvent

from jules_backtest.config import BacktestConfig, apply_overrides
from jules_backtest.data import DataQuality, load_market
from jules_backtest.run import run_in_memory

__all__ = ["BacktestTrial", "point_config"]

_CACHED_WINDOWS = 4


def point_config(
    base: Mapping[str, Any],
    params: Mapping[str, Any],
    window: tuple[str | None, str | None] = (None, None),
    **fields: Any,
) -> BacktestConfig:
    """The base config with the point's parameters (dotted keys) and window applied.

    Raises:
        pydantic.ValidationError: The point makes an invalid config (the message names it).
    """
    data = apply_overrides(dict(base), [f"{k}={json.dumps(v)}" for k, v in params.items()])
    start, end = window
    if start is not None:
        data["start"] = start
    if end is not None:
        data["end"] = end
    data.update(fields)
    return BacktestConfig.model_validate(data)


@lru_cache(maxsize=_CACHED_WINDOWS)
def _market(key: str) -> tuple[MarketEvent, ...]:
    """The validated market events of a data window, by its JSON key (see ``_key``)."""
    config = BacktestConfig.model_validate(json.loads(key))
    return tuple(load_market(config, DataQuality()))


def _key(config: BacktestConfig) -> str:
    """What the market events of a config depend on, with the strategy a fixed placeholder."""
    dumped = config.model_dump(mode="json", include={"data_dir", "data", "start", "end"})
    dumped["strategy"] = {"kind": "sma_cross", "fast": 1, "slow": 2}
    return json.dumps(dumped, sort_keys=True)


@dataclass(frozen=True)
class BacktestTrial:
    """The trial function of ``jules sweep``: a point in, the backtest's metrics out."""

    base: dict[str, Any]
    """The base backtest config, as plain data."""
    window: tuple[str | None, str | None] = (None, None)
    """The trial's ``start`` and ``end`` (ISO-8601), or the base's."""

    def config(self, params: Mapping[str, Any]) -> BacktestConfig:
        """The backtest config of a point (no audit log: a trial writes nothing)."""
        return point_config(self.base, params, self.window, audit={"level": "off"})

    def __call__(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Run the point's backtest in memory and return its metrics."""
        config = self.config(params)
        metrics, recorder, _ = run_in_memory(config, market=_market(_key(config)))
        return {**metrics, "orders": recorder.submitted, "denied": recorder.denied}
