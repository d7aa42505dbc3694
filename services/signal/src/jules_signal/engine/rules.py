"""Rule strategies: moving-average crossovers and RSI mean reversion.

Crossovers follow backtesting.py's ``crossover(a, b)`` exactly: ``a`` crosses above ``b`` at a
bar when ``a < b`` strictly at the previous bar and ``a > b`` strictly at this one (a tie on
either bar is not a crossover, and an undefined value on either bar is none either). "Previous"
means the instrument's previous feature vector.

RSI reversion, with levels ``lower < exit_level < upper``, wants per bar, for the RSI ``r``:

1. ``r < lower`` (oversold): long;
2. ``r > upper`` (overbought): short in ``long_short`` mode, flat in ``long_only`` mode;
3. otherwise, holding a long and ``r >= exit_level`` (the RSI came back up through the exit
   level), or holding a short and ``r <= exit_level``: flat;
4. otherwise: no change.

An undefined RSI (warm-up) changes nothing. Like every strategy here, a rule strategy emits a
signal only when its target for the instrument changes.
"""

from __future__ import annotations

from jules_contracts import Bar, FeatureVector, SignalGenerated

from jules_signal.engine.config import (
    AnyStrategyConfig,
    EmaCrossConfig,
    PythonStrategyConfig,
    RsiReversionConfig,
    SmaCrossConfig,
    TradingMode,
)
from jules_signal.engine.python_strategy import load_strategy
from jules_signal.engine.strategy import (
    Strategy,
    StrategyIdentity,
    TargetMemory,
    check_same_instrument,
    make_signal,
    read_features,
)

__all__ = ["MovingAverageCross", "RsiReversion", "build_strategy", "crossed_above"]


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


class _RuleStrategy(StrategyIdentity):
    """Identity, mode and emitted targets shared by the rule strategies."""

    def __init__(
        self,
        config: SmaCrossConfig | EmaCrossConfig | RsiReversionConfig,
        features: tuple[str, ...],
    ) -> None:
        super().__init__(config.effective_strategy_id, features)
        self._weight = config.weight
        self._bearish_target = -config.weight if config.mode is TradingMode.LONG_SHORT else 0.0
        self._targets = TargetMemory()

    def _read(self, features: FeatureVector, bar: Bar) -> tuple[float | None, ...]:
        check_same_instrument(features, bar)
        return read_features(features, self._features, self._strategy_id)

    def _emit(
        self, features: FeatureVector, bar: Bar, target: float | None
    ) -> list[SignalGenerated]:
        if target is None or not self._targets.update(features.instrument_id, target):
            return []
        return [make_signal(features, bar, strategy_id=self._strategy_id, target_weight=target)]


class MovingAverageCross(_RuleStrategy):
    """Long when the fast average crosses above the slow one; short or flat on the reverse."""

    def __init__(self, config: SmaCrossConfig | EmaCrossConfig) -> None:
        super().__init__(config, (config.fast_feature, config.slow_feature))
        self._previous: dict[str, tuple[float | None, float | None]] = {}

    def on_features(self, features: FeatureVector, bar: Bar) -> list[SignalGenerated]:
        """Emit a signal when the averages cross and the target changes (see the module)."""
        fast, slow = self._read(features, bar)
        previous = self._previous.get(features.instrument_id, (None, None))
        self._previous[features.instrument_id] = (fast, slow)
        target: float | None = None
        if crossed_above(*previous, fast, slow):
            target = self._weight
        elif crossed_above(previous[1], previous[0], slow, fast):
            target = self._bearish_target
        return self._emit(features, bar, target)


class RsiReversion(_RuleStrategy):
    """Long when oversold, short (or flat) when overbought, flat back through the exit level."""

    def __init__(self, config: RsiReversionConfig) -> None:
        super().__init__(config, (config.rsi_feature,))
        self._lower = config.lower
        self._upper = config.upper
        self._exit = config.exit_level

    def on_features(self, features: FeatureVector, bar: Bar) -> list[SignalGenerated]:
        """Emit a signal when the RSI rule changes the target (see the module)."""
        (rsi,) = self._read(features, bar)
        if rsi is None:
            return []
        held = self._targets.last(features.instrument_id) or 0.0
        target: float | None = None
        if rsi < self._lower:
            target = self._weight
        elif rsi > self._upper:
            target = self._bearish_target
        elif (held > 0 and rsi >= self._exit) or (held < 0 and rsi <= self._exit):
            target = 0.0
        return self._emit(features, bar, target)


def build_strategy(config: AnyStrategyConfig) -> Strategy:
    """Build the strategy a config describes: a rule strategy or a user's Python strategy.

    Args:
        config: A ``StrategyConfig`` (any member of the union).

    Returns:
        A fresh strategy with empty per-instrument state.

    Raises:
        StrategyLoadError: A Python strategy cannot be loaded or its parameters are invalid.
    """
    if isinstance(config, PythonStrategyConfig):
        return load_strategy(config)
    if isinstance(config, RsiReversionConfig):
        return RsiReversion(config)
    return MovingAverageCross(config)
