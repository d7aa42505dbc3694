"""``jules strategy``: the registered strategies, and a strategy's parameters and features."""

from __future__ import annotations

from pathlib import Path

import pytest
from jules.cli import app
from typer.testing import CliRunner

RUNNER = CliRunner()


def test_list_shows_the_registered_example_strategies() -> None:
    result = RUNNER.invoke(app, ["strategy", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("bollinger_reversion", "atr_breakout", "pair_spread"):
        assert f"entry_point: {name}" in result.output
    for name in ("sma_cross", "ema_cross", "rsi_reversion"):  # the rule strategies, by name too
        assert f"entry_point: {name}" in result.output
    assert "sma_cross, ema_cross, rsi_reversion" in result.output


def test_show_gives_the_parameters_and_the_features_of_the_parameters_given() -> None:
    result = RUNNER.invoke(
        app,
        ["strategy", "show", "atr_breakout", "--param", "atr_period=20"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "AtrBreakout" in result.output
    row = next(line for line in result.output.splitlines() if "│ stop_atr" in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells == ["stop_atr", "number", "2.0", "Trailing stop, in ATRs. > 0 <= 50"]
    assert "features: atr_20" in result.output
    assert "tick hooks: (none: bars only)" in result.output


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("book_imbalance", ["features: (none)", "tick hooks: on_book", "fills: (none)"]),
        ("rsi_bracket", ["features: rsi_14", "tick hooks: (none: bars only)", "fills: on_fill"]),
    ],
)
def test_show_says_which_tick_hooks_a_strategy_has_and_whether_it_asks_for_fills(
    name: str, shown: list[str]
) -> None:
    result = RUNNER.invoke(app, ["strategy", "show", name], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for line in shown:
        assert line in result.output


def test_show_names_the_required_parameters_and_refuses_what_it_cannot_load(
    tmp_path: Path,
) -> None:
    result = RUNNER.invoke(app, ["strategy", "show", "pair_spread"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "features: give --param first=..., --param second=... to see them" in result.output
    (tmp_path / "broken.py").write_text("import no_such_package\n")
    broken = RUNNER.invoke(app, ["strategy", "show", f"{tmp_path / 'broken.py'}:Mine"])
    assert broken.exit_code == 2
    assert "ModuleNotFoundError" in broken.output


def parameter_rows(output: str) -> dict[str, list[str]]:
    """The parameters table of ``strategy show``, its cells by parameter name."""
    rows = [line.split("│")[1:-1] for line in output.splitlines() if line.startswith("│")]
    return {cells[0].strip(): [cell.strip() for cell in cells[1:]] for cells in rows}


def test_show_gives_the_parameters_of_a_rule_strategy() -> None:
    result = RUNNER.invoke(app, ["strategy", "show", "sma_cross"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "SmaCross (jules_signal.engine.rules)" in result.output
    rows = parameter_rows(result.output)
    assert list(rows) == ["mode", "weight", "fast", "slow"]
    assert rows["fast"] == [
        "integer",
        "required",
        "Period of the fast moving average. >= 1 <= 100000",
    ]
    assert rows["slow"][:2] == ["integer", "required"]
    assert rows["mode"][:2] == ["long_only | long_short", '"long_only"']
    assert rows["weight"] == [
        "number",
        "1.0",
        "Target weight of a long (+weight) or short (-weight) position. > 0 <= 1",
    ]
    assert "features: give --param fast=..., --param slow=... to see them" in result.output
    given = RUNNER.invoke(
        app,
        ["strategy", "show", "sma_cross", "--param", "fast=10", "--param", "slow=30"],
        env={"COLUMNS": "200"},
    )
    assert given.exit_code == 0, given.output
    assert "features: sma_10, sma_30" in given.output
    assert "tick hooks: (none: bars only)" in given.output
