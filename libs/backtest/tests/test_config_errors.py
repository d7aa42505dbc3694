"""A config a new user writes: a malformed file named with its line, price types in any case,
an unknown format answered with the list, Lean quote bars read as mid bars by default, and
relative paths in a file starting at its folder."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from jules_backtest.config import BacktestConfig, load_config
from jules_backtest.data import DataQuality, load_bars
from jules_contracts import PriceType
from pydantic import ValidationError

from .sample_data import DATA_DIR, REPO_ROOT

OANDA_QUOTE_BARS = "QuantConnect_Lean/Data/forex/oanda/minute/eurusd/20140501_quote.zip"


def config_with(source: dict[str, object]) -> BacktestConfig:
    return BacktestConfig.model_validate(
        {
            "data_dir": str(DATA_DIR),
            "data": [{"instrument_id": "EURUSD.OANDA", **source}],
            "strategy": {"kind": "sma_cross", "fast": 10, "slow": 30},
        }
    )


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("bad.yaml", "name: x\ndata: [\n  - {path: a\n", "not valid YAML at line 3, column 3"),
        ("bad.toml", 'name = "x\n', "not valid TOML"),
    ],
)
def test_a_malformed_file_is_refused_naming_where(
    tmp_path: Path, name: str, text: str, words: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=words) as caught:
        load_config(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("written", ["mid", "Mid", "MID"])
def test_a_price_type_is_read_in_any_case(written: str) -> None:
    config = config_with({"path": OANDA_QUOTE_BARS, "price_type": written})
    assert config.data[0].price_type is PriceType.MID


def test_an_unknown_format_is_refused_with_the_formats_there_are() -> None:
    with pytest.raises(ValidationError, match="unknown format 'lean'; the formats are: ") as caught:
        config_with({"path": OANDA_QUOTE_BARS, "format": "lean"})
    assert "lean_quote_bars" in str(caught.value)
    assert config_with({"path": OANDA_QUOTE_BARS, "format": "LEAN_QUOTE_BARS"}).data[0].format == (
        "lean_quote_bars"
    )


def test_lean_quote_bars_without_a_price_type_are_mid_bars_one_a_minute() -> None:
    quality = DataQuality()
    bars = list(load_bars(config_with({"path": OANDA_QUOTE_BARS}), quality))

    assert len(bars) >= 1_000
    assert {bar.price_type for bar in bars} == {PriceType.MID}
    assert all(b.event_time > a.event_time for a, b in pairwise(bars))
    assert sum(quality.rejected.values()) == 0


def test_paths_in_a_file_start_at_its_folder_and_options_at_the_working_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # anywhere but the repository
    demo = load_config(REPO_ROOT / "examples" / "demo.yaml")
    given = load_config(REPO_ROOT / "examples" / "demo.yaml", data_dir="data", output_dir="out")
    overridden = load_config(REPO_ROOT / "examples" / "demo.yaml", ["data_dir=elsewhere"])

    assert demo.data_dir.resolve() == (REPO_ROOT.parent / "shared" / "data").resolve()
    assert demo.output_dir is not None
    assert demo.output_dir.resolve() == (REPO_ROOT / "runs" / "demo").resolve()
    assert (given.data_dir, given.output_dir) == (Path("data"), Path("out"))
    assert overridden.data_dir == Path("elsewhere")
