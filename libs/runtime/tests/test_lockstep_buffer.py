"""StepBuffer and the pure helpers of lockstep consumption (no broker)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jules_contracts import Event, Watermark
from jules_contracts.topics import FEATURES, MD_BARS
from jules_runtime.lockstep import (
    END_OF_TIME,
    Replica,
    Stamped,
    StepBuffer,
    StepOutput,
    by_instrument,
    in_step_order,
    make_watermark,
)

from .lockstep_builders import BTC, ETH, SOL, T0, T1, T2, T3, bar

TOPIC = MD_BARS.name


def mark(partition: int, time: int, *, final: bool = False) -> Watermark:
    return make_watermark("replay", MD_BARS, partition, time, final=final)


def two_partitions() -> StepBuffer:
    return StepBuffer({TOPIC: [0, 1]})


def ids(items: Iterable[Stamped]) -> list[str]:
    return [item.event.event_id for item in items]


def test_segments_are_cut_by_each_partitions_watermarks() -> None:
    buffer = two_partitions()
    b1, e1, b2, e2 = bar(BTC, T1), bar(ETH, T1), bar(BTC, T2), bar(ETH, T2)
    for partition, event in [(0, b1), (0, mark(0, T1)), (0, b2), (1, e1), (1, mark(1, T1))]:
        assert buffer.add(TOPIC, partition, event)
    buffer.add(TOPIC, 1, e2)  # not cut yet: no watermark after it on partition 1
    buffer.add(TOPIC, 0, mark(0, T2))

    assert ids(buffer.take(TOPIC, T1)) == [b1.event_id, e1.event_id]
    assert ids(buffer.take(TOPIC, T2)) == [b2.event_id]  # e2 waits for partition 1's watermark
    buffer.add(TOPIC, 1, mark(1, T2))
    assert ids(buffer.take(TOPIC, T2)) == [e2.event_id]
    assert buffer.take(TOPIC, END_OF_TIME) == []


def test_frontier_is_none_until_every_partition_has_a_watermark_then_the_lowest() -> None:
    buffer = two_partitions()
    assert buffer.frontier(TOPIC) is None
    buffer.add(TOPIC, 0, mark(0, T1))
    buffer.add(TOPIC, 0, mark(0, T2))
    assert buffer.frontier(TOPIC) is None
    assert not buffer.reached(TOPIC, T0)

    buffer.add(TOPIC, 1, mark(1, T1))
    assert buffer.frontier(TOPIC) == T1
    assert buffer.reached(TOPIC, T0)
    assert buffer.reached(TOPIC, T1)
    assert not buffer.reached(TOPIC, T2)

    buffer.add(TOPIC, 1, mark(1, T3))
    assert buffer.frontier(TOPIC) == T2
    assert buffer.reached(TOPIC, T2)
    assert not buffer.reached(TOPIC, T3)


def test_topics_are_independent() -> None:
    buffer = StepBuffer({TOPIC: [0], FEATURES.name: [0, 1]})
    buffer.add(TOPIC, 0, mark(0, T2))
    assert buffer.reached(TOPIC, T2)
    assert buffer.frontier(FEATURES.name) is None
    assert buffer.next_watermark(FEATURES.name) is None


def test_next_watermark_is_the_earliest_segment_not_taken() -> None:
    buffer = two_partitions()
    assert buffer.next_watermark(TOPIC) is None
    buffer.add(TOPIC, 0, mark(0, T2))
    buffer.add(TOPIC, 1, mark(1, T1))
    buffer.add(TOPIC, 1, mark(1, T3))
    assert buffer.next_watermark(TOPIC) == T1

    buffer.take(TOPIC, T1)
    assert buffer.next_watermark(TOPIC) == T2
    buffer.take(TOPIC, T2)
    assert buffer.next_watermark(TOPIC) == T3
    buffer.take(TOPIC, T3)
    assert buffer.next_watermark(TOPIC) is None


def test_next_watermark_ignores_final_segments() -> None:
    buffer = two_partitions()
    buffer.add(TOPIC, 0, mark(0, T1, final=True))
    buffer.add(TOPIC, 1, mark(1, T1))
    buffer.add(TOPIC, 1, mark(1, T1, final=True))
    assert buffer.next_watermark(TOPIC) == T1  # partition 1's ordinary segment
    buffer.take(TOPIC, T1)
    assert buffer.next_watermark(TOPIC) is None
    assert buffer.is_final(TOPIC)


def test_take_leaves_later_segments_and_comes_partition_by_partition() -> None:
    buffer = StepBuffer({TOPIC: [0, 1, 2]})
    early = [bar(SOL, T1), bar(BTC, T1), bar(ETH, T1)]
    late = [bar(SOL, T3), bar(BTC, T3)]
    for partition in (2, 0, 1):  # arrival order across partitions does not matter
        buffer.add(TOPIC, partition, early[partition])
        buffer.add(TOPIC, partition, mark(partition, T1))
    for partition in (0, 1):
        buffer.add(TOPIC, partition, late[partition])
        buffer.add(TOPIC, partition, mark(partition, T3))

    taken = buffer.take(TOPIC, T2)

    assert ids(taken) == [e.event_id for e in early]
    assert ids(buffer.take(TOPIC, T3)) == [e.event_id for e in late]


def test_a_final_segment_is_taken_only_with_final() -> None:
    buffer = two_partitions()
    last = bar(BTC, T2)
    buffer.add(TOPIC, 0, mark(0, T1))
    buffer.add(TOPIC, 0, last)
    buffer.add(TOPIC, 0, mark(0, T2, final=True))
    buffer.add(TOPIC, 1, mark(1, T2, final=True))

    assert buffer.is_final(TOPIC)
    assert buffer.take(TOPIC, END_OF_TIME) == []
    assert ids(buffer.take(TOPIC, END_OF_TIME, final=True)) == [last.event_id]
    assert buffer.take(TOPIC, END_OF_TIME, final=True) == []


def test_is_final_needs_every_partition() -> None:
    buffer = two_partitions()
    buffer.add(TOPIC, 0, mark(0, T1, final=True))
    assert not buffer.is_final(TOPIC)
    buffer.add(TOPIC, 1, mark(1, T1, final=True))
    assert buffer.is_final(TOPIC)


def test_duplicates_are_dropped_by_event_id_and_counted() -> None:
    buffer = two_partitions()
    first = bar(BTC, T1)
    assert buffer.add(TOPIC, 0, first, sequence=0)
    assert not buffer.add(TOPIC, 0, first, sequence=0)
    assert not buffer.add(TOPIC, 1, first)  # seen is by id, whatever the partition
    assert buffer.duplicates == 2
    buffer.add(TOPIC, 0, mark(0, T1))
    buffer.add(TOPIC, 1, mark(1, T1))

    taken = buffer.take(TOPIC, T1)

    assert ids(taken) == [first.event_id]
    assert taken[0].sequence == 0


def test_a_repeated_watermark_is_ignored() -> None:
    buffer = StepBuffer({TOPIC: [0]})
    e1, e2, e3 = bar(BTC, T1), bar(BTC, T2), bar(BTC, T3)
    assert buffer.add(TOPIC, 0, e1)
    assert buffer.add(TOPIC, 0, mark(0, T2))
    assert buffer.add(TOPIC, 0, e2)
    assert not buffer.add(TOPIC, 0, mark(0, T2))  # the same again
    assert not buffer.add(TOPIC, 0, mark(0, T1))  # behind the frontier
    assert buffer.add(TOPIC, 0, e3)
    assert buffer.add(TOPIC, 0, mark(0, T3))

    assert buffer.frontier(TOPIC) == T3
    assert ids(buffer.take(TOPIC, T2)) == [e1.event_id]
    assert ids(buffer.take(TOPIC, T3)) == [e2.event_id, e3.event_id]


def test_a_final_watermark_at_the_frontier_is_taken() -> None:
    buffer = StepBuffer({TOPIC: [0]})
    buffer.add(TOPIC, 0, mark(0, T2))
    assert buffer.add(TOPIC, 0, mark(0, T2, final=True))
    assert buffer.is_final(TOPIC)
    assert buffer.frontier(TOPIC) == T2


def test_after_a_final_watermark_nothing_more_counts_on_that_partition() -> None:
    buffer = two_partitions()
    buffer.add(TOPIC, 0, mark(0, T1, final=True))

    assert not buffer.add(TOPIC, 0, mark(0, T3))
    assert not buffer.add(TOPIC, 0, mark(0, T3, final=True))
    buffer.add(TOPIC, 0, bar(BTC, T3))  # never handed out: no watermark will cut it
    buffer.add(TOPIC, 1, mark(1, T3, final=True))

    assert buffer.frontier(TOPIC) == T1
    assert buffer.next_watermark(TOPIC) is None
    assert buffer.take(TOPIC, END_OF_TIME, final=True) == []


# --- two producers of the same events (replicas, or a producer that restarted) ---------------

Message = tuple[int, Event, int | None]  # partition, event, sequence


def producer_run() -> list[Message]:
    """What one producer writes: per step, its events (with sequence), then every watermark."""
    messages: list[Message] = []
    for time in (T1, T2, T3):
        events = [bar(BTC, time), bar(ETH, time), bar(SOL, time)]
        for sequence, event in enumerate(events):
            messages.append((sequence % 2, event, sequence))
        messages.extend((p, mark(p, time), None) for p in (0, 1))
    messages.extend((p, mark(p, T3, final=True), None) for p in (0, 1))
    return messages


def interleave(copies: Sequence[Sequence[Message]], choices: Iterable[int]) -> list[Message]:
    """Merge copies keeping each one's order; ``choices`` picks the copy to read from next."""
    positions = [0] * len(copies)
    merged: list[Message] = []
    choice = iter(choices)
    while any(pos < len(copy) for pos, copy in zip(positions, copies, strict=True)):
        live = [i for i, copy in enumerate(copies) if positions[i] < len(copy)]
        pick = live[next(choice, 0) % len(live)]
        merged.append(copies[pick][positions[pick]])
        positions[pick] += 1
    return merged


