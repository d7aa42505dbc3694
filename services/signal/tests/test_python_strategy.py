"""Users' strategies: parameters, hooks in event time, timers, targets as signals, other legs,
quarantine, and loading by import path, file and entry point."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from jules_contracts import AlertCode, Bar, SignalDirection
from jules_signal.engine import (
    PythonStrategyConfig,
    StrategyLoadError,
    StrategyQuarantinedError,
    build_strategy,
    parse_strategy_flags,
    quarantine_alert,
    strategy_config_from_mapping,
)
from jules_signal.engine import Strategy as EngineStrategy
from jules_signal.engine.python_strategy import PythonStrategy
from jules_signal.sdk import Features, Params, Strategy, Timer
from pydantic import ValidationError

from .builders import BTC, ETH, MINUTE, T0, make_bar, make_features

FILE = Path(__file__).parent / "user_strategies.py"
MODULE = str(FILE)  # loaded by file, as a user's strategy is


def run(strategy: EngineStrategy, bars: list[Bar], value: float | None = 1.0):
    signals = []
    for bar in bars:
        signals += strategy.on_features(make_features(bar, {"sma_3": value}), bar)
    return signals


def threshold_like(name: str, **params: object) -> PythonStrategy:
    """The test strategy ``name`` of user_strategies.py, loaded as a user's file."""
    strategy = build_strategy(PythonStrategyConfig(path=f"{MODULE}:{name}", params=params))
    assert isinstance(strategy, PythonStrategy)
    return strategy


def threshold(**params: object) -> PythonStrategy:
    return threshold_like("Threshold", **params)


def test_params_are_validated_with_their_defaults_and_a_bad_one_is_named() -> None:
    assert threshold().strategy.params.model_dump() == {"level": 100.0}
    assert threshold(level=5).strategy.params.level == 5.0
    with pytest.raises(StrategyLoadError, match="level"):
        threshold(level=-1)
    with pytest.raises(StrategyLoadError, match="lvel"):
        threshold(lvel=1)


def test_a_signal_comes_only_when_the_target_changes_and_positions_follow() -> None:
    strategy = threshold(level=100)
    closes = [99, 101, 102, 103, 98, 97, 104]
    signals = run(strategy, [make_bar(i, c) for i, c in enumerate(closes)])

    assert [(s.direction, s.target_weight) for s in signals] == [
        (SignalDirection.FLAT, 0.0),
        (SignalDirection.LONG, 1.0),
        (SignalDirection.FLAT, 0.0),
        (SignalDirection.LONG, 1.0),
    ]
    assert [s.reference_price for s in signals] == [99, 101, 98, 104]
    assert strategy.strategy_id == "threshold"  # from the class name
    assert strategy.required_features == ("sma_3",)
    assert strategy.strategy.position(BTC) == 1.0
    assert run(threshold(), [make_bar(0, 120)], value=None) == []  # warming up: no target


def test_hooks_run_in_event_time_and_a_timer_fires_before_the_bar_that_reaches_it() -> None:
    strategy = threshold()
    bars = [make_bar(i) for i in (0, 30, 60, 200)]  # a gap of 140 minutes before the last
    run(strategy, bars)
    seen = strategy.strategy.seen  # type: ignore[attr-defined]
    first = bars[0].event_time
    assert seen == [
        ("start", first),
        ("bar", first),
        ("bar", bars[1].event_time),
        ("hourly", first + 60 * MINUTE),  # due at the third bar's close exactly
        ("bar", bars[2].event_time),
        ("hourly", first + 120 * MINUTE),  # two due times in the gap fire once, the first
        ("bar", bars[3].event_time),
    ]
    assert bars[2].event_time == first + 60 * MINUTE
    assert strategy.strategy._clock.timers[0][0] == first + 240 * MINUTE  # set again after


def test_a_strategy_that_raises_is_quarantined_once_with_an_alert() -> None:
    strategy = threshold_like("Boom")
    bars = [make_bar(i, c) for i, c in enumerate([100, 101, 102, 103])]
    vectors = [make_features(bar, {"sma_3": 1.0}) for bar in bars]

    assert len(strategy.on_features(vectors[0], bars[0])) == 1
    with pytest.raises(StrategyQuarantinedError) as raised:
        strategy.on_features(vectors[2], bars[2])
    assert strategy.on_features(vectors[3], bars[3]) == []  # quarantined: nothing more
    error = raised.value
    assert (error.strategy_id, error.hook) == ("boom", "on_bar")
    alert = quarantine_alert(vectors[2], error)
    assert alert.code == AlertCode.STRATEGY_QUARANTINED
    assert "ZeroDivisionError: the user's bug" in alert.message
    assert alert == quarantine_alert(vectors[2], error)  # the same id in every mode


