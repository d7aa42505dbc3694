"""The rule strategies are SDK strategies: by entry point they give the signals of their kind."""

from __future__ import annotations

import math
from typing import Any

import pytest
from jules_signal.engine import (
    PythonStrategyConfig,
    StrategyLoadError,
    build_strategy,
    strategy_config_from_mapping,
)

from .builders import Row, run

WAVE = [math.sin(index / 3) for index in range(60)]
"""A few periods of a wave, for averages that cross and an RSI that swings through its levels."""


def averages(fast: str, slow: str) -> list[Row]:
    rows: list[Row] = [{fast: 10.0 + 2 * w, slow: 10.0} for w in WAVE]
    rows[5] = {fast: None, slow: None}  # an undefined value is no crossover
    return rows


def rsi(name: str) -> list[Row]:
    return [{name: 50.0 + 35 * w} for w in WAVE]


CASES: list[tuple[dict[str, Any], str, list[Row]]] = [
    (
        {"kind": "sma_cross", "fast": 10, "slow": 30, "mode": "long_short"},
        "sma_cross",
        averages("sma_10", "sma_30"),
    ),
    (
        {"kind": "ema_cross", "fast": 9, "slow": 21, "weight": 0.5},
        "ema_cross",
        averages("ema_9", "ema_21"),
    ),
    (
        {"kind": "rsi_reversion", "period": 7, "lower": 20, "upper": 80, "mode": "long_short"},
        "rsi_reversion",
        rsi("rsi_7"),
    ),
]


@pytest.mark.parametrize(("rule", "entry_point", "rows"), CASES, ids=[c[1] for c in CASES])
def test_the_entry_point_gives_the_signals_of_the_kind_event_ids_included(
    rule: dict[str, Any], entry_point: str, rows: list[Row]
) -> None:
    by_kind = build_strategy(strategy_config_from_mapping(rule))
    params = {name: value for name, value in rule.items() if name != "kind"}
    by_entry_point = build_strategy(
        strategy_config_from_mapping(
            {
                "kind": "python",
                "entry_point": entry_point,
                "params": params,
                "strategy_id": by_kind.strategy_id,
            }
        )
    )

    expected = run(by_kind, rows)
    found = run(by_entry_point, rows)

    assert len(expected) >= 4
    assert [(i, s.model_dump()) for i, s in found] == [(i, s.model_dump()) for i, s in expected]
    assert by_entry_point.required_features == by_kind.required_features
    assert type(by_entry_point.strategy) is type(by_kind.strategy)


def test_by_entry_point_the_strategy_id_defaults_to_its_name() -> None:
    config = PythonStrategyConfig(entry_point="sma_cross", params={"fast": 10, "slow": 30})

    strategy = build_strategy(config)

    assert strategy.strategy_id == "sma_cross"
    assert strategy.required_features == ("sma_10", "sma_30")


@pytest.mark.parametrize(
    ("entry_point", "params", "message"),
    [
        ("sma_cross", {"fast": 30, "slow": 10}, r"fast \(30\) must be below slow \(10\)"),
        ("ema_cross", {"fast": 9}, r"slow\s+Field required"),
        ("rsi_reversion", {"exit_level": 75}, "lower < exit_level < upper"),
        ("rsi_reversion", {"weight": 1.5}, r"weight\s+Input should be less than or equal to 1"),
    ],
)
def test_by_entry_point_the_parameters_are_validated_as_the_kind_validates_them(
    entry_point: str, params: dict[str, object], message: str
) -> None:
    config = PythonStrategyConfig(entry_point=entry_point, params=params)

    with pytest.raises(StrategyLoadError, match=message):
        build_strategy(config)
