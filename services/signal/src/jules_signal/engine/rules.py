"""Rule strategies: moving-average crossovers and RSI mean reversion, written with the SDK.

They are ``sdk.Strategy`` subclasses like a user's, run by ``PythonStrategy``, and worked
examples of one: a ``Params`` model, ``features`` depending on it, state set up in
``on_start``, and ``target``. A config selects one by kind (``kind: sma_cross``, with
``fast``, ``slow``, ``mode``, ``weight`` beside it) or by entry point (``kind: python,
entry_point: sma_cross, params: {...}``); ``SmaCross``, ``EmaCross`` and ``RsiReversion`` are
registered as ``sma_cross``, ``ema_cross`` and ``rsi_reversion``.

Crossovers follow backtesting.py's ``crossover(a, b)`` exactly: ``a`` crosses above ``b`` at a
bar when ``a < b`` strictly at the previous bar and ``a > b`` strictly at this one (a tie on
either bar is not a crossover, and an undefined value on either bar is none either). "Previous"
means the instrument's previous feature vector. A crossover up wants ``+weight``; one down
wants ``-weight`` in ``long_short`` mode, flat in ``long_only`` mode.

RSI reversion, with levels ``lower < exit_level < upper``, wants per bar, for the RSI ``r``:

1. ``r < lower`` (oversold): long;
2. ``r > upper`` (overbought): short in ``long_short`` mode, flat in ``long_only`` mode;
3. otherwise, holding a long and ``r >= exit_level`` (the RSI came back up through the exit
   level), or holding a short and ``r <= exit_level``: flat;
4. otherwise: no change.

An undefined RSI (warm-up) changes nothing. Like every strategy, a rule strategy emits a
signal only when its target for the instrument changes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Self

from jules_contracts import Bar
from jules_contracts.any_case import AnyCase
from pydantic import model_validator

from jules_signal.engine.sdk import Features, Field, Params, Strategy

__all__ = [
    "CrossoverParams",
    "EmaCross",
    "MovingAverageCrossover",
    "RsiReversion",
    "RsiReversionParams",
    "RuleParams",
    "SmaCross",
    "TradingMode",
    "crossed_above",
]

Weight = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
Period = Annotated[int, Field(ge=1, le=100_000)]
RsiLevel = Annotated[float, Field(gt=0, lt=100, allow_inf_nan=False)]


class TradingMode(StrEnum):
    """Which positions a rule strategy may ask for."""

    LONG_ONLY = "long_only"
    """Long or flat: a bearish event asks for flat."""
    LONG_SHORT = "long_short"
    """Long or short: a bearish event reverses to short."""


class RuleParams(Params):
    """Parameters every rule strategy has."""

    mode: Annotated[TradingMode, AnyCase()] = Field(
        default=TradingMode.LONG_ONLY, description="long_only (long or flat) or long_short."
    )
    weight: Weight = Field(
        default=1.0, description="Target weight of a long (+weight) or short (-weight) position."
    )

    @property
    def bearish_target(self) -> float:
        """The target of a bearish event: ``-weight`` in ``long_short`` mode, else flat."""
        return -self.weight if self.mode is TradingMode.LONG_SHORT else 0.0


class CrossoverParams(RuleParams):
    """Parameters of a moving-average crossover."""

    fast: Period = Field(description="Period of the fast moving average.")
    slow: Period = Field(description="Period of the slow moving average; above fast.")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> Self:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be below slow ({self.slow})")
        return self


class RsiReversionParams(RuleParams):
    """Parameters of RSI mean reversion; levels ``lower < exit_level < upper``."""

    period: Annotated[int, Field(ge=2, le=100_000)] = Field(default=14, description="RSI period.")
    lower: RsiLevel = Field(default=30.0, description="Oversold level: below it, go long.")
    upper: RsiLevel = Field(default=70.0, description="Overbought level: above it, short/flat.")
    exit_level: RsiLevel = Field(
        default=50.0, description="Level whose crossing back closes a position."
    )

    @model_validator(mode="after")
    def _levels_ordered(self) -> Self:
        if not self.lower < self.exit_level < self.upper:
            raise ValueError(
                f"RSI levels must satisfy lower < exit_level < upper, got lower={self.lower}, "
                f"exit_level={self.exit_level}, upper={self.upper}"
            )
        return self


def crossed_above(
    previous_a: float | None, previous_b: float | None, a: float | None, b: float | None
) -> bool:
    """Return whether ``a`` just crossed above ``b`` (backtesting.py's ``crossover`` rule).

    Args:
        previous_a: ``a`` at the previous bar.
        previous_b: ``b`` at the previous bar.
        a: ``a`` at this bar.
        b: ``b`` at this bar.

    Returns:
        ``previous_a < previous_b and a > b``; ``False`` when any value is undefined.
    """
    if previous_a is None or previous_b is None or a is None or b is None:
        return False
    return previous_a < previous_b and a > b


class MovingAverageCrossover(Strategy[CrossoverParams]):
    """Long when the fast average crosses above the slow one; short or flat on the reverse.

    Subclasses name the average (``indicator``: sma, ema); the features read are
    <indicator>_<fast> and <indicator>_<slow>.
    """

    indicator: ClassVar[str]
    """The features service's name of the moving average."""

    _names: tuple[str, str]
    _previous: dict[str, tuple[float | None, float | None]]

    def features(self) -> list[str]:
        """The fast and the slow average (``sma_10``, ``sma_30``)."""
        return [f"{self.indicator}_{self.params.fast}", f"{self.indicator}_{self.params.slow}"]

    def on_start(self) -> None:
        """Name the features once, and start with no previous averages."""
        fast, slow = self.features()
        self._names = (fast, slow)
        self._previous = {}

    def on_bar(self, bar: Bar, features: Features) -> None:
        """Want long on a crossover up, short or flat on one down (see the module)."""
        fast_name, slow_name = self._names
        fast, slow = features[fast_name], features[slow_name]
        instrument = bar.instrument_id
        last_fast, last_slow = self._previous.get(instrument, (None, None))
        self._previous[instrument] = (fast, slow)
        if crossed_above(last_fast, last_slow, fast, slow):
            self.target(instrument, self.params.weight)
        elif crossed_above(last_slow, last_fast, slow, fast):
            self.target(instrument, self.params.bearish_target)


class SmaCross(MovingAverageCrossover):
    """Long when the fast SMA crosses above the slow one; short or flat on the reverse.

    Reads the features sma_<fast> and sma_<slow>.
    """

    indicator = "sma"


class EmaCross(MovingAverageCrossover):
    """Long when the fast EMA crosses above the slow one; short or flat on the reverse.

    Reads the features ema_<fast> and ema_<slow>.
    """

    indicator = "ema"


class RsiReversion(Strategy[RsiReversionParams]):
    """Long when oversold, short (or flat) when overbought, flat back through the exit level.

    Reads the feature rsi_<period>.
    """

    _name: str

    def features(self) -> list[str]:
        """The RSI (``rsi_14``)."""
        return [f"rsi_{self.params.period}"]

    def on_start(self) -> None:
        """Name the feature once."""
        (self._name,) = self.features()

    def on_bar(self, bar: Bar, features: Features) -> None:
        """Want the target the RSI rule gives (see the module); nothing while warming up."""
        rsi = features[self._name]
        if rsi is None:
            return
        params = self.params
        instrument = bar.instrument_id
        if rsi < params.lower:
            self.target(instrument, params.weight)
        elif rsi > params.upper:
            self.target(instrument, params.bearish_target)
        else:
            held = self.position(instrument)
            if (held > 0 and rsi >= params.exit_level) or (held < 0 and rsi <= params.exit_level):
                self.target(instrument, 0.0)
