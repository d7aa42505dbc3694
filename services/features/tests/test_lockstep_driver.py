"""FeaturesDriver: one vector per bar, step by step, over a StepBuffer fed by hand."""

from __future__ import annotations

from collections.abc import Sequence

from jules_contracts import Bar, FeatureVector, encode_event
from jules_contracts.topics import MD_BARS
from jules_features.engine import FeatureEngine, FeatureSchema
from jules_features.lockstep import FeaturesDriver
from jules_runtime.lockstep import StepBuffer, make_watermark

from .market_data import MINUTE_NS, make_bar

T0 = 1_700_000_000_000_000_000
INSTRUMENTS = ["BTCUSD.COINBASE", "ETHUSD.COINBASE", "LTCUSD.COINBASE"]
SCHEMA = FeatureSchema.from_names(["sma_2", "sma_3", "logret_1"])


def partition_of(bar: Bar, partitions: int = 2) -> int:
    return INSTRUMENTS.index(bar.instrument_id) % partitions


def bars_at(step: int) -> list[Bar]:
    """The bars of every instrument closing at step ``step``, in instrument order."""
    return [
        make_bar(
            instrument,
            T0 + step * MINUTE_NS,
            (100.0 + k + step, 102.0 + k + step, 99.0 + k, 101.0 + k + step % 3, 5.0),
        )
        for k, instrument in enumerate(INSTRUMENTS)
    ]


def replay(
    buffer: StepBuffer, bars: Sequence[Bar], owned: Sequence[int] = (0, 1), *, final: bool = False
) -> None:
    """The replay's step: the bars (last instrument first), then a watermark per partition."""
    time = bars[0].event_time
    for sequence, bar in reversed(list(enumerate(bars))):
        if partition_of(bar) in owned:
            buffer.add(MD_BARS.name, partition_of(bar), bar, sequence)
    for p in owned:
        buffer.add(MD_BARS.name, p, make_watermark("replay", MD_BARS, p, time, final=False))
        if final:
            buffer.add(MD_BARS.name, p, make_watermark("replay", MD_BARS, p, time, final=True))


def new_driver(owned: Sequence[int] = (0, 1)) -> tuple[StepBuffer, FeaturesDriver]:
    return StepBuffer({MD_BARS.name: owned}), FeaturesDriver(FeatureEngine(SCHEMA))


def test_each_step_gives_one_vector_per_bar_in_instrument_order() -> None:
    buffer, driver = new_driver()
    steps = [bars_at(i) for i in range(4)]
    for bars in steps:
        replay(buffer, bars)

    outputs = driver.advance(buffer)

    assert [o.time for o in outputs] == [bars[0].event_time for bars in steps]
    for output, bars in zip(outputs, steps, strict=True):
        assert not output.final
        vectors = output.events
        assert all(isinstance(v, FeatureVector) for v in vectors)
        assert [v.causation_id for v in vectors] == [b.event_id for b in bars]
        assert [v.event_time for v in vectors] == [output.time] * len(INSTRUMENTS)


def test_the_vectors_equal_the_engine_fed_bar_by_bar() -> None:
    buffer, driver = new_driver()
    steps = [bars_at(i) for i in range(5)]
    for bars in steps:
        replay(buffer, bars)
    produced = [encode_event(v) for o in driver.advance(buffer) for v in o.events]

    engine = FeatureEngine(SCHEMA)
    expected = [encode_event(engine.on_bar(b)) for bars in steps for b in bars]
    assert produced == expected
    last = FeatureVector.model_validate_json(produced[-1])
    assert all(value is not None for value in last.features.values())


def test_a_step_waits_for_the_watermark_of_every_partition() -> None:
    buffer, driver = new_driver()
    bars = bars_at(0)
    for bar in bars:
        buffer.add(MD_BARS.name, partition_of(bar), bar)
    buffer.add(
        MD_BARS.name, 0, make_watermark("replay", MD_BARS, 0, bars[0].event_time, final=False)
    )
    assert driver.advance(buffer) == []

    buffer.add(
        MD_BARS.name, 1, make_watermark("replay", MD_BARS, 1, bars[0].event_time, final=False)
    )
    [output] = driver.advance(buffer)
    assert len(output.events) == len(INSTRUMENTS)


def test_the_last_step_is_an_empty_final_one_after_the_replays_end() -> None:
    buffer, driver = new_driver()
    replay(buffer, bars_at(0))
    replay(buffer, bars_at(1), owned=[0], final=True)  # partition 1 has not ended yet
    assert [len(o.events) for o in driver.advance(buffer)] == [3]
    assert not driver.finished

    replay(buffer, bars_at(1), owned=[1], final=True)
    outputs = driver.advance(buffer)

    assert [(len(o.events), o.final) for o in outputs] == [(3, False), (0, True)]
    assert outputs[-1].time == bars_at(1)[0].event_time
    assert driver.finished
    assert driver.advance(buffer) == []


def test_a_replica_computes_the_instruments_of_its_partitions() -> None:
    buffer, driver = new_driver(owned=[1])
    for step in range(2):
        replay(buffer, bars_at(step), owned=[1], final=step == 1)

    outputs = driver.advance(buffer)

    assert [o.final for o in outputs] == [False, False, True]
    instruments = [getattr(v, "instrument_id", None) for o in outputs for v in o.events]
    assert instruments == [INSTRUMENTS[1]] * 2
