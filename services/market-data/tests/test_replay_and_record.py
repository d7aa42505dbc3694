# mypy: allow-untyped-defs, allow-incomplete-defs, allow-untyped-calls
"""Replaying files onto the md.* topics (in-memory bus, fake wall clock), recording to Parquet,
the service's settings and the command's argument checks."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow.parquet as pq
import pytest
from jules_contracts import Bar, BookDelta, BookSnapshot, Event, FeatureVector, Trade, decode_event
from jules_contracts.examples import example_for
from jules_market_data import Rejection, RejectReason, load
from jules_market_data.cli import app
from jules_market_data.config import MarketDataSettings, ReplaySource
from jules_market_data.record import flatten, write_parquet
from jules_market_data.replay import Pacer, ReplayReport, replay, replay_stream
from jules_runtime.bus import InMemoryBus
from pydantic import ValidationError
from typer.testing import CliRunner

from .data import BITSTAMP, COINBASE  # type: ignore[import-not-found]

ETH_BARS = COINBASE / "minute" / "ethusd" / "20180405_trade.zip"
MINUTE = 60_000_000_000


class FakeClock:
    """A wall clock that only moves when slept on (or told to)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def bars_at(*minutes: int) -> list[Bar]:
    base = example_for(Bar)
    return [
        base.model_copy(
            update={
                "event_id": f"00000000-0000-8000-8000-{index:012d}",
                "event_time": base.event_time + minute * MINUTE,
                "start_time": base.start_time + minute * MINUTE,
            }
        )
        for index, minute in enumerate(minutes)
    ]


def decoded(bus: InMemoryBus, topic: str) -> list[Event]:
    return [decode_event(record.value) for record in bus.records(topic)]


async def test_replay_publishes_every_accepted_event_in_order_and_counts_rejections():
    bus = InMemoryBus("market-data", scope="bt-run")
    sources = [ReplaySource(path=ETH_BARS), ReplaySource(path=BITSTAMP)]

    report = await replay(bus, replay_stream(sources), batch_size=1000)

    bars = [e for e in load(ETH_BARS) if isinstance(e, Bar)]
    trades = decoded(bus, "bt-run.md.trades.v1")
    assert decoded(bus, "bt-run.md.bars.v1") == bars  # same ids, same order
    assert len(trades) == 9998
    assert all(isinstance(t, Trade) and t.instrument_id == "BTCUSD.BITSTAMP" for t in trades)
    assert dict(report.published) == {"md.bars.v1": 1440, "md.trades.v1": 9998}
    assert dict(report.rejected) == {"ZERO_SIZE": 1}  # never silently dropped
    assert report.examples[0].startswith("bitstampUSD.csv:8524: ZERO_SIZE")
    assert report.first_event_time == trades[0].event_time
    assert report.last_event_time == bars[-1].event_time


async def test_full_speed_publishes_in_acknowledged_batches():
    bus = InMemoryBus("market-data")
    batches: list[int] = []
    clock = FakeClock()

    await replay(
        bus,
        bars_at(*range(7)),
        batch_size=3,
        clock=clock,
        sleep=clock.sleep,
        on_published=lambda events: batches.append(len(events)),
    )

    assert batches == [3, 3, 1]
    assert clock.sleeps == []


async def test_paced_replay_publishes_each_event_time_when_it_is_due():
    bus = InMemoryBus("market-data")
    clock = FakeClock()
    published: list[tuple[float, int]] = []

    def note(events: Sequence[Event]) -> None:
        published.append((clock.now, len(events)))

    report = await replay(
        bus,
        bars_at(0, 1, 1, 3, 3, 3),
        speed=60,  # a minute of event time per second
        clock=clock,
        sleep=clock.sleep,
        on_published=note,
    )

    assert published == [(100.0, 1), (101.0, 2), (103.0, 3)]  # one event time per batch
    assert clock.sleeps == [1.0, 2.0]
    assert report.wall_seconds == 3.0


