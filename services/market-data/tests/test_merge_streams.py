# mypy: allow-untyped-defs, allow-incomplete-defs, allow-untyped-calls
"""merge_streams: event-time order, deterministic ties, laziness."""

from __future__ import annotations

from itertools import count

from hypothesis import given, settings
from hypothesis import strategies as st
from jules_contracts import Trade, derive_event_id
from jules_market_data import Rejection, RejectReason, merge_streams

INSTRUMENTS = ("AAA.X", "BBB.X", "CCC.X")


def trade(time, instrument, tag):
    return Trade(
        event_id=derive_event_id("t", tag),
        source="test",
        event_time=time,
        instrument_id=instrument,
        price=1.0,
        size=1.0,
    )


streams_strategy = st.lists(
    st.lists(st.tuples(st.integers(0, 20), st.sampled_from(INSTRUMENTS)), max_size=15),
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(streams_strategy)
def test_merged_output_is_every_item_in_time_instrument_stream_position_order(raw):
    streams = []
    for index, rows in enumerate(raw):
        times = sorted(time for time, _ in rows)
        streams.append(
            [
                trade(t, inst, f"{index}/{pos}")
                for pos, (t, (_, inst)) in enumerate(zip(times, rows, strict=True))
            ]
        )
    expected = sorted(
        (
            (event.event_time, event.instrument_id, index, position, event.event_id)
            for index, stream in enumerate(streams)
            for position, event in enumerate(stream)
        ),
    )

    merged = list(merge_streams(*streams))

    assert [event.event_id for event in merged] == [key[-1] for key in expected]


def test_ties_go_to_the_instrument_id_then_the_stream_order():
    first = [trade(5, "BBB.X", "b0"), trade(5, "AAA.X", "a-late")]
    second = [trade(5, "AAA.X", "a0")]

    merged = [e.event_id for e in merge_streams(first, second)]

    # Sorted by (time, instrument, stream, position): (5, AAA, 0, 1), (5, AAA, 1, 0),
    # (5, BBB, 0, 0): equal times are ordered by instrument even within one stream.
    assert merged == [
        derive_event_id("t", "a-late"),
        derive_event_id("t", "a0"),
        derive_event_id("t", "b0"),
    ]


def test_rejections_without_a_time_stay_after_the_item_before_them():
    rejection = Rejection("test", "f.csv:2", RejectReason.MALFORMED, "bad")
    first = [trade(10, "AAA.X", "x"), rejection, trade(30, "AAA.X", "y")]
    second = [trade(20, "AAA.X", "z")]

    merged = list(merge_streams(first, second))

    assert merged.index(rejection) == 1
    assert [getattr(item, "event_time", None) for item in merged] == [10, None, 20, 30]


def test_merging_is_lazy():
    produced = count()

    def endless(instrument):
        for time in count():
            next(produced)
            yield trade(time, instrument, f"{instrument}{time}")

    merged = merge_streams(endless("AAA.X"), endless("BBB.X"))
    head = [next(merged) for _ in range(4)]

    assert [(e.event_time, e.instrument_id) for e in head] == [
        (0, "AAA.X"),
        (0, "BBB.X"),
        (1, "AAA.X"),
        (1, "BBB.X"),
    ]
    # Each stream is read at most one time step ahead: 4 items each so far.
    assert next(produced) == 8
