"""The bar CSV adapter: real bars in, input columns plus feature columns out; clear errors."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import talib
from jules_contracts import Bar
from jules_features.bar_csv import (
    BarCsvError,
    BarCsvReason,
    compute_features_csv,
    format_interval,
    parse_interval,
    parse_timestamp,
)
from jules_features.engine import FeatureEngineConfig, FeatureSchema

from .market_data import coinbase_bars, columns

BARS = coinbase_bars("btcusd", ("20161007",))[:400]
SCHEMA = FeatureSchema.from_names(["rsi_14", "macd_hist_12_26_9", "vwap", "minute_of_day"])
HEADER = "timestamp,open,high,low,close,volume"


def iso(nanos: int) -> str:
    return np.datetime_as_string(np.datetime64(nanos, "ns"), unit="s") + "Z"


def write_bars(path: Path, bars: tuple[Bar, ...], stamp=iso, extra: bool = False) -> Path:
    lines = [HEADER + (",note" if extra else "")]
    for i, b in enumerate(bars):
        row = f"{stamp(b.start_time)},{b.open!r},{b.high!r},{b.low!r},{b.close!r},{b.volume!r}"
        lines.append(row + (f",n{i}" if extra else ""))
    path.write_text("\n".join(lines) + "\n")
    return path


def read_output(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def as_float(cells: list[str]) -> np.ndarray:
    return np.array([np.nan if cell == "" else float(cell) for cell in cells])


def test_output_is_the_input_plus_feature_columns_equal_to_ta_lib(tmp_path):
    source = write_bars(tmp_path / "bars.csv", BARS, extra=True)

    summary = compute_features_csv(
        source, tmp_path / "out.csv", SCHEMA, instrument_id="BTCUSD.COINBASE"
    )

    header, rows = read_output(tmp_path / "out.csv")
    assert header == [*HEADER.split(","), "note", *SCHEMA.names]
    assert (summary.rows, summary.interval, summary.features) == (len(BARS), "1m", SCHEMA.names)
    inputs = source.read_text().splitlines()[1:]
    assert [",".join(row[:7]) for row in rows] == inputs  # input cells unchanged
    a = columns(BARS)
    rsi = as_float([row[7] for row in rows])
    expected = talib.RSI(a["close"], timeperiod=14)
    assert [row[7] for row in rows[:14]] == [""] * 14  # undefined while TA-Lib's is NaN
    np.testing.assert_allclose(rsi[14:], expected[14:], rtol=1e-9, atol=0)
    hist = as_float([row[8] for row in rows])
    np.testing.assert_allclose(
        hist[33:], talib.MACD(a["close"], 12, 26, 9)[2][33:], rtol=1e-9, atol=0
    )


def test_values_round_trip_exactly(tmp_path):
    source = write_bars(tmp_path / "bars.csv", BARS)
    compute_features_csv(source, tmp_path / "out.csv", SCHEMA, instrument_id="BTCUSD.COINBASE")

    _, rows = read_output(tmp_path / "out.csv")

    a = columns(BARS)
    typical = (a["high"] + a["low"] + a["close"]) / 3
    vwap = np.cumsum(typical * a["volume"]) / np.cumsum(a["volume"])  # one UTC day
    assert [float(row[8]) for row in rows] == vwap.tolist()


@pytest.mark.parametrize(
    "stamp",
    [
        lambda ns: str(ns // 10**9),
        lambda ns: str(ns // 10**6),
        lambda ns: str(ns // 10**3),
        lambda ns: str(ns),
        lambda ns: iso(ns).replace("T", " ").replace("Z", "+00:00"),
    ],
    ids=["epoch-s", "epoch-ms", "epoch-us", "epoch-ns", "iso-space-offset"],
)
def test_any_timestamp_form_gives_the_same_features(tmp_path, stamp):
    write_bars(tmp_path / "iso.csv", BARS[:60])
    write_bars(tmp_path / "other.csv", BARS[:60], stamp=stamp)

    for name in ("iso", "other"):
        compute_features_csv(
            tmp_path / f"{name}.csv", tmp_path / f"{name}.out", SCHEMA, instrument_id="X.Y"
        )

    iso_rows = read_output(tmp_path / "iso.out")[1]
    other_rows = read_output(tmp_path / "other.out")[1]
    assert [row[6:] for row in iso_rows] == [row[6:] for row in other_rows]


def test_interval_is_the_smallest_spacing_despite_gaps(tmp_path):
    gappy = BARS[:10:3]  # bars 0, 3, 6, 9 minutes
    write_bars(tmp_path / "bars.csv", (BARS[0], BARS[1], *gappy[1:]))

    summary = compute_features_csv(
        tmp_path / "bars.csv", tmp_path / "out.csv", SCHEMA, instrument_id="X.Y"
    )

    assert summary.interval == "1m"


def test_given_interval_longer_than_the_spacing_is_refused_naming_the_row(tmp_path):
    write_bars(tmp_path / "bars.csv", BARS[:5])

    with pytest.raises(BarCsvError, match=r"line 3 column 'timestamp'.*less than the interval 5m"):
        compute_features_csv(
            tmp_path / "bars.csv", tmp_path / "out.csv", SCHEMA, instrument_id="X.Y", interval="5m"
        )
    assert not (tmp_path / "out.csv").exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "bars.csv"]  # no temporary file left


def test_session_offset_changes_vwap_resets(tmp_path):
    write_bars(tmp_path / "bars.csv", BARS)
    config = FeatureEngineConfig(session_start_offset_minutes=60)
    compute_features_csv(
        tmp_path / "bars.csv", tmp_path / "out.csv", SCHEMA, instrument_id="X.Y", config=config
    )

    _, rows = read_output(tmp_path / "out.csv")

    starts = [row[0][11:16] for row in rows]
    reset = starts.index("01:00")
    assert float(rows[reset][-2]) == pytest.approx(
        (BARS[reset].high + BARS[reset].low + BARS[reset].close) / 3
    )
    assert rows[reset][-1] == "0.0"  # minute 0 of the session


GOOD = "2024-01-01T00:00:00Z,1,2,0.5,1.5,3\n"
BAD_FILES = [
    pytest.param(
        "time,open,high,low,close,volume\n",
        BarCsvReason.MISSING_COLUMN,
        "line 1: the header lacks timestamp",
        id="missing-column",
    ),
    pytest.param("", BarCsvReason.NO_HEADER, "has no header row", id="empty"),
    pytest.param(
        f"{HEADER},open\n",
        BarCsvReason.DUPLICATE_COLUMN,
        "line 1 column 'open': appears twice",
        id="duplicate-column",
    ),
    pytest.param(
        f"{HEADER},rsi_14\n",
        BarCsvReason.COLUMN_CLASH,
        "line 1: the input already has column(s) rsi_14",
        id="clash",
    ),
    pytest.param(
        f"{HEADER}\n{GOOD}2024-01-01T00:01:00Z,1,2,0.5,1.5,abc\n",
        BarCsvReason.BAD_VALUE,
        "line 3 column 'volume': 'abc' is not a number",
        id="not-a-number",
    ),
    pytest.param(
        f"{HEADER}\n{GOOD}2024-01-01T00:01:00Z,1,2,0.5,nan,3\n",
        BarCsvReason.BAD_BAR,
        "line 3 column 'close': Input should be a finite number (value 'nan')",
        id="nan",
    ),
    pytest.param(
        f"{HEADER}\n{GOOD}2024-01-01T00:01:00Z,1,2,0.5,1.5,-3\n",
        BarCsvReason.BAD_BAR,
        "line 3 column 'volume': Input should be greater than or equal to 0",
        id="negative-volume",
    ),
    pytest.param(
        f"{HEADER}\n{GOOD}2024-01-01T00:01:00Z,1,0.9,0.5,1.5,3\n",
        BarCsvReason.BAD_BAR,
        "line 3: Value error, high 0.9 is below open, close or low",
        id="high-below-close",
    ),
    pytest.param(
        f"{HEADER}\n2024-01-01 00:00:00,1,2,0.5,1.5,3\n",
        BarCsvReason.BAD_TIMESTAMP,
        "line 2 column 'timestamp': '2024-01-01 00:00:00' is not a timestamp",
        id="naive-timestamp",
    ),
    pytest.param(
        f"{HEADER}\n{GOOD}\n{GOOD}",
        BarCsvReason.NOT_INCREASING,
        "line 4 column 'timestamp': '2024-01-01T00:00:00Z' is not after the previous row",
        id="repeated-time",
    ),
    pytest.param(
        f"{HEADER}\n2024-01-01T00:00:00Z,1,2,0.5\n",
        BarCsvReason.ROW_LENGTH,
        "line 2: 4 values for 6 columns",
        id="short-row",
    ),
    pytest.param(f"{HEADER}\n{GOOD}", BarCsvReason.TOO_FEW_ROWS, "give --interval", id="one-bar"),
]


@pytest.mark.parametrize(("text", "reason", "message"), BAD_FILES)
def test_bad_file_is_refused_naming_line_and_column(tmp_path, text, reason, message):
    (tmp_path / "bars.csv").write_text(text)

    with pytest.raises(BarCsvError) as caught:
        compute_features_csv(
            tmp_path / "bars.csv", tmp_path / "out.csv", SCHEMA, instrument_id="X.Y"
        )

    assert caught.value.reason is reason
    assert message in str(caught.value)
    assert not (tmp_path / "out.csv").exists()


def test_quote_and_book_features_are_refused_for_a_bar_file(tmp_path):
    write_bars(tmp_path / "bars.csv", BARS[:3])
    schema = FeatureSchema.from_names(["sma_2", "spread", "book_imbalance_5"])

    with pytest.raises(BarCsvError, match="spread, book_imbalance_5 need quotes") as caught:
        compute_features_csv(
            tmp_path / "bars.csv", tmp_path / "out.csv", schema, instrument_id="X.Y"
        )

    assert caught.value.reason is BarCsvReason.NOT_A_BAR_FEATURE


def test_bad_instrument_id_is_refused():
    with pytest.raises(BarCsvError, match=r"instrument id 'BTCUSD' is not SYMBOL\.VENUE"):
        compute_features_csv(Path("unused.csv"), Path("unused.out"), SCHEMA, instrument_id="BTCUSD")


@pytest.mark.parametrize(
    ("text", "nanos"),
    [("250ms", 250_000_000), ("1s", 10**9), ("1m", 60 * 10**9), ("15m", 900 * 10**9),
     ("4h", 4 * 3600 * 10**9), ("1d", 86_400 * 10**9)],
)  # fmt: skip
def test_intervals_parse_and_format_both_ways(text, nanos):
    assert parse_interval(text) == nanos
    assert format_interval(nanos) == text


def test_interval_formats_in_the_largest_exact_unit_and_refuses_nonsense():
    assert format_interval(120 * 10**9) == "2m"
    assert format_interval(90 * 10**9) == "90s"
    for bad in ["0m", "1w", "m", "1.5m", "-1m"]:
        with pytest.raises(BarCsvError, match="is not a positive number followed by"):
            parse_interval(bad)
    with pytest.raises(BarCsvError, match="not a whole number of milliseconds"):
        format_interval(1500)


def test_epoch_unit_is_told_by_size():
    second = 1_475_798_400  # 2016-10-07T00:00:00Z
    expected = second * 10**9
    for text in [str(second), str(second * 10**3), str(second * 10**6), str(expected)]:
        assert parse_timestamp(text) == expected
    assert parse_timestamp("2016-10-07T02:00:00+02:00") == expected