def steps_of(messages: Iterable[Message]) -> tuple[list[list[tuple[str, int | None]]], int]:
    """Feed a buffer; return each step's (id, sequence) in take order, and the duplicates."""
    buffer = two_partitions()
    for partition, event, sequence in messages:
        buffer.add(TOPIC, partition, event, sequence)
    steps = []
    for time in (T1, T2, T3):
        assert buffer.reached(TOPIC, time)
        steps.append([(s.event.event_id, s.sequence) for s in buffer.take(TOPIC, time)])
    assert buffer.is_final(TOPIC)
    assert buffer.take(TOPIC, END_OF_TIME, final=True) == []
    return steps, buffer.duplicates


ONE_COPY = producer_run()
EXPECTED_STEPS, _ = steps_of(ONE_COPY)
EVENT_COUNT = sum(len(step) for step in EXPECTED_STEPS)


def test_one_copy_gives_every_event_once_in_its_step() -> None:
    assert [len(step) for step in EXPECTED_STEPS] == [3, 3, 3]
    assert EVENT_COUNT == 9


@pytest.mark.parametrize(
    "choices",
    [
        [0] * 100,  # one copy after the other
        [1] * 100,
        [0, 1] * 50,  # message by message
        [1, 1, 1, 0, 0, 0, 0, 1] * 20,
    ],
)
def test_two_interleaved_copies_give_the_segments_of_one(choices: list[int]) -> None:
    steps, duplicates = steps_of(interleave([ONE_COPY, ONE_COPY], choices))
    assert steps == EXPECTED_STEPS
    assert duplicates == EVENT_COUNT


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), copies=st.integers(2, 3))
def test_any_interleaving_of_copies_gives_the_segments_of_one(seed: int, copies: int) -> None:
    rng = random.Random(seed)
    choices = [rng.randrange(copies) for _ in range(len(ONE_COPY) * copies)]
    steps, duplicates = steps_of(interleave([ONE_COPY] * copies, choices))
    assert steps == EXPECTED_STEPS
    assert duplicates == EVENT_COUNT * (copies - 1)


