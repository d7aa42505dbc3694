"""rsi_reversion: long when oversold, short or flat when overbought, flat back at the exit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jules_contracts import SignalDirection
from jules_signal.engine import (
    MissingFeaturesError,
    RsiReversionConfig,
    StrategyQuarantinedError,
    TradingMode,
    build_strategy,
)

from .builders import run

LONG, SHORT, FLAT = SignalDirection.LONG, SignalDirection.SHORT, SignalDirection.FLAT


def rsi_strategy(mode: TradingMode = TradingMode.LONG_SHORT, **fields):
    return build_strategy(RsiReversionConfig(mode=mode, **fields))


def feed(strategy, rsi_values, name: str = "rsi_14"):
    signals = run(strategy, [{name: value} for value in rsi_values])
    return [(index, s.direction, s.target_weight) for index, s in signals]


def test_oversold_rsi_goes_long_once_and_exits_flat_back_at_the_exit_level():
    strategy = rsi_strategy()

    signals = feed(strategy, [45, 29, 25, 35, 49.9, 50, 55])

    assert signals == [(1, LONG, 1.0), (5, FLAT, 0.0)]


def test_overbought_rsi_goes_short_in_long_short_and_exits_at_the_exit_level():
    strategy = rsi_strategy(TradingMode.LONG_SHORT)

    signals = feed(strategy, [55, 71, 80, 60, 50.1, 50, 45])

    assert signals == [(1, SHORT, -1.0), (5, FLAT, 0.0)]


def test_overbought_rsi_closes_a_long_in_long_only_and_never_goes_short():
    strategy = rsi_strategy(TradingMode.LONG_ONLY)

    signals = feed(strategy, [25, 45, 75, 80, 60, 25])

    assert signals == [(0, LONG, 1.0), (2, FLAT, 0.0), (5, LONG, 1.0)]


def test_long_reverses_to_short_when_the_rsi_jumps_from_oversold_to_overbought():
    strategy = rsi_strategy(TradingMode.LONG_SHORT, weight=0.5)

    signals = feed(strategy, [20, 75, 20])

    assert signals == [(0, LONG, 0.5), (1, SHORT, -0.5), (2, LONG, 0.5)]


def test_levels_are_strict_and_the_exit_is_inclusive():
    strategy = rsi_strategy(TradingMode.LONG_SHORT)

    signals = feed(strategy, [30, 70, 29.99, 50, 70.01, 50])

    assert signals == [(2, LONG, 1.0), (3, FLAT, 0.0), (4, SHORT, -1.0), (5, FLAT, 0.0)]


def test_undefined_rsi_keeps_the_position():
    strategy = rsi_strategy()

    signals = feed(strategy, [None, 25, None, None, 55])

    assert signals == [(1, LONG, 1.0), (4, FLAT, 0.0)]


def test_custom_period_and_levels_read_their_own_feature():
    config = RsiReversionConfig(period=7, lower=20, upper=80, exit_level=40)
    strategy = build_strategy(config)

    signals = feed(strategy, [25, 19, 39, 40], name="rsi_7")

    assert strategy.required_features == ("rsi_7",)
    assert strategy.strategy_id == "rsi_reversion_7_20_40_80"
    assert signals == [(1, LONG, 1.0), (3, FLAT, 0.0)]


def test_a_vector_without_the_rsi_quarantines_the_strategy_naming_it():
    strategy = rsi_strategy()

    with pytest.raises(StrategyQuarantinedError, match="rsi_14") as caught:
        feed(strategy, [25], name="rsi_7")

    assert isinstance(caught.value.cause, MissingFeaturesError)
    assert caught.value.cause.missing == ("rsi_14",)
    assert feed(strategy, [25, 75]) == []  # it decides no more


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.floats(0, 100)), max_size=60),
    mode=st.sampled_from(TradingMode),
)
def test_every_signal_is_justified_by_the_rsi_at_its_bar(values, mode):
    strategy = rsi_strategy(mode)

    signals = feed(strategy, values)

    held = 0.0
    for index, direction, target in signals:
        rsi = values[index]
        assert rsi is not None
        if direction is LONG:
            assert rsi < 30
        elif direction is SHORT:
            assert mode is TradingMode.LONG_SHORT
            assert rsi > 70
        else:
            assert (rsi > 70 and mode is TradingMode.LONG_ONLY) or (
                (held > 0 and rsi >= 50) or (held < 0 and rsi <= 50)
            )
        assert target != held or index == signals[0][0]
        held = target
