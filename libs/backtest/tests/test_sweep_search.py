"""The search machinery: spaces, grids, Optuna batches, failures, walk-forward windows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from jules_backtest.sweep.config import WalkForward
from jules_backtest.sweep.folds import walk_forward_folds
from jules_backtest.sweep.search import SearchError, TrialRecord, best_trial, run_search
from jules_backtest.sweep.space import Choice, FloatRange, IntRange, Space, parse_parameter
from pydantic import ValidationError


def bowl(point: Mapping[str, Any]) -> dict[str, Any]:
    """A figure with one best point (x = 3, y = 0.5) and a failing region (x = 0)."""
    if point["x"] == 0:
        raise ValueError("x must not be 0")
    return {"score": -((point["x"] - 3) ** 2) - (point["y"] - 0.5) ** 2, "x_seen": point["x"]}


def test_parameters_parse_from_lists_and_ranges():
    assert parse_parameter("a", [1, "b"]) == Choice(values=(1, "b"))
    assert parse_parameter("a", {"low": 2, "high": 8, "step": 3}) == IntRange(low=2, high=8, step=3)
    assert isinstance(parse_parameter("a", {"low": 0.1, "high": 1}), FloatRange)
    assert IntRange(low=2, high=8, step=3).grid("a") == [2, 5, 8]
    assert FloatRange(low=0.1, high=0.5, step=0.1).grid("a") == [0.1, 0.2, 0.3, 0.4, 0.5]
    with pytest.raises(ValueError, match="parameter a: a grid needs a step"):
        FloatRange(low=0.1, high=1).grid("a")
    with pytest.raises(ValidationError, match="high 1 must be at least low 5"):
        IntRange(low=5, high=1)
    with pytest.raises(ValueError, match="parameter a: give a list of values or a range"):
        parse_parameter("a", 3)


def test_grid_varies_the_last_parameter_fastest():
    space = Space.parse({"x": [1, 2], "y": {"low": 0, "high": 2}})
    assert space.grid() == [
        {"x": 1, "y": 0},
        {"x": 1, "y": 1},
        {"x": 1, "y": 2},
        {"x": 2, "y": 0},
        {"x": 2, "y": 1},
        {"x": 2, "y": 2},
    ]


def test_grid_search_finds_the_best_point_and_records_failures():
    space = Space.parse({"x": [0, 1, 2, 3, 4], "y": {"low": 0.0, "high": 1.0, "step": 0.5}})
    seen: list[TrialRecord] = []
    records = run_search(bowl, space, objective="score", on_trial=seen.append)
    assert [r.number for r in records] == list(range(15))
    assert seen == records
    failed = [r for r in records if not r.ok]
    assert [r.params["x"] for r in failed] == [0, 0, 0]
    assert str(failed[0].error).startswith("ValueError: x must not be 0")
    best = best_trial(records, "maximize")
    assert best.params == {"x": 3, "y": 0.5}
    assert best.objective == 0.0
    assert best_trial(records, "minimize").params == {"x": 1, "y": 0.0}


def test_optuna_search_is_repeatable_for_a_seed_and_stays_in_its_ranges():
    space = Space.parse({"x": {"low": 1, "high": 9}, "y": {"low": 0.0, "high": 1.0}})

    def points(seed: int, batch: int) -> list[dict[str, Any]]:
        records = run_search(
            bowl, space, objective="score", method="optuna", trials=12, seed=seed, batch=batch
        )
        return [r.params for r in records]

    first = points(3, 4)
    assert len(first) == 12
    assert first == points(3, 4)
    assert first != points(4, 4)
    assert all(1 <= p["x"] <= 9 and 0.0 <= p["y"] <= 1.0 for p in first)


def test_an_objective_that_is_no_figure_names_the_figures():
    space = Space.parse({"x": [1, 2], "y": [0.5]})
    with pytest.raises(SearchError, match=r"objective 'sharp' is not a figure.*score, x_seen"):
        run_search(bowl, space, objective="sharp")


def test_a_search_where_every_trial_fails_says_why():
    space = Space.parse({"x": [0], "y": [0.5]})
    with pytest.raises(SearchError, match="the first said: ValueError: x must not be 0"):
        run_search(bowl, space, objective="score")


def test_an_objective_undefined_in_every_trial_says_what_to_change():
    space = Space.parse({"x": [1, 2]})
    with pytest.raises(SearchError, match="use a longer window or an objective such as"):
        run_search(lambda p: {"m": None}, space, objective="m")


def test_undefined_objective_is_a_failed_trial_not_the_best():
    space = Space.parse({"x": [1, 2, 3]})
    records = run_search(
        lambda p: {"m": None if p["x"] == 3 else float(p["x"])}, space, objective="m"
    )
    assert records[2].error == "objective m is undefined (n/a) for this trial"
    assert best_trial(records, "maximize").params == {"x": 2}


SECOND = 1_000_000_000


def test_rolling_walk_forward_windows_tile_the_out_of_sample_period():
    folds = walk_forward_folds((0, 1000 * SECOND), WalkForward(folds=4, in_sample=0.6))
    assert [f.in_sample for f in folds] == [
        (0, 600 * SECOND),
        (100 * SECOND, 700 * SECOND),
        (200 * SECOND, 800 * SECOND),
        (300 * SECOND, 900 * SECOND),
    ]
    assert [f.out_of_sample for f in folds] == [
        (600 * SECOND, 700 * SECOND),
        (700 * SECOND, 800 * SECOND),
        (800 * SECOND, 900 * SECOND),
        (900 * SECOND, 1000 * SECOND),
    ]


def test_anchored_walk_forward_windows_all_start_at_the_start():
    folds = walk_forward_folds(
        (0, 1000 * SECOND), WalkForward(folds=2, in_sample=0.5, anchored=True)
    )
    assert [f.in_sample for f in folds] == [(0, 500 * SECOND), (0, 750 * SECOND)]
    assert folds[-1].out_of_sample == (750 * SECOND, 1000 * SECOND)


def test_a_period_too_short_for_the_folds_is_refused():
    with pytest.raises(ValueError, match="too short for the folds"):
        walk_forward_folds((0, 3 * SECOND), WalkForward(folds=5, in_sample=0.5))


def test_a_choice_between_lists_is_searched_by_optuna_and_gives_the_lists():
    space = Space.parse({"arch": [[8], [16, 16], {"a": 1}]})
    assert space.grid() == [{"arch": [8]}, {"arch": [16, 16]}, {"arch": {"a": 1}}]
    records = run_search(
        lambda p: {"m": float(len(str(p["arch"])))},
        space,
        objective="m",
        method="optuna",
        trials=6,
        seed=1,
    )
    assert {str(r.params["arch"]) for r in records} <= {"[8]", "[16, 16]", "{'a': 1}"}
    assert all(isinstance(r.params["arch"], list | dict) for r in records)
