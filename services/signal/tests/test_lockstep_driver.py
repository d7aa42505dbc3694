"""SignalDriver: bars paired with their vectors, step by step, over a StepBuffer fed by hand."""

from __future__ import annotations

from collections.abc import Sequence

from jules_contracts import Bar, Event, FeatureVector, SignalGenerated, Watermark, encode_event
from jules_contracts.topics import FEATURES, MD_BARS, Topic
from jules_runtime.lockstep import StepBuffer, StepOutput, make_watermark
from jules_signal.engine import Strategy, build_strategy
from jules_signal.handlers import SignalHandler
from jules_signal.lockstep import SignalDriver

from .builders import BTC, ETH
from .streams import CONFIG, SCHEMA, embedded, stream

INSTRUMENTS = sorted([BTC, ETH])
STEPS = 90
Pair = tuple[Bar, FeatureVector]


class Recording:
    """A strategy that notes every (bar, vector) it is given and asks the real one."""

    def __init__(self, inner: Strategy) -> None:
        self.inner = inner
        self.calls: list[Pair] = []

    @property
    def strategy_id(self) -> str:
        return self.inner.strategy_id

    @property
    def required_features(self) -> tuple[str, ...]:
        return self.inner.required_features

    def on_features(self, features: FeatureVector, bar: Bar) -> list[SignalGenerated]:
        self.calls.append((bar, features))
        return self.inner.on_features(features, bar)


def steps() -> list[list[Pair]]:
    """Per event time, the (bar, vector) of each instrument, in instrument order."""
    by_instrument = [stream(instrument, STEPS) for instrument in INSTRUMENTS]
    return [list(pairs) for pairs in zip(*by_instrument, strict=True)]


def new_driver() -> tuple[StepBuffer, SignalDriver, Recording]:
    strategy = Recording(build_strategy(CONFIG))
    buffer = StepBuffer({MD_BARS.name: [0, 1], FEATURES.name: [0, 1]})
    return buffer, SignalDriver(SignalHandler(strategy, SCHEMA)), strategy


def watermark(
    buffer: StepBuffer,
    topic: Topic,
    time: int,
    partitions: Sequence[int] = (0, 1),
    *,
    final: bool = False,
) -> None:
    producer = "replay" if topic is MD_BARS else "features"
    for p in partitions:
        buffer.add(topic.name, p, make_watermark(producer, topic, p, time, final=final))


def publish(buffer: StepBuffer, topic: Topic, events: Sequence[Bar | FeatureVector]) -> None:
    """A producer's step: its events with their sequence (read in reverse), then watermarks."""
    for sequence, event in reversed(list(enumerate(events))):
        buffer.add(topic.name, INSTRUMENTS.index(event.instrument_id), event, sequence)
    watermark(buffer, topic, events[0].event_time)


def feed_step(buffer: StepBuffer, pairs: Sequence[Pair]) -> None:
    publish(buffer, FEATURES, [vector for _, vector in pairs])  # vectors may come first
    publish(buffer, MD_BARS, [bar for bar, _ in pairs])


def signals_of(outputs: Sequence[StepOutput]) -> list[Event]:
    return [event for output in outputs for event in output.events]


def test_a_step_waits_for_the_bars_and_the_vectors_of_every_partition() -> None:
    buffer, driver, _ = new_driver()
    pairs = steps()[0]
    time = pairs[0][0].event_time
    publish(buffer, MD_BARS, [bar for bar, _ in pairs])
    assert driver.advance(buffer) == []

    for p, (_, vector) in enumerate(pairs):
        buffer.add(FEATURES.name, p, vector)
    watermark(buffer, FEATURES, time, partitions=[1])
    assert driver.advance(buffer) == []
    watermark(buffer, FEATURES, time, partitions=[0])
    [output] = driver.advance(buffer)
    assert output.time == time
    assert not output.final


def test_each_bar_is_paired_with_its_vector_in_instrument_order() -> None:
    buffer, driver, strategy = new_driver()
    all_steps = steps()[:5]
    for pairs in all_steps:
        feed_step(buffer, pairs)

    assert len(driver.advance(buffer)) == 5

    assert strategy.calls == [pair for pairs in all_steps for pair in pairs]
    assert all(vector.causation_id == bar.event_id for bar, vector in strategy.calls)


def test_the_signals_equal_the_strategy_run_directly() -> None:
    buffer, driver, _ = new_driver()
    all_steps = steps()
    for pairs in all_steps:
        feed_step(buffer, pairs)

    outputs = driver.advance(buffer)

    expected = embedded([pair for pairs in all_steps for pair in pairs])
    produced = signals_of(outputs)
    assert len(expected) >= 4
    assert {s.instrument_id for s in expected} == set(INSTRUMENTS)
    assert [encode_event(e) for e in produced] == [encode_event(e) for e in expected]
    for output in outputs:
        assert all(e.event_time == output.time for e in output.events)


def test_a_bar_without_its_vector_in_its_step_is_not_decided() -> None:
    buffer, driver, strategy = new_driver()
    (btc_bar, btc_vector), (eth_bar, _) = steps()[0]
    publish(buffer, MD_BARS, [btc_bar, eth_bar])
    publish(buffer, FEATURES, [btc_vector])

    [output] = driver.advance(buffer)

    assert strategy.calls == [(btc_bar, btc_vector)]
    assert output.events == []


def test_the_final_step_is_empty_and_waits_for_both_inputs_to_end() -> None:
    buffer, driver, _ = new_driver()
    pairs = steps()[0]
    time = pairs[0][0].event_time
    feed_step(buffer, pairs)
    watermark(buffer, MD_BARS, time, final=True)
    assert [o.final for o in driver.advance(buffer)] == [False]
    assert not driver.finished

    watermark(buffer, FEATURES, time, final=True)
    [last] = driver.advance(buffer)

    assert last.final
    assert last.events == []
    assert last.time == time
    assert driver.finished
    assert not any(isinstance(e, Watermark) for e in last.events)
    assert driver.advance(buffer) == []