async def test_a_pacer_that_fell_behind_does_not_sleep():
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)
    await pacer.wait(0)
    clock.now += 5.0  # publishing took longer than the 1 s the data allowed
    await pacer.wait(10_000_000_000)
    await pacer.wait(60_000_000_000)  # due at 106 s
    assert clock.sleeps == [1.0]
    with pytest.raises(ValueError, match="speed must be positive"):
        Pacer(0)


async def test_rejected_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        await replay(InMemoryBus(), [], batch_size=0)


def test_report_lines_name_topics_span_and_reasons():
    report = ReplayReport()
    report.count_published(bars_at(0, 1))
    report.wall_seconds = 1.5
    assert report.lines() == [
        "published 2 event(s) in 1.50 s: md.bars.v1 2",
        "event time 2024-08-08T13:31:00.000000000Z .. 2024-08-08T13:32:00.000000000Z",
        "rejected 0 row(s)",
    ]
    for index in range(12):
        report.count_rejected(
            Rejection(
                source="x", location=f"f.csv:{index}", reason=RejectReason.MALFORMED, detail="?"
            )
        )
    assert report.lines()[2:4] == ["rejected 12 row(s): MALFORMED 12", "  f.csv:0: MALFORMED: ?"]
    assert report.lines()[-1] == "  ... and 2 more"


def test_flatten_makes_nested_objects_columns_and_keeps_lists():
    vector = example_for(FeatureVector)
    flat = flatten(vector.model_dump(mode="json"))
    assert {f"features.{name}" for name in vector.features} <= set(flat)
    assert "features" not in flat
    book = flatten(example_for(BookSnapshot).model_dump(mode="json"))
    assert isinstance(book["bids"], list)


def test_parquet_has_one_row_per_event_and_the_union_of_their_fields(tmp_path):
    events = [example_for(BookSnapshot), example_for(BookDelta)]
    output = tmp_path / "book.parquet"

    assert write_parquet(events, output, topic="bt-x.md.book.v1") == 2

    table = pq.read_table(output)
    rows = table.to_pylist()
    assert [row["event_type"] for row in rows] == ["md.book_snapshot", "md.book_delta"]
    assert table.column("event_time").to_pylist() == [e.event_time for e in events]
    assert table.schema.metadata == {b"jules.topic": b"bt-x.md.book.v1"}
    assert not list(tmp_path.glob("*.partial"))


def test_settings_read_files_as_paths_or_objects(tmp_path):
    settings = MarketDataSettings(
        files=[str(ETH_BARS), {"path": str(BITSTAMP), "instrument_id": "BTCUSD.X"}],  # type: ignore[arg-type]
        validator={"dedup_window": "5", "book": {"max_buffered_deltas": "7"}},  # type: ignore[arg-type]
    )
    assert settings.files == (
        ReplaySource(path=ETH_BARS),
        ReplaySource(path=BITSTAMP, instrument_id="BTCUSD.X"),
    )
    assert settings.validator.dedup_window == 5  # the environment gives text
    assert settings.validator.book.max_buffered_deltas == 7
    assert settings.speed is None
    assert settings.http_port == 8101

    unknown = tmp_path / "prices.csv"
    unknown.write_text("timestamp,open,high,low,close\n")
    with pytest.raises(ValidationError) as caught:
        MarketDataSettings(files=[str(tmp_path / "missing.zip"), str(unknown)], speed=0)  # type: ignore[arg-type]
    text = str(caught.value)
    assert "file not found" in text
    assert "cannot tell the instrument" in text
    assert "speed" in text


runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", str(ETH_BARS), "--speed", "10", "--full-speed"], "not both"),
        (["replay", str(ETH_BARS), "--speed", "0"], "must be greater than 0"),
        (
            [
                "replay",
                str(ETH_BARS),
                str(BITSTAMP),
                "--instrument-id",
                "A.B",
                "--instrument-id",
                "C.D",
                "--instrument-id",
                "E.F",
            ],
            "one per file (2), not 3",
        ),
        (["replay", str(ETH_BARS), "--scope", "Not A Scope"], "JULES_MARKET_DATA__RUN_SCOPE"),
        (["record", "--topic", "md.nope.v1", "--output", "x.parquet"], "unknown topic"),
    ],
)
def test_unusable_arguments_exit_2_before_connecting(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
