"""VenueDriver: the order-router's lockstep steps over a StepBuffer fed by hand (no broker)."""

from __future__ import annotations

from collections.abc import Sequence

from jules_contracts import (
    Bar,
    Event,
    OrderAccepted,
    OrderApproved,
    OrderFilled,
    OrderSide,
    PortfolioSnapshot,
    Watermark,
    encode_event,
)
from jules_contracts.topics import MD_BARS, ORDERS_DECISIONS, ORDERS_INTENTS, Topic
from jules_order_router.engine.step import venue_finish, venue_step
from jules_order_router.lockstep import VenueDriver
from jules_runtime.lockstep import StepBuffer, StepOutput, make_watermark

from .helpers import (  # type: ignore[import-not-found]
    BTC,
    ETH,
    approve,
    bar_time,
    make_bar,
    make_engine,
    position_of,
)

PARTITIONS = (0, 1)
INSTRUMENTS = sorted([BTC, ETH])
COMMANDS = (ORDERS_DECISIONS, ORDERS_INTENTS)


def partition_of(event: Event) -> int:
    return INSTRUMENTS.index(getattr(event, "instrument_id", BTC)) % len(PARTITIONS)


def new_buffer() -> StepBuffer:
    return StepBuffer({t.name: PARTITIONS for t in (MD_BARS, *COMMANDS)})


def watermark(
    buffer: StepBuffer,
    producer: str,
    topic: Topic,
    time: int,
    *,
    partitions: Sequence[int] = PARTITIONS,
    final: bool = False,
) -> None:
    """``producer``'s watermark ``time`` into the given partitions (all by default)."""
    for p in partitions:
        buffer.add(topic.name, p, make_watermark(producer, topic, p, time, final=final))


def replay(buffer: StepBuffer, bars: Sequence[Bar], *, final: bool = False) -> None:
    """The replay's bars of one time (sequence = instrument order), then its watermarks."""
    for sequence, bar in enumerate(sorted(bars, key=lambda b: b.instrument_id)):
        buffer.add(MD_BARS.name, partition_of(bar), bar, sequence)
    watermark(buffer, "replay", MD_BARS, bars[0].event_time)
    if final:
        watermark(buffer, "replay", MD_BARS, bars[0].event_time, final=True)


def risk(buffer: StepBuffer, time: int, commands: Sequence[Event] = ()) -> None:
    """Risk's commands of step ``time`` (sequence = the order risk made them), then watermarks."""
    indexed = list(enumerate(commands))
    for sequence, command in reversed(indexed):  # read in another order than made
        topic = ORDERS_DECISIONS if isinstance(command, OrderApproved) else ORDERS_INTENTS
        buffer.add(topic.name, partition_of(command), command, sequence)
    for topic in COMMANDS:
        watermark(buffer, "risk", topic, time)


def bars_at(index: int, btc: float, eth: float) -> list[Bar]:
    return [make_bar(index, btc, instrument=BTC), make_bar(index, eth, instrument=ETH)]


def encoded(outputs: Sequence[StepOutput]) -> list[tuple[int, bool, list[bytes]]]:
    return [(o.time, o.final, [encode_event(e) for e in o.events]) for o in outputs]


def test_the_first_step_waits_for_the_bars_watermark_on_every_partition() -> None:
    buffer, driver = new_buffer(), VenueDriver(make_engine())
    bars = bars_at(0, 100.0, 10.0)
    for bar in bars:
        buffer.add(MD_BARS.name, partition_of(bar), bar)
    watermark(buffer, "replay", MD_BARS, bar_time(0), partitions=[1])
    assert driver.advance(buffer) == []

    watermark(buffer, "replay", MD_BARS, bar_time(0), partitions=[0])
    [step] = driver.advance(buffer)

    assert step.time == bar_time(0)
    assert not step.final
    [snapshot] = step.events
    assert isinstance(snapshot, PortfolioSnapshot)
    assert snapshot.event_time == bar_time(0)
    assert driver.advance(buffer) == []


