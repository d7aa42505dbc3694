"""sma_cross and ema_cross: signals on crossovers exactly as backtesting.py's ``crossover``."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from backtesting.lib import crossover
from hypothesis import given, settings
from hypothesis import strategies as st
from jules_contracts import SignalDirection
from jules_signal.engine import (
    EmaCrossConfig,
    MissingFeaturesError,
    SmaCrossConfig,
    Strategy,
    StrategyQuarantinedError,
    TradingMode,
    build_strategy,
)

from .builders import BTC, ETH, SCHEMA_ID, make_bar, make_features, pairs, run

LONG_SHORT = TradingMode.LONG_SHORT
LONG_ONLY = TradingMode.LONG_ONLY


@pytest.fixture(params=["sma", "ema"])
def indicator(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def cross_strategy(indicator: str, mode: TradingMode = LONG_SHORT, **fields) -> Strategy:
    config_class = SmaCrossConfig if indicator == "sma" else EmaCrossConfig
    return build_strategy(config_class(fast=10, slow=30, mode=mode, **fields))


def rows(indicator: str, values):
    return pairs(f"{indicator}_10", f"{indicator}_30", values)


def directions(signals) -> list[tuple[int, SignalDirection, float]]:
    return [(index, s.direction, s.target_weight) for index, s in signals]


def test_fast_crossing_above_slow_emits_long_at_the_crossing_bar(indicator):
    strategy = cross_strategy(indicator)

    signals = run(strategy, rows(indicator, [(9.0, 10.0), (9.5, 10.0), (10.5, 10.0), (11, 10.0)]))

    assert directions(signals) == [(2, SignalDirection.LONG, 1.0)]
    _, signal = signals[0]
    assert signal.strategy_id == f"{indicator}_cross_10_30"
    assert signal.source == "signal"
    assert signal.reference_price == 100.0
    assert signal.feature_schema_id == SCHEMA_ID
    assert signal.strength == 1.0
    assert signal.instrument_id == BTC


def test_reads_the_features_named_after_its_indicator_and_periods(indicator):
    strategy = cross_strategy(indicator)

    assert strategy.required_features == (f"{indicator}_10", f"{indicator}_30")


def test_fast_staying_above_slow_emits_nothing(indicator):
    strategy = cross_strategy(indicator)

    signals = run(strategy, rows(indicator, [(11.0, 10.0), (12.0, 10.0), (10.5, 10.0)]))

    assert signals == []


def test_touching_the_slow_average_is_not_a_crossover(indicator):
    values = [(9.0, 10.0), (10.0, 10.0), (11.0, 10.0), (10.0, 10.0), (9.0, 10.0)]
    fast = np.array([v[0] for v in values])
    slow = np.array([v[1] for v in values])
    strategy = cross_strategy(indicator)

    signals = run(strategy, rows(indicator, values))

    assert signals == []
    assert not any(
        crossover(fast[: i + 1], slow[: i + 1]) or crossover(slow[: i + 1], fast[: i + 1])
        for i in range(1, len(values))
    )


def test_cross_down_in_long_short_reverses_to_short(indicator):
    strategy = cross_strategy(indicator, LONG_SHORT)

    signals = run(strategy, rows(indicator, [(9.0, 10.0), (11.0, 10.0), (10.5, 10.0), (9.0, 10.0)]))

    assert directions(signals) == [
        (1, SignalDirection.LONG, 1.0),
        (3, SignalDirection.SHORT, -1.0),
    ]


def test_cross_down_in_long_only_goes_flat(indicator):
    strategy = cross_strategy(indicator, LONG_ONLY)

    signals = run(strategy, rows(indicator, [(9.0, 10.0), (11.0, 10.0), (9.0, 10.0), (11.0, 10.0)]))

    assert directions(signals) == [
        (1, SignalDirection.LONG, 1.0),
        (2, SignalDirection.FLAT, 0.0),
        (3, SignalDirection.LONG, 1.0),
    ]


def test_configured_weight_sizes_long_and_short_targets(indicator):
    strategy = cross_strategy(indicator, LONG_SHORT, weight=0.25)

    signals = run(strategy, rows(indicator, [(9.0, 10.0), (11.0, 10.0), (9.0, 10.0)]))

    assert [s.target_weight for _, s in signals] == [0.25, -0.25]


def test_undefined_average_on_either_bar_is_no_crossover(indicator):
    values = [(None, 10.0), (11.0, 10.0), (9.0, None), (11.0, 10.0), (9.0, 10.0)]
    strategy = cross_strategy(indicator)

    signals = run(strategy, rows(indicator, values))

    assert directions(signals) == [(4, SignalDirection.SHORT, -1.0)]


def test_crossovers_of_one_instrument_do_not_leak_into_another(indicator):
    strategy = cross_strategy(indicator)
    fast, slow = f"{indicator}_10", f"{indicator}_30"
    feed = [(BTC, 9.0), (ETH, 11.0), (BTC, 11.0), (ETH, 9.0)]

    signals = []
    for index, (instrument, fast_value) in enumerate(feed):
        bar = make_bar(index, instrument=instrument)
        vector = make_features(bar, {fast: fast_value, slow: 10.0})
        for signal in strategy.on_features(vector, bar):
            signals.append((signal.instrument_id, signal.direction))

    assert signals == [(BTC, SignalDirection.LONG), (ETH, SignalDirection.SHORT)]


def test_a_second_crossover_in_the_same_direction_is_not_news(indicator):
    # The spread goes -, +, 0, -, +: backtesting.py sees two upward crossovers and none down.
    values = [(9.0, 10.0), (11.0, 10.0), (10.0, 10.0), (9.0, 10.0), (11.0, 10.0)]
    fast = np.array([v[0] for v in values])
    slow = np.array([v[1] for v in values])
    ups = [i for i in range(1, 5) if crossover(fast[: i + 1], slow[: i + 1])]
    strategy = cross_strategy(indicator)

    signals = run(strategy, rows(indicator, values))

    assert ups == [1, 4]
    assert directions(signals) == [(1, SignalDirection.LONG, 1.0)]


def test_a_vector_without_the_averages_quarantines_the_strategy_naming_them(indicator):
    strategy = cross_strategy(indicator)
    bar = make_bar(0)
    vector = make_features(bar, {f"{indicator}_10": 1.0, "rsi_14": 50.0})

    with pytest.raises(StrategyQuarantinedError, match=f"{indicator}_30") as caught:
        strategy.on_features(vector, bar)

    assert caught.value.hook == "on_bar"
    assert isinstance(caught.value.cause, MissingFeaturesError)
    assert caught.value.cause.missing == (f"{indicator}_30",)
    assert run(strategy, rows(indicator, [(9.0, 10.0), (11.0, 10.0)])) == []  # it decides no more


def test_a_bar_of_another_instrument_is_refused(indicator):
    strategy = cross_strategy(indicator)
    btc_bar, eth_bar = make_bar(0, instrument=BTC), make_bar(0, instrument=ETH)

    with pytest.raises(ValueError, match=r"ETHUSD\.COINBASE"):
        strategy.on_features(make_features(btc_bar, rows(indicator, [(1.0, 2.0)])[0]), eth_bar)


def test_replaying_gives_the_same_signal_ids_and_strategies_never_share_one(indicator):
    values = [(9.0, 10.0), (11.0, 10.0), (9.0, 10.0)]

    first = run(cross_strategy(indicator), rows(indicator, values))
    again = run(cross_strategy(indicator), rows(indicator, values))
    other = run(cross_strategy(indicator, strategy_id="other"), rows(indicator, values))

    assert [s.model_dump() for _, s in first] == [s.model_dump() for _, s in again]
    assert {s.event_id for _, s in first}.isdisjoint(s.event_id for _, s in other)
    assert all(s.causation_id is not None for _, s in first)


# --- properties ------------------------------------------------------------------------------

spreads = st.lists(
    st.one_of(st.none(), st.integers(-3, 3).map(float), st.floats(-5, 5, allow_nan=False)),
    min_size=2,
    max_size=60,
)


def expected_targets(spread: list[float | None], mode: TradingMode) -> list[tuple[int, float]]:
    """Crossovers by backtesting.py on fast = 10 + spread vs slow = 10, kept when news."""
    fast = np.array([math.nan if s is None else 10.0 + s for s in spread])
    slow = np.where(np.isnan(fast), math.nan, 10.0)
    result: list[tuple[int, float]] = []
    for i in range(1, len(spread)):
        if crossover(fast[: i + 1], slow[: i + 1]):
            target = 1.0
        elif crossover(slow[: i + 1], fast[: i + 1]):
            target = -1.0 if mode is LONG_SHORT else 0.0
        else:
            continue
        if not result or result[-1][1] != target:
            result.append((i, target))
    return result


@settings(max_examples=150, deadline=None)
@given(spread=spreads, mode=st.sampled_from(TradingMode))
def test_signals_are_backtesting_crossovers_that_change_the_target(spread, mode):
    strategy = build_strategy(SmaCrossConfig(fast=10, slow=30, mode=mode))
    values = [(None, None) if s is None else (10.0 + s, 10.0) for s in spread]

    signals = run(strategy, pairs("sma_10", "sma_30", values))

    assert [(i, s.target_weight) for i, s in signals] == expected_targets(spread, mode)


@settings(max_examples=150, deadline=None)
@given(spread=spreads)
def test_long_short_signals_alternate_between_long_and_short(spread):
    strategy = build_strategy(SmaCrossConfig(fast=10, slow=30, mode=LONG_SHORT))
    values = [(None, None) if s is None else (10.0 + s, 10.0) for s in spread]

    found = [s.direction for _, s in run(strategy, pairs("sma_10", "sma_30", values))]

    assert set(found) <= {SignalDirection.LONG, SignalDirection.SHORT}
    assert all(a != b for a, b in itertools.pairwise(found))
