"""Streaming bar indicators: O(1) per bar, values equal to TA-Lib's batch functions.

How each feature is computed, and why:

* **TA-Lib's streaming handles** (``talib.stream``, see ``streams.TalibStream``) for every
  feature TA-Lib defines: ``sma`` (SMA), ``ema`` (EMA), ``wma`` (WMA), ``rsi`` (RSI),
  ``trange`` (TRANGE), ``atr`` (ATR), ``natr`` (NATR), ``bb_upper``/``bb_middle``/``bb_lower``
  (BBANDS, matype SMA, ``nbdevup = nbdevdn = nbdev``), ``stddev`` (STDDEV, nbdev 1),
  ``macd``/``macd_signal``/``macd_hist`` (MACD), ``stoch_k``/``stoch_d`` (STOCH with SMA
  smoothing), ``willr`` (WILLR), ``cci`` (CCI), ``adx`` (ADX), ``plus_di`` (PLUS_DI),
  ``minus_di`` (MINUS_DI), ``obv`` (OBV), ``mfi`` (MFI), ``roc`` (ROC).
  In TA-Lib 0.8 a handle keeps the indicator's own state, recursive state included, so the
  same code path serves windowed indicators (SMA, WMA, BBANDS, STDDEV, STOCH, WILLR, CCI, MFI,
  ROC) and recursive ones with unstable periods (EMA, RSI, ATR, NATR, MACD, ADX, +DI, -DI,
  OBV): each update is O(1) and bit-identical to the batch function on the same series, with
  the same first defined bar (TA-Lib's lookback). A stateless window recomputation could not
  match the recursive ones (the batch value depends on the whole history); TA-Lib's own
  recursive state does, so no indicator re-implements TA-Lib arithmetic here.
  ``stoch_k_<fastk>_<slowk>`` is STOCH's slow %K with ``slowd_period = 1`` (so it is defined
  as soon as %K is, ``fastk + slowk - 2`` bars in); ``stoch_d_<fastk>_<slowk>_<slowd>`` is
  STOCH's slow %D. Features sharing one TA-Lib call (the three Bollinger bands of one
  period and width, the three MACD lines) share one handle.
* **Composed from TA-Lib handles**: ``logret_<n>`` = ``ln`` of ROCR(n) (``close / close n
  bars ago``); ``rvol_<n>`` = STDDEV(n, nbdev 1) — a population standard deviation — of the
  1-bar log returns, defined once ``n`` returns exist (bar ``n``).
* **Own O(1) state** where TA-Lib has no such indicator: ``vwap`` and the time-of-day
  features (``session.py``).

Bars are taken as a sequence, as TA-Lib takes arrays: a missing bar (a minute without trades)
is not filled in.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Hashable
from typing import Protocol, cast

from jules_contracts import Bar

from jules_features.engine.config import FeatureEngineConfig
from jules_features.engine.schema import FeatureSource, FeatureSpec, Number
from jules_features.engine.session import SessionVwap, TimeOfDay
from jules_features.engine.streams import Output, TalibStream

__all__ = ["BarFeatures", "BarIndicator", "LogReturn", "RealisedVolatility", "TalibIndicator"]


class BarIndicator(Protocol):
    """An indicator updated once per bar.

    Attributes:
        lookback: Bars before its first defined value (its first value is at bar
            ``lookback``, counting from 0), given enough volume where it needs volume.
    """

    lookback: int

    def update(self, bar: Bar) -> Output:
        """Take the next bar of the instrument and return the outputs at that bar."""
        ...


class TalibIndicator:
    """A TA-Lib function over bar fields, through its streaming handle.

    Args:
        function: TA-Lib function name.
        inputs: The bar fields it takes, in TA-Lib's order (``("high", "low", "close")``).
        params: Its optional inputs.
    """

    def __init__(
        self, function: str, inputs: tuple[str, ...], params: dict[str, int | float]
    ) -> None:
        self._stream = TalibStream(function, params, len(inputs))
        self._fields = operator.attrgetter(*inputs)
        self._single = len(inputs) == 1
        self.lookback = self._stream.lookback

    def update(self, bar: Bar) -> Output:
        """Take the next bar and return the function's outputs at that bar."""
        values = self._fields(bar)
        if self._single:
            return self._stream.update(cast(float, values))
        return self._stream.update(*values)


class LogReturn:
    """``ln(close / close n bars ago)``, from TA-Lib's ROCR handle."""

    def __init__(self, period: int) -> None:
        self._ratio = TalibStream("ROCR", {"timeperiod": period}, 1)
        self.lookback = self._ratio.lookback

    def update(self, bar: Bar) -> Output:
        """Take the next bar and return its log return (``None`` for the first ``n`` bars)."""
        (ratio,) = self._ratio.update(bar.close)
        return (math.log(ratio) if ratio is not None and ratio > 0 else None,)


class RealisedVolatility:
    """Population standard deviation of the last ``n`` 1-bar log returns (STDDEV handle)."""

    def __init__(self, period: int) -> None:
        self._returns = LogReturn(1)
        self._stddev = TalibStream("STDDEV", {"timeperiod": period, "nbdev": 1.0}, 1)
        self.lookback = self._returns.lookback + self._stddev.lookback

    def update(self, bar: Bar) -> Output:
        """Take the next bar and return the volatility (``None`` until ``n`` returns exist)."""
        (ret,) = self._returns.update(bar)
        if ret is None:
            return (None,)
        return self._stddev.update(ret)


