"""A TA-Lib streaming handle that opens itself on the first bars of a series.

``talib.stream.<FUNCTION>`` (TA-Lib 0.8) is a stateful handle: opened on a history, it is then
carried forward one bar at a time, O(1) per bar, and every value it produces is bit-identical
to the Function API (``talib.<FUNCTION>``) on the same series — the recursive indicators
(EMA, RSI, ATR, MACD, ADX ...) included, because the handle keeps TA-Lib's own recursive
state instead of recomputing from a window.

``TalibStream`` collects the first ``lookback + 1`` bars of the series in a fixed-size numpy
float64 buffer, opens the handle on them (its value then is the batch value at that bar, the
first one TA-Lib defines) and frees the buffer. From then on each bar is one ``update``.
Because the handle is opened on the series from its first bar, its values equal the batch
function's on the whole series, warm-up included. Should a handle ever need more history than
``lookback + 1`` to open (``talib.InsufficientHistory``), the buffer grows and the opening is
retried on the next bar; values stay undefined until it opens.
"""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["Output", "TalibStream"]

_WRAPPED_LIBRARIES = ("pandas", "polars")
"""Libraries whose series TA-Lib wraps its functions for, when they are installed."""


def _import_talib() -> ModuleType:
    """Import TA-Lib without its pandas and polars wrappers.

    The engine passes numpy arrays only; left alone, ``import talib`` imports pandas (a third
    of a second, and tens of MiB in every process that computes features) to offer its
    wrappers. Unless one of those libraries is already imported, it is hidden from TA-Lib's
    import (TA-Lib skips the wrappers of a library it cannot import) and then forgotten, so a
    later import of it works as usual.
    """
    hidden = [name for name in _WRAPPED_LIBRARIES if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # "not installed" to importers
    try:
        return importlib.import_module("talib")
    finally:
        for name in hidden:
            del sys.modules[name]


talib = _import_talib()
abstract = importlib.import_module("talib.abstract")
stream = importlib.import_module("talib.stream")

# Not in TA-Lib's type stubs, though public: the function metadata (lookback, outputs) and the
# error a handle raises when its history is too short to open.
_function_info: Any = getattr(abstract, "Function")  # noqa: B009
_InsufficientHistory: type[Exception] = getattr(talib, "InsufficientHistory")  # noqa: B009

Output = tuple[float | None, ...]
"""Values of an indicator's outputs at one bar; ``None`` while undefined."""


def _defined(value: float) -> float | None:
    # TA-Lib reports an undefined value as NaN; contracts carry None instead.
    return value if math.isfinite(value) else None


class TalibStream:
    """One ``talib.stream`` handle over a series, undefined until TA-Lib defines it.

    Args:
        function: TA-Lib function name (``"RSI"``, ``"BBANDS"``).
        params: Its optional inputs (``{"timeperiod": 14}``), as ``talib.<FUNCTION>`` takes
            them (floats for real-valued parameters).
        n_inputs: How many input series the function takes (1 for close, 3 for HLC ...).

    Attributes:
        lookback: Bars before the first defined value (TA-Lib's lookback).
        n_outputs: How many values each update returns.
    """

    def __init__(self, function: str, params: Mapping[str, int | float], n_inputs: int) -> None:
        self._params = dict(params)
        self._factory = getattr(stream, function)
        info = _function_info(function)
        info.set_parameters(**self._params)
        self.lookback: int = int(info.lookback)
        self.n_outputs: int = len(info.output_names)
        self._undefined: Output = (None,) * self.n_outputs
        self._history: np.ndarray | None = np.empty((n_inputs, self.lookback + 1), np.float64)
        self._count = 0
        self._handle: Any = None

    def update(self, *values: float) -> Output:
        """Feed one bar's inputs and return the outputs at that bar."""
        if self._handle is not None:
            return self._outputs(self._handle.update(*values))
        return self._warm_up(values)

    def _warm_up(self, values: tuple[float, ...]) -> Output:
        history = self._history
        assert history is not None  # freed only once the handle is open
        if self._count == history.shape[1]:
            history = np.concatenate([history, np.empty_like(history)], axis=1)
            self._history = history
        history[:, self._count] = values
        self._count += 1
        if self._count <= self.lookback:
            return self._undefined
        try:
            self._handle = self._factory(*history[:, : self._count], **self._params)
        except _InsufficientHistory:
            return self._undefined
        self._history = None
        return self._outputs(self._handle.value)

    def _outputs(self, raw: float | tuple[float, ...]) -> Output:
        if isinstance(raw, tuple):
            return tuple(map(_defined, raw))
        return (raw if math.isfinite(raw) else None,)
