# mypy: allow-untyped-defs, allow-incomplete-defs, allow-untyped-calls
"""A bar table read in one pass gives exactly what the row-by-row reader gives."""

from __future__ import annotations

import gzip
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jules_contracts import Bar
from jules_market_data import Rejection, RejectReason
from jules_market_data.loaders import load_bar_table
from jules_market_data.loaders._common import RowError, parse_float, parse_time
from jules_market_data.loaders.columnar import read_columns

from .data import NAUTILUS, ns  # type: ignore[import-not-found]

HEADER = "timestamp,open,high,low,close,volume\n"
GOOD = "1,2,0.5,1.5,10"


def _items(path, *, columnar, **options):
    options.setdefault("instrument_id", "BTC-PERP.FTX")
    options.setdefault("interval", "1m")
    return list(load_bar_table(path, columnar=columnar, **options))


def _plain(item):
    if isinstance(item, Rejection):
        return ("rejected", item.location, item.reason, item.detail, item.event_time)
    return ("bar", item.model_dump_json())


def assert_same(path, **options):
    """Both readers give the same bars and rejections, in the same order."""
    reference = [_plain(item) for item in _items(path, columnar=False, **options)]
    assert [_plain(item) for item in _items(path, columnar=True, **options)] == reference
    return reference


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("btc-perp-20211231-20220201_1m.csv", {"assume_utc": True}),
        ("btc-perp-20211231-20220201_1m.csv", {}),  # naive times refused, each with its reason
        ("fxcm/gbpusd-m1-bid-2012.csv", {"price_type": "BID"}),
        ("xcme/6EH4.XCME_1min_bars_20240101_20240131.csv.gz", {"label": "end"}),
    ],
)
def test_the_shared_bar_files_read_the_same_in_one_pass(name, options):
    path = NAUTILUS / name
    with gzip.open(path, "rt") if path.suffix == ".gz" else path.open() as handle:
        header = handle.readline()
    names = [n.strip() for n in header.strip().split(",")]
    time = next(n for n in names if n.lower().startswith("timestamp"))
    numbers = [n for n in names if n != time]
    columns = read_columns(path, names, time, numbers, assume_utc=True, epoch_unit=None)
    assert columns is not None  # the one-pass reader is the one these files take

    reference = assert_same(path, **options)

    assert len(reference) > 29_000


BAD_ROWS = [
    ("2022-01-01 00:00:00+00:00", GOOD),  # good, with an offset
    ("2022-01-01T00:01:00.5Z", GOOD),  # good, T and a fraction
    ("2022-01-01 00:02:00.123456789-00:00", GOOD),  # nine fractional digits
    ("2022-01-01 00:03:00+0000", GOOD),
    ("2022-01-01 00:04:00+02:00", GOOD),  # another offset: read row by row
    ("2022-01-01 00:05:00", GOOD),  # naive
    (" 2022-01-01 00:06:00Z", GOOD),  # spaces around the time
    ("2022-02-30 00:07:00Z", GOOD),  # no such day
    ("1969-12-31 23:59:00Z", GOOD),  # before 1970
    ("2300-01-01 00:00:00Z", GOOD),  # after 2262
    ("1641000000", GOOD),  # epoch seconds
    ("1641000060000", GOOD),  # epoch milliseconds
    ("1641000120.5", GOOD),  # epoch with a fraction
    ("99999999999999999", GOOD),  # epoch microseconds beyond 2262
    ("", GOOD),  # empty time
    ("not a time", GOOD),
    ("2022-01-01 00:10:00Z", "nan,2,0.5,1.5,10"),
    ("2022-01-01 00:11:00Z", "1,inf,0.5,1.5,10"),
    ("2022-01-01 00:12:00Z", "0,2,0.5,1.5,10"),
    ("2022-01-01 00:13:00Z", "-1,2,0.5,1.5,10"),
    ("2022-01-01 00:14:00Z", "1,2,0.5,1.5,-3"),
    ("2022-01-01 00:15:00Z", "1,0.9,0.5,0.8,10"),  # high below open
    ("2022-01-01 00:16:00Z", "1,2,1.2,1.5,10"),  # low above open
    ("2022-01-01 00:17:00Z", "1,2,0.5,abc,10"),
    ("2022-01-01 00:18:00Z", "1,2,0.5,1.5,"),  # empty volume
    ("2022-01-01 00:19:00Z", "1.,+2,.5,1_5,1e999"),  # forms only float() reads
    ("2022-01-01 00:20:00Z", ' 1, 2 ,"0.5",1.5e0,1E+1'),  # spaces, quotes, exponents
    ("2022-01-01 00:21:00Z", GOOD),
    ("2022-01-01 00:21:00Z", GOOD),  # duplicate: the validator's, the loader passes both
    (",,,,,", None),  # a row of empty cells: no row
    ("  ", " ,,,,"),  # blank cells with spaces: no row
    ("2022-01-01 00:22:00Z", GOOD),
]


