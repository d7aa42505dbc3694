# mypy: allow-untyped-defs, allow-incomplete-defs, allow-untyped-calls
"""GapDetector: gaps between consecutive events and stale streams, synthetic and real."""

from __future__ import annotations

import csv
from datetime import datetime
from itertools import pairwise

import pytest
from jules_contracts import Bar, Trade, derive_event_id
from jules_market_data import FindingKind, GapDetector, GapDetectorConfig, merge_streams
from pydantic import ValidationError

from .data import NAUTILUS, OANDA_TICKS, loaded, ns  # type: ignore[import-not-found]

SECOND = 1_000_000_000
MINUTE = 60 * SECOND


def trade(time, instrument="BTCUSD.TEST"):
    return Trade(
        event_id=derive_event_id("t", instrument, time),
        source="test",
        event_time=time,
        instrument_id=instrument,
        price=1.0,
        size=1.0,
    )


def bar(start, instrument="BTCUSD.TEST"):
    return Bar(
        event_id=derive_event_id("b", instrument, start),
        source="test",
        event_time=start + MINUTE,
        start_time=start,
        instrument_id=instrument,
        interval="1m",
        open=1.0,
        high=1.0,
        low=1.0,
        close=1.0,
    )


def test_a_silence_longer_than_the_threshold_is_one_gap():
    detector = GapDetector(GapDetectorConfig(max_gap="30s"))
    times = [0, 10, 40, 71, 80]  # seconds: 40 -> 71 is the only silence over 30 s

    findings = list(detector.scan(trade(t * SECOND) for t in times))

    [gap] = findings
    assert gap.kind is FindingKind.GAP
    assert (gap.start_time, gap.end_time, gap.duration_ns) == (
        40 * SECOND,
        71 * SECOND,
        31 * SECOND,
    )
    assert (gap.instrument_id, gap.event_type) == ("BTCUSD.TEST", "md.trade")
    assert gap.missing_intervals is None


def test_bar_gaps_count_missing_bars():
    detector = GapDetector(GapDetectorConfig(max_gap_intervals=2, interval="1m"))
    starts = [0, 1, 2, 4, 8, 9]  # minute 3 missing (not reported), 5..7 missing (reported)

    [gap] = detector.scan(bar(m * MINUTE) for m in starts)

    assert gap.missing_intervals == 3
    assert (gap.start_time, gap.end_time) == (5 * MINUTE, 9 * MINUTE)


def test_gaps_are_tracked_per_instrument():
    detector = GapDetector(GapDetectorConfig(max_gap="1m"))
    stream = [
        trade(0, "A.X"),
        trade(30 * SECOND, "B.X"),
        trade(50 * SECOND, "A.X"),
        trade(100 * SECOND, "B.X"),
    ]

    [gap] = detector.scan(stream)

    assert gap.instrument_id == "B.X"


def test_a_stale_stream_is_reported_once_per_silence():
    detector = GapDetector(GapDetectorConfig(max_gap="1m"))
    detector.on_event(trade(0, "A.X"))
    detector.on_event(trade(0, "B.X"))
    detector.on_event(trade(90 * SECOND, "B.X"))

    first = detector.check_stale(100 * SECOND)
    again = detector.check_stale(200 * SECOND)
    detector.on_event(trade(210 * SECOND, "A.X"))
    later = detector.check_stale(300 * SECOND)

    assert [(f.kind, f.instrument_id, f.start_time) for f in first] == [
        (FindingKind.STALE, "A.X", 0)
    ]
    assert [f.instrument_id for f in again] == ["B.X"]
    assert [(f.instrument_id, f.start_time) for f in later] == [("A.X", 210 * SECOND)]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "max_gap"),
        ({"max_gap": "5m", "max_gap_intervals": 3, "interval": "1m"}, "max_gap"),
        ({"max_gap_intervals": 3}, "interval"),
        ({"max_gap": "five minutes"}, "max_gap"),
        ({"max_gap_intervals": 0, "interval": "1m"}, "max_gap_intervals"),
    ],
)
def test_bad_gap_config_fails_naming_the_field(kwargs, field):
    with pytest.raises(ValidationError, match=field):
        GapDetectorConfig(**kwargs)


def test_fxcm_gbpusd_minute_bars_have_exactly_the_four_weekend_gaps():
    path = NAUTILUS / "fxcm" / "gbpusd-m1-bid-2012.csv"
    with path.open() as handle:
        stamps = [datetime.fromisoformat(row["timestamp"]) for row in csv.DictReader(handle)]
    expected = [
        (int(a.timestamp()) * SECOND + MINUTE, int(b.timestamp()) * SECOND + MINUTE)
        for a, b in pairwise(stamps)
        if (b - a).total_seconds() > 3600
    ]
    detector = GapDetector(GapDetectorConfig(max_gap_intervals=60, interval="1m"))

    findings = list(detector.scan(e for e in loaded(path) if isinstance(e, Bar)))

    assert [(f.start_time, f.end_time) for f in findings] == expected
    assert len(findings) == 4
    # Friday 2012-02-03: last bar 21:59-22:00, next bar Sunday 22:01-22:02.
    assert findings[0].start_time == ns("2012-02-03 22:00")
    assert findings[0].end_time == ns("2012-02-05 22:02")
    assert findings[0].missing_intervals == 48 * 60 + 1


def test_oanda_ticks_show_the_weekend_between_friday_and_sunday():
    friday, sunday = OANDA_TICKS / "20140502_quote.zip", OANDA_TICKS / "20140504_quote.zip"
    detector = GapDetector(GapDetectorConfig(max_gap="1h"))

    findings = list(detector.scan(merge_streams(loaded(friday), loaded(sunday))))

    [weekend] = findings
    assert weekend.start_time == ns("2014-05-02 20:59:58.557")
    assert weekend.end_time == ns("2014-05-04 21:00:00.462")
    assert weekend.event_type == "md.quote"