def test_a_restarted_producer_repeating_its_run_changes_nothing() -> None:
    half = len(ONE_COPY) // 2
    steps, duplicates = steps_of([*ONE_COPY[:half], *ONE_COPY])
    assert steps == EXPECTED_STEPS
    assert duplicates == sum(1 for _, e, _ in ONE_COPY[:half] if not isinstance(e, Watermark))


# --- ordering helpers ------------------------------------------------------------------------


def stamped(event: Event, sequence: int | None, arrival: int) -> Stamped:
    return Stamped(event, sequence, arrival)


def test_in_step_order_sorts_by_sequence_then_arrival() -> None:
    a, b, c, d = bar(BTC, T1), bar(ETH, T1), bar(SOL, T1), bar(BTC, T1, key="d")
    items = [stamped(c, 2, 1), stamped(a, 0, 4), stamped(d, 1, 3), stamped(b, 1, 2)]
    assert in_step_order(items) == [a, b, d, c]


def test_in_step_order_without_sequences_keeps_arrival_order() -> None:
    a, b = bar(BTC, T1), bar(ETH, T1)
    assert in_step_order([stamped(b, None, 7), stamped(a, None, 3)]) == [a, b]


def test_by_instrument_groups_by_instrument_keeping_arrival_order_per_instrument() -> None:
    eth_1, eth_2 = bar(ETH, T1), bar(ETH, T2)
    btc_1, btc_2 = bar(BTC, T1), bar(BTC, T2)
    items = [
        stamped(eth_1, 3, 1),
        stamped(btc_2, 0, 2),
        stamped(eth_2, 0, 3),
        stamped(btc_1, 1, 4),
    ]
    assert by_instrument(items) == [btc_2, btc_1, eth_1, eth_2]


