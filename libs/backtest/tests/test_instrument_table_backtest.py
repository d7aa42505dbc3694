"""A backtest with an instrument table: the table file is resolved beside the config, a bad one
is refused at load time, and on real data every fill is a whole number of lots."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from jules_backtest.config import BacktestConfig, load_config
from jules_backtest.examples import coinbase_source
from jules_backtest.run import run_backtest
from jules_backtest.trades import Fill, round_trips, traded_notional
from jules_runtime.instruments import load_instrument_table
from pydantic import ValidationError

from .sample_data import DATA_DIR, REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "strategies" / "atr_breakout.yaml"
TABLE = load_instrument_table(REPO_ROOT / "examples" / "instruments.yaml")


def fills(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "fills.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_the_example_names_the_shipped_table_relative_to_its_folder(tmp_path):
    config = load_config(EXAMPLE, data_dir=DATA_DIR, output_dir=tmp_path)

    assert isinstance(config.instruments, Path)
    assert config.instruments.resolve() == (REPO_ROOT / "examples" / "instruments.yaml")
    assert config.instrument_table() == TABLE


def test_every_fill_on_real_data_is_a_whole_number_of_lots(tmp_path):
    # BTC, ETH and LTC on Coinbase, two days; the same run without the table trades
    # 228.97259264068927 LTC and the like
    with_table = load_config(EXAMPLE, data_dir=DATA_DIR, output_dir=tmp_path / "lots")
    without = with_table.model_copy(update={"instruments": None, "output_dir": tmp_path / "raw"})

    run_backtest(with_table)
    run_backtest(without)

    rows = fills(tmp_path / "lots")
    assert len(rows) >= 20
    assert {row["instrument_id"] for row in rows} == {
        "BTCUSD.COINBASE",
        "ETHUSD.COINBASE",
        "LTCUSD.COINBASE",
    }
    for row in rows:
        spec = TABLE[row["instrument_id"]]
        quantity = abs(float(row["quantity"]))
        assert spec.on_lot(quantity), row
        assert quantity >= spec.smallest_order, row
        assert len(row["quantity"].lstrip("-").partition(".")[2]) <= 8, row  # 8 decimals
    raw = [abs(float(row["quantity"])) for row in fills(tmp_path / "raw")]
    assert any(not TABLE["LTCUSD.COINBASE"].on_lot(quantity) for quantity in raw)


def test_inline_entries_are_a_table_too(tmp_path):
    spec = TABLE["BTCUSD.COINBASE"].model_dump()
    config = BacktestConfig.model_validate(
        {
            "data_dir": str(DATA_DIR),
            "data": [coinbase_source("btcusd", "20180404")],
            "strategy": {"kind": "sma_cross", "fast": 10, "slow": 30},
            "instruments": [spec],
            "output_dir": str(tmp_path),
        }
    )

    assert config.instrument_table() == {"BTCUSD.COINBASE": TABLE["BTCUSD.COINBASE"]}


def test_a_bad_table_stops_the_backtest_at_load_naming_file_entry_and_field(tmp_path):
    table = tmp_path / "instruments.yaml"
    table.write_text(
        "instruments:\n"
        "  - {instrument_id: LTCUSD.COINBASE, tick_size: 0.01, lot_size: 0.00000001,"
        " quote_currency: USD, multiplier: 0}\n"
    )
    config = tmp_path / "backtest.yaml"
    config.write_text(
        EXAMPLE.read_text().replace(
            "instruments: ../instruments.yaml", "instruments: instruments.yaml"
        )
    )

    with pytest.raises(ValidationError) as error:
        load_config(config, data_dir=DATA_DIR)

    message = str(error.value)
    assert f"instrument table {table}: instruments[0] (LTCUSD.COINBASE): multiplier" in message


def test_round_trips_and_turnover_count_the_contract_multiplier():
    def fill(time: int, quantity: float, price: float) -> Fill:
        return Fill("6EH4.XCME", time, quantity, price, 1.18, "o", f"f{time}", "TAKER", "BUY")

    fills = [fill(1, 2.0, 1.1050), fill(2, -2.0, 1.1051)]
    multipliers = {"6EH4.XCME": TABLE["6EH4.XCME"].multiplier}

    [trip] = round_trips(fills, multipliers)

    assert trip.pnl == pytest.approx(2 * 12.5)
    assert traded_notional(fills, multipliers) == pytest.approx(2 * 125_000 * (1.1050 + 1.1051))
