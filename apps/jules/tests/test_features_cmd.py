"""``jules features``: compute feature columns over a real bar file; clear errors, exit 2."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import talib
from jules.features_cmd import features_app
from jules_backtest.config import DataSource
from jules_backtest.data import DataQuality, read_bars
from jules_features.engine import DEFAULT_BAR_FEATURES, FeatureEngine, FeatureSchema
from typer.testing import CliRunner

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
BTC_PERP = (
    DATA_DIR / "nautilus_trader" / "tests" / "test_data" / "btc-perp-20211231-20220201_1m.csv"
)
runner = CliRunner()


def btc_perp_csv(tmp_path: Path, rows: int = 400) -> Path:
    """The first rows of the FTX BTC-PERP file, its naive UTC timestamps made explicit."""
    with BTC_PERP.open(newline="") as handle:
        header, *data = list(csv.reader(handle))[: rows + 1]
    path = tmp_path / "btc-perp.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([[row[0].replace(" ", "T") + "Z", *row[1:]] for row in data])
    return path


def read(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def column(header: list[str], rows: list[list[str]], name: str) -> np.ndarray:
    index = header.index(name)
    return np.array([np.nan if row[index] == "" else float(row[index]) for row in rows])


def test_compute_adds_every_bar_feature_by_default(tmp_path):
    source = btc_perp_csv(tmp_path)

    result = runner.invoke(
        features_app,
        [
            "compute",
            "--input",
            str(source),
            "--output",
            str(tmp_path / "out.csv"),
            "--instrument-id",
            "BTC-PERP.FTX",
        ],
    )

    assert result.exit_code == 0, result.output
    header, rows = read(tmp_path / "out.csv")
    assert header == ["timestamp", "open", "high", "low", "close", "volume", *DEFAULT_BAR_FEATURES]
    assert len(rows) == 400
    schema_id = FeatureSchema.from_names(DEFAULT_BAR_FEATURES).schema_id
    assert f"wrote 400 bars with {len(DEFAULT_BAR_FEATURES)} features" in result.output
    assert f"interval 1m, feature schema {schema_id}" in result.output
    high, low, close = (column(header, rows, c) for c in ("high", "low", "close"))
    for name, expected in [
        ("ema_21", talib.EMA(close, 21)),
        ("adx_14", talib.ADX(high, low, close, 14)),
        ("macd_signal_12_26_9", talib.MACD(close, 12, 26, 9)[1]),
    ]:
        actual = column(header, rows, name)
        np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
        defined = ~np.isnan(expected)
        np.testing.assert_allclose(actual[defined], expected[defined], rtol=1e-9, atol=0)


def test_compute_with_chosen_features_and_interval(tmp_path):
    source = btc_perp_csv(tmp_path, rows=50)

    result = runner.invoke(
        features_app,
        [
            "compute",
            "-i",
            str(source),
            "-o",
            str(tmp_path / "out.csv"),
            "--features",
            "sma_5, bb_upper_10_1.5",
            "--interval",
            "1m",
        ],
    )

    assert result.exit_code == 0, result.output
    header, rows = read(tmp_path / "out.csv")
    assert header[6:] == ["sma_5", "bb_upper_10_1p5"]
    close = column(header, rows, "close")
    np.testing.assert_allclose(
        column(header, rows, "sma_5")[4:], talib.SMA(close, 5)[4:], rtol=1e-9
    )
    assert [row[7] for row in rows[:9]] == [""] * 9


def test_unknown_feature_exits_2_naming_it(tmp_path):
    source = btc_perp_csv(tmp_path, rows=5)

    result = runner.invoke(
        features_app,
        [
            "compute",
            "-i",
            str(source),
            "-o",
            str(tmp_path / "out.csv"),
            "--features",
            "sma_20,hull_9",
        ],
    )

    assert result.exit_code == 2
    assert "unknown feature 'hull_9'" in result.stderr
    assert "sma_<timeperiod>" in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_bad_row_exits_2_naming_line_and_column(tmp_path):
    source = btc_perp_csv(tmp_path, rows=5)
    lines = source.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",lots"
    source.write_text("\n".join(lines) + "\n")

    result = runner.invoke(
        features_app, ["compute", "-i", str(source), "-o", str(tmp_path / "out.csv")]
    )

    assert result.exit_code == 2
    assert "line 4 column 'volume': 'lots' is not a number" in result.stderr


def test_naive_timestamps_exit_2_asking_for_an_offset(tmp_path):
    result = runner.invoke(
        features_app, ["compute", "-i", str(BTC_PERP), "-o", str(tmp_path / "out.csv")]
    )

    assert result.exit_code == 2
    assert "line 2 column 'timestamp'" in result.stderr
    assert "explicit UTC offset" in result.stderr


def test_bad_options_exit_2(tmp_path):
    source = btc_perp_csv(tmp_path, rows=5)
    out = str(tmp_path / "out.csv")

    missing = runner.invoke(features_app, ["compute", "-i", str(tmp_path / "nope.csv"), "-o", out])
    instrument = runner.invoke(
        features_app, ["compute", "-i", str(source), "-o", out, "--instrument-id", "BTC PERP"]
    )
    offset = runner.invoke(
        features_app,
        ["compute", "-i", str(source), "-o", out, "--session-start-offset-minutes", "1440"],
    )
    interval = runner.invoke(
        features_app, ["compute", "-i", str(source), "-o", out, "--interval", "1w"]
    )

    assert missing.exit_code == 2
    assert "nope.csv" in missing.stderr
    assert instrument.exit_code == 2
    assert "instrument id 'BTC PERP' is not SYMBOL.VENUE" in instrument.stderr
    assert offset.exit_code == 2
    assert "--session-start-offset-minutes 1440: Input should be less than 1440" in offset.stderr
    assert interval.exit_code == 2
    assert "interval '1w'" in interval.stderr


def test_list_shows_every_supported_form():
    result = runner.invoke(features_app, ["list"])

    assert result.exit_code == 0
    assert "bb_upper_<timeperiod>_<nbdev> (e.g. bb_upper_20_2)" in result.output
    assert "book_imbalance_<levels> (e.g. book_imbalance_5)" in result.output
    assert ",".join(DEFAULT_BAR_FEATURES) in result.output


LEAN_BTC = DATA_DIR / "QuantConnect_Lean/Data/crypto/coinbase/minute/btcusd/20180404_trade.zip"


def test_compute_reads_any_file_a_backtest_reads_with_the_backtests_bars(tmp_path):
    out = tmp_path / "out.csv"
    args = ["compute", "-i", str(LEAN_BTC), "-o", str(out), "-f", "sma_10,rsi_14"]
    result = runner.invoke(features_app, [*args, "--instrument-id", "BTCUSD.COINBASE"])

    assert result.exit_code == 0, result.output
    source = DataSource(path=str(LEAN_BTC), instrument_id="BTCUSD.COINBASE")
    bars = list(read_bars(source, LEAN_BTC, DataQuality()))
    engine = FeatureEngine(FeatureSchema.parse("sma_10,rsi_14"))
    expected = [engine.on_bar(bar).features["rsi_14"] for bar in bars]
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(bars) >= 1_000
    assert [float(r["rsi_14"]) if r["rsi_14"] else None for r in rows] == expected
    assert rows[0]["timestamp"] == "2018-04-04T00:00:00.000000000Z"


def test_assume_utc_reads_naive_timestamps_and_a_file_without_a_bar_fails(tmp_path):
    naive = tmp_path / "naive.csv"
    naive.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2024-01-01 00:01:00,1,2,0.5,1.5,10\n2024-01-01 00:02:00,1.5,2,1,1.2,10\n"
    )
    common = ["compute", "-i", str(naive), "--instrument-id", "X.TEST", "--interval", "1m"]

    read = runner.invoke(features_app, [*common, "-o", str(tmp_path / "a.csv"), "--assume-utc"])
    hint = runner.invoke(features_app, [*common, "-o", str(tmp_path / "b.csv")])
    empty = runner.invoke(
        features_app, [*common, "-o", str(tmp_path / "c.csv"), "--format", "bars"]
    )
    unknown = runner.invoke(features_app, [*common, "-o", str(tmp_path / "d.csv"), "--format", "x"])

    assert read.exit_code == 0, read.output
    assert "wrote 2 bars" in read.stdout
    assert hint.exit_code == 2
    assert "--assume-utc" in hint.stderr
    assert empty.exit_code == 2
    assert "no bar left" in empty.stderr
    assert "BAD_TIMESTAMP 2" in empty.stderr
    assert not (tmp_path / "c.csv").exists()
    assert unknown.exit_code == 2
    assert "unknown format 'x'; the formats are: " in unknown.stderr