def test_a_later_step_also_waits_for_risks_watermarks_of_the_previous_step() -> None:
    buffer, driver = new_buffer(), VenueDriver(make_engine())
    replay(buffer, bars_at(0, 100.0, 10.0))
    assert len(driver.advance(buffer)) == 1
    replay(buffer, bars_at(1, 101.0, 11.0))
    assert driver.advance(buffer) == []  # risk has not finished step 0

    watermark(buffer, "risk", ORDERS_DECISIONS, bar_time(0))
    watermark(buffer, "risk", ORDERS_INTENTS, bar_time(0), partitions=[0])
    assert driver.advance(buffer) == []
    watermark(buffer, "risk", ORDERS_INTENTS, bar_time(0), partitions=[1])
    [step] = driver.advance(buffer)
    assert step.time == bar_time(1)


def test_risks_watermark_alone_does_not_make_a_step_without_the_bars() -> None:
    buffer, driver = new_buffer(), VenueDriver(make_engine())
    replay(buffer, bars_at(0, 100.0, 10.0))
    driver.advance(buffer)
    risk(buffer, bar_time(0))
    buffer.add(MD_BARS.name, 0, make_bar(1, 101.0, instrument=BTC))
    watermark(buffer, "replay", MD_BARS, bar_time(1), partitions=[0])
    assert driver.advance(buffer) == []


def test_an_order_approved_at_the_previous_step_fills_at_this_steps_open() -> None:
    buffer, driver = new_buffer(), VenueDriver(make_engine())
    replay(buffer, bars_at(0, 100.0, 10.0))
    driver.advance(buffer)
    eth = approve("eth", OrderSide.BUY, 5, at=bar_time(0), instrument=ETH)
    btc = approve("btc", OrderSide.BUY, 2, at=bar_time(0), instrument=BTC)
    risk(buffer, bar_time(0), [eth, btc])  # risk decided ETH first
    replay(
        buffer,
        [
            make_bar(1, 105.0, close=107.0, instrument=BTC),
            make_bar(1, 12.0, close=9.0, instrument=ETH),
        ],
    )

    [step] = driver.advance(buffer)

    kinds = [(type(e).__name__, getattr(e, "instrument_id", None)) for e in step.events]
    assert kinds == [
        ("OrderAccepted", ETH),  # the commands first, in the order risk made them
        ("OrderAccepted", BTC),
        ("OrderFilled", BTC),  # then the bars, in instrument order
        ("OrderFilled", ETH),
        ("PortfolioSnapshot", None),
    ]
    fills = {e.instrument_id: e for e in step.events if isinstance(e, OrderFilled)}
    assert fills[BTC].last_price == 105.0
    assert fills[ETH].last_price == 12.0
    snapshot = step.events[-1]
    assert isinstance(snapshot, PortfolioSnapshot)
    assert snapshot.event_time == bar_time(1)
    assert {p.instrument_id: p.quantity for p in snapshot.positions} == {BTC: 2.0, ETH: 5.0}


def test_every_step_ends_with_the_snapshot_of_its_time() -> None:
    buffer, driver = new_buffer(), VenueDriver(make_engine())
    for index in range(4):
        replay(buffer, bars_at(index, 100.0 + index, 10.0 + index))
        risk(buffer, bar_time(index))
    steps = driver.advance(buffer)
    assert [s.time for s in steps] == [bar_time(i) for i in range(4)]
    for step in steps:
        assert isinstance(step.events[-1], PortfolioSnapshot)
        assert step.events[-1].event_time == step.time


CLOSES = [(100.0, 10.0), (102.0, 11.0), (99.0, 12.0)]


def orders() -> list[list[Event]]:
    """Risk's commands of each step of the scenario, in the order risk made them."""
    return [
        [approve("a", OrderSide.BUY, 3, at=bar_time(0), instrument=BTC)],
        [
            approve("b", OrderSide.SELL, 1, at=bar_time(1), instrument=BTC),
            approve("c", OrderSide.BUY, 4, at=bar_time(1), instrument=ETH),
        ],
        [approve("d", OrderSide.SELL, 7, at=bar_time(2), instrument=ETH)],
    ]