_CLOSE = ("close",)
_HLC = ("high", "low", "close")
_Params = Callable[[tuple[Number, ...]], dict[str, int | float]]


def _period(p: tuple[Number, ...]) -> dict[str, int | float]:
    return {"timeperiod": p[0]}


def _bbands(p: tuple[Number, ...]) -> dict[str, int | float]:
    return {"timeperiod": p[0], "nbdevup": p[1], "nbdevdn": p[1], "matype": 0}


def _macd(p: tuple[Number, ...]) -> dict[str, int | float]:
    return {"fastperiod": p[0], "slowperiod": p[1], "signalperiod": p[2]}


def _stoch(p: tuple[Number, ...]) -> dict[str, int | float]:
    slowd = p[2] if len(p) == 3 else 1
    return {
        "fastk_period": p[0],
        "slowk_period": p[1],
        "slowk_matype": 0,
        "slowd_period": slowd,
        "slowd_matype": 0,
    }


# indicator -> (TA-Lib function, bar fields, its parameters, which output)
_TALIB: dict[str, tuple[str, tuple[str, ...], _Params, int]] = {
    "sma": ("SMA", _CLOSE, _period, 0),
    "ema": ("EMA", _CLOSE, _period, 0),
    "wma": ("WMA", _CLOSE, _period, 0),
    "rsi": ("RSI", _CLOSE, _period, 0),
    "trange": ("TRANGE", _HLC, lambda p: {}, 0),
    "atr": ("ATR", _HLC, _period, 0),
    "natr": ("NATR", _HLC, _period, 0),
    "bb_upper": ("BBANDS", _CLOSE, _bbands, 0),
    "bb_middle": ("BBANDS", _CLOSE, _bbands, 1),
    "bb_lower": ("BBANDS", _CLOSE, _bbands, 2),
    "stddev": ("STDDEV", _CLOSE, lambda p: {"timeperiod": p[0], "nbdev": 1.0}, 0),
    "macd": ("MACD", _CLOSE, _macd, 0),
    "macd_signal": ("MACD", _CLOSE, _macd, 1),
    "macd_hist": ("MACD", _CLOSE, _macd, 2),
    "stoch_k": ("STOCH", _HLC, _stoch, 0),
    "stoch_d": ("STOCH", _HLC, _stoch, 1),
    "willr": ("WILLR", _HLC, _period, 0),
    "cci": ("CCI", _HLC, _period, 0),
    "adx": ("ADX", _HLC, _period, 0),
    "plus_di": ("PLUS_DI", _HLC, _period, 0),
    "minus_di": ("MINUS_DI", _HLC, _period, 0),
    "obv": ("OBV", ("close", "volume"), lambda p: {}, 0),
    "mfi": ("MFI", ("high", "low", "close", "volume"), _period, 0),
    "roc": ("ROC", _CLOSE, _period, 0),
}

_TIME_OF_DAY_OUTPUT = {"tod_sin": 0, "tod_cos": 1, "minute_of_day": 2}


def _indicator_for(
    spec: FeatureSpec, config: FeatureEngineConfig
) -> tuple[Hashable, Callable[[], BarIndicator], int]:
    """Return (sharing key, factory, output index) of the indicator behind a bar feature."""
    if spec.indicator in _TALIB:
        function, inputs, params_of, output = _TALIB[spec.indicator]
        params = params_of(spec.params)
        key = (function, tuple(sorted(params.items())))
        return key, lambda: TalibIndicator(function, inputs, params), output
    offset_ns = config.session_start_offset_minutes * 60 * 1_000_000_000
    if spec.indicator == "logret":
        period = int(spec.params[0])
        return ("logret", period), lambda: LogReturn(period), 0
    if spec.indicator == "rvol":
        period = int(spec.params[0])
        return ("rvol", period), lambda: RealisedVolatility(period), 0
    if spec.indicator == "vwap":
        return ("vwap",), lambda: SessionVwap(offset_ns), 0
    if spec.indicator in _TIME_OF_DAY_OUTPUT:
        return ("tod",), lambda: TimeOfDay(offset_ns), _TIME_OF_DAY_OUTPUT[spec.indicator]
    raise AssertionError(f"no bar indicator for {spec.name}")  # the catalogue and this agree


class BarFeatures:
    """The bar features of a schema for one instrument: its indicators and their state.

    Args:
        specs: The schema's features; those computed from bars are kept, in order.
        config: Engine configuration (session start).
    """

    def __init__(self, specs: tuple[FeatureSpec, ...], config: FeatureEngineConfig) -> None:
        self.names: tuple[str, ...] = tuple(
            spec.name for spec in specs if spec.source is FeatureSource.BAR
        )
        slots: dict[Hashable, int] = {}
        self._indicators: list[BarIndicator] = []
        self._slots: list[tuple[int, int]] = []
        for spec in specs:
            if spec.source is not FeatureSource.BAR:
                continue
            key, factory, output = _indicator_for(spec, config)
            if key not in slots:
                slots[key] = len(self._indicators)
                self._indicators.append(factory())
            self._slots.append((slots[key], output))
        self.lookback: int = max((ind.lookback for ind in self._indicators), default=0)

    def update(self, bar: Bar) -> list[float | None]:
        """Take the instrument's next bar; return the values of ``names`` at that bar."""
        outputs = [indicator.update(bar) for indicator in self._indicators]
        return [outputs[index][output] for index, output in self._slots]
