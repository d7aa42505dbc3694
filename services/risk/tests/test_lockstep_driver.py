"""RiskDriver over a StepBuffer fed by hand, and risk_step itself (no broker)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from jules_contracts import (
    Bar,
    BookLevel,
    BookSnapshot,
    Event,
    OrderApproved,
    OrderDenied,
    OrderSide,
    Quote,
    SignalGenerated,
    SubmitOrder,
    Trade,
    derive_event_id,
    encode_event,
    topic_for,
)
from jules_contracts.topics import MD_BARS, ORDERS_EVENTS, PORTFOLIO, SIGNALS, Topic
from jules_risk.engine.step import risk_step
from jules_risk.lockstep import RiskDriver
from jules_runtime.lockstep import StepBuffer, StepOutput, make_watermark

from .helpers import (
    BTC,
    ETH,
    MINUTE,
    T0,
    accepted,
    bar,
    filled,
    make_engine,
    quote,
    signal,
    snapshot,
    trade,
)

PARTITIONS = (0, 1)
INSTRUMENTS = sorted([BTC, ETH])
INPUTS = (MD_BARS, SIGNALS, ORDERS_EVENTS, PORTFOLIO)
PRODUCER = {MD_BARS: "replay", SIGNALS: "signal", ORDERS_EVENTS: "router", PORTFOLIO: "router"}
TIMES = [T0 + (i + 1) * MINUTE for i in range(3)]


def partition_of(event: Event) -> int:
    instrument = getattr(event, "instrument_id", None)
    return INSTRUMENTS.index(instrument) % len(PARTITIONS) if instrument else 0


def new_buffer() -> StepBuffer:
    return StepBuffer({t.name: PARTITIONS for t in INPUTS})


def watermark(
    buffer: StepBuffer,
    topic: Topic,
    time: int,
    *,
    final: bool = False,
    partitions: Sequence[int] = PARTITIONS,
) -> None:
    """The producer's watermark ``time`` on ``topic`` (every partition by default)."""
    for p in partitions:
        buffer.add(topic.name, p, make_watermark(PRODUCER[topic], topic, p, time, final=final))


def publish(buffer: StepBuffer, events: Sequence[Event], *, reverse: bool = True) -> None:
    """One producer's step outputs with their sequence, read in reverse by default."""
    indexed = list(enumerate(events))
    for sequence, event in reversed(indexed) if reverse else indexed:
        buffer.add(topic_for(event).name, partition_of(event), event, sequence)


@dataclass(frozen=True)
class Step:
    time: int
    bars: list[Bar]
    signals: list[SignalGenerated]
    venue: list[Event]


def scenario() -> tuple[list[Step], list[Event]]:
    """Three steps and the venue's final events: an order risk approves at t1 fills at t2."""
    t1, t2, t3 = TIMES
    first = Step(
        t1,
        [bar(t1, 100.0), bar(t1, 50.0, instrument=ETH)],
        [signal(t1, 0.3, price=100.0)],
        [snapshot(t1)],
    )
    made = risk_step(make_engine(), first.venue, first.bars, first.signals)
    order = next(e for e in made if isinstance(e, SubmitOrder))
    assert order.side is OrderSide.BUY
    fill = filled(order, t2, 101.0)
    second = Step(
        t2,
        [bar(t2, 102.0, open_=101.0), bar(t2, 51.0, instrument=ETH)],
        [signal(t2, 0.5, instrument=ETH, price=51.0), signal(t2, -0.2, price=102.0)],
        [accepted(order, t2), fill, snapshot(t2, 100_000.0, {BTC: order.quantity})],
    )
    third = Step(
        t3,
        [bar(t3, 103.0), bar(t3, 52.0, instrument=ETH)],
        [],
        [snapshot(t3, 100_100.0, {BTC: order.quantity})],
    )
    return [first, second, third], [snapshot(t3, 100_050.0, {})]


def feed(buffer: StepBuffer, step: Step, *, skip: tuple[Topic, int] | None = None) -> None:
    """Every producer's part of ``step``, each topic's watermarks after its events."""
    bars: list[Bar] = sorted(step.bars, key=lambda b: b.instrument_id)
    publish(buffer, bars)
    publish(buffer, step.signals)
    publish(buffer, step.venue)
    for topic in INPUTS:
        partitions = [p for p in PARTITIONS if skip != (topic, p)]
        watermark(buffer, topic, step.time, partitions=partitions)


def finish(buffer: StepBuffer, final_venue: Sequence[Event]) -> None:
    watermark(buffer, MD_BARS, TIMES[-1], final=True)
    publish(buffer, final_venue)
    for topic in (ORDERS_EVENTS, PORTFOLIO):
        watermark(buffer, topic, TIMES[-1], final=True)


def encoded(outputs: Sequence[StepOutput]) -> list[tuple[int, bool, list[bytes]]]:
    return [(o.time, o.final, [encode_event(e) for e in o.events]) for o in outputs]


@pytest.mark.parametrize("topic", INPUTS, ids=[t.name for t in INPUTS])
def test_a_step_waits_for_every_input_on_every_partition(topic: Topic) -> None:
    buffer, driver = new_buffer(), RiskDriver(make_engine())
    steps, _ = scenario()
    feed(buffer, steps[0], skip=(topic, 1))
    assert driver.advance(buffer) == []

    watermark(buffer, topic, steps[0].time, partitions=[1])
    [output] = driver.advance(buffer)
    assert output.time == steps[0].time
    assert not output.final
    assert any(isinstance(e, OrderApproved) for e in output.events)


