"""Instrument table files: the shipped table loads; a bad file is refused naming the file, the
entry and the field; the ``instruments`` setting takes a path or inline entries."""

from __future__ import annotations

from pathlib import Path

import pytest
from jules_contracts.instruments import InstrumentSpec, InstrumentTableError
from jules_runtime.instruments import InstrumentTableSettings, load_instrument_table
from pydantic import ValidationError

SHIPPED_TABLE = Path(__file__).resolve().parents[3] / "examples" / "instruments.yaml"
LTC_ENTRY = (
    "  - {instrument_id: LTCUSD.COINBASE, tick_size: 0.01, lot_size: 0.00000001, "
    "quote_currency: USD}\n"
)


ENTRY = {"instrument_id": "A.B", "tick_size": 0.5, "lot_size": 1.0, "quote_currency": "USD"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "instruments.yaml"
    path.write_text(text)
    return path


def test_the_shipped_table_has_the_sample_datas_instruments():
    table = load_instrument_table(SHIPPED_TABLE)

    assert {
        "BTCUSD.COINBASE",
        "ETHUSD.COINBASE",
        "LTCUSD.COINBASE",
        "BTCEUR.COINBASE",
        "EURUSD.OANDA",
        "EURUSD.FXCM",
        "BTC-PERP.FTX",
        "6EH4.XCME",
        "BTCUSDT.BINANCE",
        "BTCUSDT-PERP.BINANCE",
    } <= set(table)
    euro_fx = table["6EH4.XCME"]
    assert (euro_fx.multiplier, euro_fx.tick_size, euro_fx.lot_size) == (125_000.0, 0.00005, 1.0)
    assert table["LTCUSD.COINBASE"].lot_size == 0.00000001
    assert table["BTCEUR.COINBASE"].quote_currency == "EUR"


def test_a_table_file_loads_into_specs_by_instrument(tmp_path):
    table = load_instrument_table(write(tmp_path, "instruments:\n" + LTC_ENTRY))

    assert table == {
        "LTCUSD.COINBASE": InstrumentSpec(
            instrument_id="LTCUSD.COINBASE",
            tick_size=0.01,
            lot_size=0.00000001,
            quote_currency="USD",
        )
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "instruments:\n" + LTC_ENTRY + "  - {instrument_id: X.Y, tick_size: 0.01}\n",
            r"instruments\[1\] \(X\.Y\): lot_size: Field required; quote_currency: Field required",
        ),
        (
            "instruments:\n" + LTC_ENTRY + LTC_ENTRY,
            r"instruments\[1\]: instrument_id LTCUSD\.COINBASE is listed twice",
        ),
        ("instrument:\n" + LTC_ENTRY, r"one key, instruments \(found \['instrument'\]\)"),
        ("", r"one key, instruments \(found NoneType\)"),
        ("instruments: {a: 1}\n", "instruments must be a list of entries, not dict"),
        ("instruments: [\n", "not valid YAML"),
    ],
)
def test_a_bad_table_file_is_refused_naming_the_file_and_what_is_wrong(tmp_path, text, message):
    path = write(tmp_path, text)

    with pytest.raises(InstrumentTableError, match=message) as error:
        load_instrument_table(path)

    assert str(error.value).startswith(f"instrument table {path}: ")


def test_a_missing_table_file_is_refused_naming_it(tmp_path):
    with pytest.raises(InstrumentTableError, match=r"nowhere\.yaml: cannot be read"):
        load_instrument_table(tmp_path / "nowhere.yaml")


def test_the_setting_takes_a_table_files_path_or_inline_entries(tmp_path):
    path = write(tmp_path, "instruments:\n" + LTC_ENTRY)
    from_file = InstrumentTableSettings.model_validate({"instruments": str(path)})
    inline = InstrumentTableSettings.model_validate(
        {"instruments": [load_instrument_table(path)["LTCUSD.COINBASE"]]}
    )

    assert from_file.instruments == path
    assert from_file.instrument_table() == inline.instrument_table()
    assert InstrumentTableSettings().instrument_table() == {}


def test_the_setting_refuses_a_bad_table_when_validated(tmp_path):
    path = write(tmp_path, "instruments:\n  - {instrument_id: LTCUSD.COINBASE}\n")

    with pytest.raises(ValidationError, match=r"instruments\[0\] \(LTCUSD\.COINBASE\): tick_size"):
        InstrumentTableSettings.model_validate({"instruments": str(path)})
    with pytest.raises(ValidationError, match=r"instruments\[1\]: instrument_id X\.Y is listed"):
        InstrumentTableSettings.model_validate(
            {"instruments": [{**ENTRY, "instrument_id": "X.Y"}] * 2}
        )


def test_an_unset_table_is_left_out_of_a_dump():
    assert InstrumentTableSettings().model_dump() == {}
    assert (
        InstrumentTableSettings.model_validate({"instruments": [ENTRY]}).model_dump()[
            "instruments"
        ][0]["lot_size"]
        == 1
    )
