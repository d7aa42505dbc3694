"""A config file's choices in any case: ``kind: SMA_Cross``, ``Next_Bar_Open``, ``mid`` load and
are kept in their canonical spelling; an unknown one names its key and the valid values."""

from __future__ import annotations

from pathlib import Path

import pytest
from jules_backtest.config import OnnxStrategyConfig, load_config
from jules_contracts import PriceType
from jules_signal.engine import PythonStrategyConfig
from pydantic import ValidationError

MIXED_CASE = """\
name: mixed-case
data:
  - {path: bars.csv, instrument_id: BTCUSD.COINBASE, format: BARS, price_type: mid,
     events: [Bar]}
strategy: {kind: SMA_Cross, fast: 10, slow: 30, mode: Long_Short}
risk: {sizing: {kind: Fixed_Fraction, at: FILL, fraction: 0.3}}
execution: {fill_model: {kind: Next_Bar_Open}}
audit: {level: Decisions}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_mixed_case_choices_load_in_their_canonical_spelling(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MIXED_CASE))

    source = config.data[0]
    assert (source.format, source.price_type, source.events) == ("bars", PriceType.MID, ("bar",))
    dumped = config.model_dump(mode="json")
    assert dumped["strategy"]["kind"] == "sma_cross"
    assert dumped["strategy"]["mode"] == "long_short"
    assert dumped["risk"]["sizing"]["kind"] == "fixed_fraction"
    assert dumped["risk"]["sizing"]["at"] == "fill"
    assert dumped["execution"]["fill_model"] == {"kind": "next_bar_open"}
    assert dumped["audit"]["level"] == "decisions"


def test_an_onnx_or_python_kind_in_any_case_still_resolves_its_file(tmp_path: Path) -> None:
    onnx = load_config(
        write(tmp_path, "data: [{path: a.csv}]\nstrategy: {kind: ONNX, model: m.onnx}\n")
    )
    python = load_config(
        write(tmp_path, "data: [{path: a.csv}]\nstrategy: {kind: Python, path: s/mine.py:Mine}\n")
    )

    assert isinstance(onnx.strategy, OnnxStrategyConfig)
    assert Path(onnx.strategy.model) == tmp_path / "m.onnx"
    assert isinstance(python.strategy, PythonStrategyConfig)
    assert python.strategy.path == f"{(tmp_path / 's' / 'mine.py').resolve()}:Mine"


@pytest.mark.parametrize(
    ("override", "words"),
    [
        (
            "execution.fill_model={kind: next_bar}",
            ["execution.fill_model", "'next_bar'", "'next_bar_open', 'bar_close_slippage'"],
        ),
        (
            "risk.sizing.kind=fraction",
            ["risk.sizing.kind", "'fixed_fraction', 'all_equity', 'atr_risk'"],
        ),
        ("audit.level=none", ["audit.level", "'all', 'decisions' or 'off'"]),
        ("strategy.mode=both", ["mode", "'long_only' or 'long_short'"]),
        (
            "data=[{path: a.csv, price_type: last}]",
            ["price_type", "'TRADE', 'BID', 'ASK' or 'MID'"],
        ),
        ("data=[{path: a.csv, events: [tick]}]", ["events", "'bar', 'quote', 'trade' or 'book'"]),
    ],
)
def test_an_unknown_choice_names_its_key_and_the_valid_values(
    tmp_path: Path, override: str, words: list[str]
) -> None:
    with pytest.raises(ValidationError) as caught:
        load_config(write(tmp_path, MIXED_CASE), [override])

    for word in words:
        assert word in str(caught.value)


def test_an_unknown_strategy_kind_lists_the_kinds(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        load_config(write(tmp_path, "data: [{path: a.csv}]\nstrategy: {kind: SMA}\n"))

    assert "'SMA'" in str(caught.value)
    assert "'sma_cross', 'ema_cross', 'rsi_reversion', 'python'" in str(caught.value)