def test_the_steps_equal_risk_step_on_a_fresh_engine() -> None:
    buffer, driver = new_buffer(), RiskDriver(make_engine())
    steps, final_venue = scenario()
    for step in steps:
        feed(buffer, step)
    finish(buffer, final_venue)
    outputs = driver.advance(buffer)

    engine = make_engine()
    expected = [StepOutput(risk_step(engine, s.venue, s.bars, s.signals), s.time) for s in steps]
    expected.append(StepOutput(risk_step(engine, final_venue, [], []), TIMES[-1], final=True))
    assert encoded(outputs) == encoded(expected)
    decided = [e for o in outputs for e in o.events if isinstance(e, OrderApproved | OrderDenied)]
    assert len(decided) == 3
    assert driver.finished
    assert driver.advance(buffer) == []


def test_steps_run_as_their_inputs_come() -> None:
    buffer, driver = new_buffer(), RiskDriver(make_engine())
    steps, _ = scenario()
    feed(buffer, steps[0])
    feed(buffer, steps[1], skip=(SIGNALS, 0))
    assert [o.time for o in driver.advance(buffer)] == [TIMES[0]]
    watermark(buffer, SIGNALS, TIMES[1], partitions=[0])
    assert [o.time for o in driver.advance(buffer)] == [TIMES[1]]


@pytest.mark.parametrize(
    "missing",
    [(MD_BARS, 0), (ORDERS_EVENTS, 1), (PORTFOLIO, 0)],
    ids=["replay", "venue-orders", "venue-portfolio"],
)
def test_the_final_step_waits_for_the_replays_and_venues_final_watermarks(
    missing: tuple[Topic, int],
) -> None:
    buffer, driver = new_buffer(), RiskDriver(make_engine())
    steps, final_venue = scenario()
    for step in steps:
        feed(buffer, step)
    publish(buffer, final_venue)
    for topic in (MD_BARS, ORDERS_EVENTS, PORTFOLIO):
        partitions = [p for p in PARTITIONS if (topic, p) != missing]
        watermark(buffer, topic, TIMES[-1], partitions=partitions, final=True)

    assert [o.final for o in driver.advance(buffer)] == [False, False, False]
    assert not driver.finished

    topic, partition = missing
    watermark(buffer, topic, TIMES[-1], partitions=[partition], final=True)
    [last] = driver.advance(buffer)
    assert last.final
    assert last.time == TIMES[-1]
    assert driver.finished


# --- risk_step -------------------------------------------------------------------------------


def test_a_signal_without_a_snapshot_in_the_step_is_an_error() -> None:
    t = TIMES[0]
    lone = signal(t, 0.5)
    with pytest.raises(ValueError, match=lone.event_id) as error:
        risk_step(make_engine(), [], [bar(t, 100.0)], [lone])
    assert "snapshot" in str(error.value)


def test_a_signal_without_a_bar_in_the_step_is_decided_after_the_bars() -> None:
    t = TIMES[0]
    btc_bar = bar(t, 100.0)
    eth_signal = signal(t, 0.5, instrument=ETH, price=50.0)
    btc_signal = signal(t, 0.3, price=100.0)
    portfolio = snapshot(t)

    events = risk_step(make_engine(), [portfolio], [btc_bar], [eth_signal, btc_signal])

    decisions = [e for e in events if isinstance(e, OrderApproved | OrderDenied)]
    assert [d.instrument_id for d in decisions] == [BTC, ETH]  # ETH's came first
    engine = make_engine()
    expected = [
        *engine.on_portfolio(portfolio),
        *engine.on_market(btc_bar),
        *engine.on_signal(btc_signal, portfolio),
        *engine.on_signal(eth_signal, portfolio),
    ]
    assert [encode_event(e) for e in events] == [encode_event(e) for e in expected]


def test_a_step_without_signals_needs_no_snapshot() -> None:
    t = TIMES[0]
    assert risk_step(make_engine(), [], [bar(t, 100.0)], []) == []


def test_an_instruments_signals_are_decided_after_its_last_tick_of_the_step() -> None:
    t = TIMES[0]
    ticks: list[Quote | Trade] = [quote(t, 99.0, 101.0), quote(t, 109.0, 111.0)]
    ticks.append(trade(t, 49.0, instrument=ETH))  # ETHUSDT after BTCUSDT
    btc_signal = signal(t, 0.5, price=None)
    portfolio = snapshot(t)

    events = risk_step(make_engine(), [portfolio], ticks, [btc_signal])

    engine = make_engine()
    expected = [
        *engine.on_portfolio(portfolio),
        *engine.on_market(ticks[0]),
        *engine.on_market(ticks[1]),
        *engine.on_signal(btc_signal, portfolio),  # sized at the last quote's mid, 110
        *engine.on_market(ticks[2]),
    ]
    assert [encode_event(e) for e in events] == [encode_event(e) for e in expected]
    (order,) = [e for e in events if isinstance(e, SubmitOrder)]
    assert order.quantity == pytest.approx(0.5 * snapshot(t).equity / 110.0, rel=1e-9)


def book(t: int, bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> BookSnapshot:
    return BookSnapshot(
        event_id=derive_event_id("test-book", t),
        source="test",
        event_time=t,
        instrument_id=BTC,
        bids=tuple(BookLevel(price=p, size=s) for p, s in bids),
        asks=tuple(BookLevel(price=p, size=s) for p, s in asks),
    )


def test_a_two_sided_book_is_a_reference_price_and_a_one_sided_one_is_not() -> None:
    engine = make_engine()
    t = TIMES[0]
    engine.on_market(book(t, [(99.0, 1.0)], [(101.0, 1.0)]))
    state = engine.market(BTC)
    assert state is not None
    assert state.reference is not None
    assert (state.reference.price, state.reference.time) == (100.0, t)
    engine.on_market(book(t + MINUTE, [], [(105.0, 1.0)]))
    assert state.reference.price == 100.0
    assert state.last_event_time == t + MINUTE