def scenario(buffer: StepBuffer) -> None:
    """Three steps with orders, risk's last watermark, and the replay's final watermark."""
    for index, (commands, closes) in enumerate(zip(orders(), CLOSES, strict=True)):
        replay(buffer, bars_at(index, *closes), final=index == len(CLOSES) - 1)
        risk(buffer, bar_time(index), commands)


def test_the_final_step_comes_after_the_replays_end_and_risks_last_watermark() -> None:
    buffer, driver = new_buffer(), VenueDriver(make_engine())
    for index in range(2):
        replay(buffer, bars_at(index, 100.0, 10.0), final=index == 1)
        if index == 0:
            risk(buffer, bar_time(0))
    steps = driver.advance(buffer)
    assert [s.final for s in steps] == [False, False]
    assert not driver.finished

    risk(buffer, bar_time(1))
    [last] = driver.advance(buffer)
    assert last.final
    assert last.time == bar_time(1)
    assert driver.finished
    assert driver.advance(buffer) == []


def test_the_final_step_closes_the_positions_when_close_at_end() -> None:
    buffer, driver = new_buffer(), VenueDriver(make_engine())
    scenario(buffer)

    *_, last = driver.advance(buffer)

    assert last.final
    assert last.time == bar_time(2)
    kinds = [(type(e).__name__, getattr(e, "instrument_id", None)) for e in last.events]
    assert kinds == [
        ("OrderAccepted", ETH),  # risk's last command: sell 7 ETH, working
        ("OrderCanceled", ETH),  # close-all cancels it, then closes every position
        ("OrderAccepted", BTC),
        ("OrderFilled", BTC),
        ("OrderAccepted", ETH),
        ("OrderFilled", ETH),
        ("PortfolioSnapshot", None),
    ]
    closing = [e for e in last.events if isinstance(e, OrderFilled)]
    assert [(f.side, f.last_quantity, f.last_price) for f in closing] == [
        (OrderSide.SELL, 2.0, bars_at(2, *CLOSES[2])[0].open),
        (OrderSide.SELL, 4.0, bars_at(2, *CLOSES[2])[1].open),
    ]
    snapshot = last.events[-1]
    assert isinstance(snapshot, PortfolioSnapshot)
    assert all(p.quantity == 0 for p in snapshot.positions)


def test_without_close_at_end_the_final_step_only_takes_risks_last_commands() -> None:
    buffer, driver = new_buffer(), VenueDriver(make_engine(), close_at_end=False)
    scenario(buffer)

    *_, last = driver.advance(buffer)

    assert last.final
    assert [type(e) for e in last.events] == [OrderAccepted]
    assert position_of(driver.engine, ETH).quantity == 4.0  # still open
    assert position_of(driver.engine, BTC).quantity == 2.0


def test_the_steps_equal_venue_step_and_venue_finish_on_a_fresh_engine() -> None:
    buffer, driver = new_buffer(), VenueDriver(make_engine())
    scenario(buffer)
    outputs = driver.advance(buffer)

    engine = make_engine()
    expected: list[StepOutput] = []
    commands: list[Event] = []
    for index, closes in enumerate(CLOSES):
        events = venue_step(engine, commands, bars_at(index, *closes))
        expected.append(StepOutput(events, bar_time(index)))
        commands = orders()[index]
    finish = venue_finish(engine, commands, bars_at(2, *CLOSES[2]), close_at_end=True)
    expected.append(StepOutput(finish, bar_time(2), final=True))

    assert encoded(outputs) == encoded(expected)
    assert sum(isinstance(e, OrderFilled) for o in outputs for e in o.events) >= 5


def test_watermarks_are_not_events_of_a_step() -> None:
    buffer, driver = new_buffer(), VenueDriver(make_engine())
    scenario(buffer)
    for step in driver.advance(buffer):
        assert not any(isinstance(e, Watermark) for e in step.events)