def test_a_target_out_of_range_quarantines_too() -> None:
    class Wild(Strategy[Params]):
        def on_bar(self, bar: Bar, features: Features) -> None:
            self.target(bar.instrument_id, 2.0)

    with pytest.raises(StrategyQuarantinedError, match=r"not in \[-1, 1\]"):
        run(PythonStrategy(Wild(Params()), "wild"), [make_bar(0)])


def test_a_spread_sets_both_legs_on_one_bar_each_priced_at_its_own_bar() -> None:
    strategy = threshold_like("BothLegs")
    btc, eth = make_bar(0, 100.0, instrument=BTC), make_bar(0, 5.0, instrument=ETH)
    signals = run(strategy, [btc, eth])

    assert [(s.instrument_id, s.target_weight, s.reference_price) for s in signals] == [
        (BTC, -0.5, 100.0),
        (ETH, 0.5, 5.0),
    ]
    vector_id = signals[1].causation_id
    assert signals[0].causation_id == vector_id  # both caused by the ETH vector
    assert len({s.event_id for s in signals}) == 2


def test_loaded_from_a_file_relative_to_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "mine.py").write_text(
        "from jules_signal.sdk import Strategy, Params\n"
        "class Mine(Strategy[Params]):\n"
        "    def on_bar(self, bar, features):\n"
        "        self.target(bar.instrument_id, -1.0)\n"
    )
    monkeypatch.chdir(tmp_path)
    strategy = build_strategy(
        strategy_config_from_mapping({"kind": "python", "path": "mine.py:Mine"})
    )
    assert [s.target_weight for s in run(strategy, [make_bar(0)])] == [-1.0]


def test_loaded_from_its_entry_point_with_flags_as_text() -> None:
    config = parse_strategy_flags("python", {"entry_point": "bollinger_reversion", "period": "30"})
    strategy = build_strategy(config)
    assert strategy.strategy_id == "bollinger_reversion"
    assert strategy.required_features == ("bb_lower_30_2", "bb_middle_30_2", "bb_upper_30_2")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"path": f"{MODULE}:Nope"}, "has no class 'Nope'"),
        ({"path": "no_such_module_here:Mine"}, "ModuleNotFoundError"),
        ({"path": "missing.py:Mine"}, "does not exist"),
        ({"path": f"{MODULE}:ThresholdParams"}, "not a subclass of jules_signal.sdk.Strategy"),
        ({"path": "jules_signal.examples.bollinger:Missing"}, "has no class 'Missing'"),
        ({"entry_point": "no_such_strategy"}, "registered: atr_breakout, bollinger_reversion"),
    ],
)
def test_a_strategy_that_cannot_be_loaded_is_named(config: dict[str, str], message: str) -> None:
    with pytest.raises(StrategyLoadError, match=message):
        build_strategy(PythonStrategyConfig.model_validate(config))


def test_the_config_needs_exactly_one_way_to_find_the_class() -> None:
    with pytest.raises(ValidationError, match="exactly one of path"):
        strategy_config_from_mapping({"kind": "python"})
    with pytest.raises(ValidationError, match="exactly one of path"):
        strategy_config_from_mapping({"kind": "python", "path": "a:B", "entry_point": "b"})


def test_timers_at_a_time_and_cancelled() -> None:
    class Once(Strategy[Params]):
        fired: list[Timer]

        def on_start(self) -> None:
            self.fired = []
            self.at("open", T0 + 3 * MINUTE)
            self.every("noise", timedelta(minutes=1))
            self.cancel_timer("noise")

        def on_timer(self, timer: Timer) -> None:
            self.fired.append(timer)

    strategy = PythonStrategy(Once(Params()), "once")
    run(strategy, [make_bar(i) for i in range(5)])
    assert strategy.strategy.fired == [Timer(T0 + 3 * MINUTE, "open")]  # type: ignore[attr-defined]