def _bad_file(tmp_path, rows=BAD_ROWS, header=HEADER):
    lines = [time if rest is None else f"{time},{rest}" for time, rest in rows]
    path = tmp_path / "bad_1m.csv"
    path.write_text(header + "\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("assume_utc", [False, True])
def test_every_bad_row_gets_the_reference_reason_at_its_line(tmp_path, assume_utc):
    path = _bad_file(tmp_path)
    names = HEADER.strip().split(",")
    options = {"assume_utc": assume_utc, "epoch_unit": None}
    assert read_columns(path, names, "timestamp", names[1:], **options) is not None

    reference = assert_same(path, assume_utc=assume_utc)

    reasons = {entry[2] for entry in reference if entry[0] == "rejected"}
    assert {
        RejectReason.BAD_TIMESTAMP,
        RejectReason.NON_FINITE,
        RejectReason.NON_POSITIVE_PRICE,
        RejectReason.NEGATIVE_SIZE,
        RejectReason.INCONSISTENT_OHLC,
        RejectReason.MALFORMED,
    } <= reasons
    assert sum(entry[0] == "bar" for entry in reference) >= 9


@pytest.mark.parametrize("epoch_unit", [None, "ms"])
def test_epoch_units_and_end_labels_read_the_same(tmp_path, epoch_unit):
    assert_same(_bad_file(tmp_path), epoch_unit=epoch_unit, label="end", assume_utc=True)


def test_a_table_without_a_volume_column_reads_the_same(tmp_path):
    path = tmp_path / "novol_1m.csv"
    path.write_text("time,open,high,low,close\n2022-01-01 00:00:00Z,1,2,0.5,1.5\n,,,,\n")
    [bar] = assert_same(path)
    assert '"volume":0.0' in bar[1]


@pytest.mark.parametrize(
    "text",
    [
        "timestamp,open,high,low,close\n2022-01-01 00:00:00Z,1,2,0.5,1.5\n\n",  # blank line
        "timestamp,open,high,low,close\n2022-01-01 00:00:00Z,1,2,0.5\n",  # a short row
        'timestamp,open,high,low,close\n"2022-01-01\n00:00:00Z",1,2,0.5,1.5\n',  # line break
        "timestamp,open,high,low,close\r2022-01-01 00:00:00Z,1,2,0.5,1.5\r",  # old Mac lines
        "timestamp,open,high,low,close,close\n2022-01-01 00:00:00Z,1,2,0.5,1.5,1\n",  # a name twice
    ],
)
def test_a_file_not_one_row_per_line_is_read_row_by_row(tmp_path, text):
    path = tmp_path / "odd_1m.csv"
    path.write_bytes(text.encode())
    names = [n.strip() for n in text.splitlines()[0].split(",")]

    columns = read_columns(path, names, "timestamp", names[1:], assume_utc=True, epoch_unit=None)

    assert columns is None
    assert_same(path)


def test_crlf_and_gzip_files_are_read_in_one_pass(tmp_path):
    text = HEADER + "2022-01-01 00:00:00Z,1,2,0.5,1.5,1\r\n2022-01-01 00:01:00Z,1,2,0.5,1.5,1\r\n"
    path = tmp_path / "crlf_1m.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    names = HEADER.strip().split(",")

    assert read_columns(path, names, "timestamp", names[1:], assume_utc=False, epoch_unit=None)
    assert len(assert_same(path)) == 2


def test_a_window_passes_over_rows_far_outside_and_keeps_the_same_bars_inside():
    path = NAUTILUS / "btc-perp-20211231-20220201_1m.csv"
    window = (ns("2022-01-10 00:00:00"), ns("2022-01-10 10:00:00"))
    whole = [b for b in _items(path, columnar=False, assume_utc=True) if isinstance(b, Bar)]

    windowed = _items(path, columnar=True, assume_utc=True, window=window)

    inside = [b for b in windowed if window[0] <= b.event_time < window[1]]
    assert inside == [b for b in whole if window[0] <= b.event_time < window[1]]
    assert len(inside) == 600
    assert len(windowed) <= 600 + 2 * 60 + 2  # an hour's margin on each side, no more


def _one_pass(tmp_path, column, **options):
    """The cells of one column read in one pass (``None``: left to the row-by-row reader)."""
    path = tmp_path / "cells.csv"
    path.write_text("timestamp,x\n" + "".join(f"{cell},1\n" for cell in column))
    columns = read_columns(path, ["timestamp", "x"], "timestamp", ["timestamp"], **options)
    assert columns is not None
    return columns


DECIMALS = st.decimals(allow_nan=False, allow_infinity=False, places=None).map(str) | st.floats(
    allow_nan=False, allow_infinity=False
).map(repr)


@settings(max_examples=60, deadline=None)
@given(st.lists(DECIMALS, min_size=1, max_size=40))
def test_numbers_read_in_one_pass_equal_float(tmp_path_factory, texts):
    texts = [t.replace(",", "") for t in texts]
    columns = _one_pass(tmp_path_factory.mktemp("n"), texts, assume_utc=True, epoch_unit=None)

    for text, value in zip(texts, columns.numbers["timestamp"], strict=True):
        if value is not None:
            assert value == parse_float(text, "x"), text


TIMES = st.datetimes(timezones=st.none()).map(lambda t: t.isoformat(sep=" ")) | st.integers(
    0, 10**18
).map(str)


@settings(max_examples=60, deadline=None)
@given(st.lists(TIMES, min_size=1, max_size=40), st.sampled_from(["", "Z", "+00:00", "-0000"]))
def test_times_read_in_one_pass_equal_the_reference(tmp_path_factory, texts, zone):
    texts = [t if t.isdigit() else t + zone for t in texts]
    columns = _one_pass(tmp_path_factory.mktemp("t"), texts, assume_utc=False, epoch_unit=None)

    for text, nanos in zip(texts, columns.times, strict=True):
        try:
            expected: int | None = parse_time(text, "timestamp")
        except RowError:
            expected = None
        if nanos is not None:
            assert nanos == expected, text
        elif expected is not None:  # left to the reference: only forms outside the plain ones
            assert not text.isdigit() or Decimal(text) * 10**9 >= 2**63, text
