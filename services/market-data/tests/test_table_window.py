# mypy: allow-untyped-defs, allow-incomplete-defs, allow-untyped-calls
"""A window pushed down into the bar-table loader: rows far outside it are not read."""

from __future__ import annotations

import gzip
import shutil

import pytest
from jules_contracts import Bar
from jules_market_data import RejectReason
from jules_market_data.loaders import load_bar_table
from jules_market_data.loaders.window import MARGIN_NS, rows_outside

from .data import NAUTILUS, ns, split  # type: ignore[import-not-found]

HOUR = 3_600 * 10**9
MINUTE = 60 * 10**9
FTX = NAUTILUS / "btc-perp-20211231-20220201_1m.csv"
WINDOW = (ns("2022-01-10 00:00:00"), ns("2022-01-10 10:00:00"))


def _inside(items, window):
    start, end = window
    return [e for e in items if isinstance(e, Bar) and start <= e.event_time < end]


def _load(path, window=None, **options):
    options.setdefault("assume_utc", True)
    return list(
        load_bar_table(path, instrument_id="BTC-PERP.FTX", interval="1m", window=window, **options)
    )


@pytest.fixture(scope="module")
def whole():
    return _load(FTX)


def test_a_window_gives_the_bars_of_the_whole_file_inside_it_and_reads_little_else(whole):
    windowed = _load(FTX, WINDOW)
    assert _inside(windowed, WINDOW) == _inside(whole, WINDOW)
    assert len(_inside(windowed, WINDOW)) == 600
    # read: the window and an hour on each side (the validator sees the edges), no more
    times = [e.event_time for e in windowed if isinstance(e, Bar)]
    assert min(times) >= WINDOW[0] - MARGIN_NS
    assert max(times) < WINDOW[1] + MARGIN_NS
    assert len(windowed) <= 600 + 2 * 60 + 2
    assert len(whole) == 45_031


def test_open_ended_windows_cut_one_side_only(whole):
    after = (WINDOW[0], None)
    assert _inside(_load(FTX, after), (WINDOW[0], 2**63)) == _inside(whole, (WINDOW[0], 2**63))
    before = (None, WINDOW[1])
    assert _inside(_load(FTX, before), (0, WINDOW[1])) == _inside(whole, (0, WINDOW[1]))


def _with_bad_rows(tmp_path, *, blank_line=False):
    """The FTX file with a malformed row far before the window and one inside it."""
    lines = FTX.read_text().splitlines()
    far, inside = (
        100,
        next(i for i, line in enumerate(lines) if line.startswith("2022-01-10 05:00")),
    )
    lines[far] = lines[far].split(",")[0] + ",oops,1,1,1,1"
    lines[inside] = lines[inside].split(",")[0] + ",1,1,1,bad,1"
    if blank_line:
        lines.insert(50, "")
    path = tmp_path / "bars_1m.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, inside + (1 if blank_line else 0) + 1  # 1-based line number


@pytest.mark.parametrize("blank_line", [False, True])
def test_a_bad_row_inside_is_rejected_at_its_line_and_one_far_outside_is_not_read(
    tmp_path, blank_line
):
    path, line = _with_bad_rows(tmp_path, blank_line=blank_line)
    skip = rows_outside(path, "timestamp", WINDOW, offset_ns=MINUTE)
    assert skip is not None
    # one row per line: line ranges; a blank line: the time texts instead
    assert (skip.lines is None) is blank_line
    events, rejections = split(_load(path, WINDOW))
    assert [(r.reason, r.location) for r in rejections] == [
        (RejectReason.MALFORMED, f"{path.name}:{line}")
    ]
    _, whole_rejections = split(_load(path))
    assert len(whole_rejections) == 2  # without a window both are found
    assert _inside(events, WINDOW) == [
        e for e in _inside(split(_load(path))[0], WINDOW) if isinstance(e, Bar)
    ]


def test_a_gzipped_table_and_epoch_times_are_windowed_too(tmp_path, whole):
    gz = tmp_path / "bars_1m.csv.gz"
    with FTX.open("rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert _inside(_load(gz, WINDOW), WINDOW) == _inside(whole, WINDOW)

    epoch = tmp_path / "epoch_1m.csv"
    rows = FTX.read_text().splitlines()[1:]
    epoch.write_text(
        "timestamp,open,high,low,close,volume\n"
        + "".join(f"{ns(r.split(',')[0]) // 10**6},{r.split(',', 1)[1]}\n" for r in rows)
    )
    windowed = _load(epoch, WINDOW)
    assert len(_inside(windowed, WINDOW)) == 600
    assert len(windowed) <= 600 + 2 * 60 + 2


def test_a_time_column_that_does_not_parse_in_one_pass_reads_every_row(tmp_path):
    path = tmp_path / "mixed_1m.csv"
    path.write_text(
        "timestamp,open,high,low,close\n"
        "2022-01-01 00:00:00,1,1,1,1\n"
        "not a time,1,1,1,1\n"
        "2022-03-01 00:00:00,1,1,1,1\n"
    )
    assert rows_outside(path, "timestamp", WINDOW) is None
    events, rejections = split(_load(path, WINDOW))
    assert len(events) == 2
    assert [r.reason for r in rejections] == [RejectReason.BAD_TIMESTAMP]