def test_by_instrument_puts_events_without_an_instrument_first() -> None:
    btc = bar(BTC, T1)
    other = mark(0, T1)
    assert by_instrument([stamped(btc, None, 1), stamped(other, None, 2)]) == [other, btc]


# --- watermarks, replicas, step outputs -------------------------------------------------------


def test_make_watermark_is_deterministic_and_names_its_partition_and_stream() -> None:
    first = make_watermark("risk", FEATURES, 3, T2, final=False)

    assert first == make_watermark("risk", FEATURES, 3, T2, final=False)
    assert first.stream == FEATURES.name
    assert first.partition == 3
    assert first.watermark == T2
    assert first.event_time == T2
    assert first.service == "risk"
    assert first.source == "risk"
    assert first.final is False
    others = {
        make_watermark("risk", FEATURES, 2, T2, final=False).event_id,
        make_watermark("risk", FEATURES, 3, T1, final=False).event_id,
        make_watermark("risk", FEATURES, 3, T2, final=True).event_id,
        make_watermark("features", FEATURES, 3, T2, final=False).event_id,
        make_watermark("risk", MD_BARS, 3, T2, final=False).event_id,
    }
    assert first.event_id not in others
    assert len(others) == 5
    assert make_watermark("risk", FEATURES, 3, T2, final=True).final is True


@pytest.mark.parametrize(
    ("index", "count", "owned"),
    [(0, 1, [0, 1, 2, 3, 4, 5]), (0, 2, [0, 2, 4]), (1, 2, [1, 3, 5]), (2, 3, [2, 5])],
)
def test_a_replica_owns_the_partitions_of_its_index(
    index: int, count: int, owned: list[int]
) -> None:
    replica = Replica(index, count)
    assert [p for p in range(6) if replica.owns(p)] == owned


def test_the_default_replica_owns_every_partition() -> None:
    assert all(Replica().owns(p) for p in range(8))


@pytest.mark.parametrize(("index", "count"), [(2, 2), (-1, 2), (0, 0), (5, 3)])
def test_a_replica_that_does_not_exist_is_refused(index: int, count: int) -> None:
    with pytest.raises(ValueError, match=f"replica {index} of {count} does not exist"):
        Replica(index, count)


def test_a_step_output_is_not_final_unless_said() -> None:
    assert StepOutput([], T1).final is False
    assert StepOutput([], T1, final=True).final is True


def test_an_event_after_its_partitions_final_watermark_is_dropped_and_counted() -> None:
    buffer = two_partitions()
    buffer.add(TOPIC, 0, mark(0, T1, final=True))
    late = bar("BTC.X", T2)

    assert buffer.add(TOPIC, 0, late) is False
    assert buffer.late == 1
    assert buffer.duplicates == 0
    assert buffer.add(TOPIC, 1, late) is True  # the other partition is still open
