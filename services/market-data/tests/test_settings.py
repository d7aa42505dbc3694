"""The service's settings: a replayed file's format is read in any case."""

from __future__ import annotations

from pathlib import Path

import pytest
from jules_market_data.config import ReplaySource
from jules_market_data.loaders import Format
from pydantic import ValidationError


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    path = tmp_path / "bars.csv"
    path.write_text("timestamp,open,high,low,close\n")
    return path


@pytest.mark.parametrize("written", ["Bars", "BARS", "bars"])
def test_a_format_is_read_in_any_case(recorded: Path, written: str) -> None:
    source = ReplaySource.model_validate(
        {"path": recorded, "instrument_id": "BTCUSD.COINBASE", "format": written}
    )

    assert source.format is Format.BARS


def test_an_unknown_format_names_the_field_and_the_formats(recorded: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        ReplaySource.model_validate(
            {"path": recorded, "instrument_id": "BTCUSD.COINBASE", "format": "csv"}
        )

    assert "format" in str(caught.value)
    assert "'lean_trade_bars', 'lean_quote_bars'" in str(caught.value)
