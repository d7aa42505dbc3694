"""CollectorDriver: a topic-replay run's events, read in any cross-partition order, come out in
the embedded loop's order (no broker: the topics are lists of messages fed to a StepBuffer)."""

from __future__ import annotations

import math
import random
import zlib
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

import pytest
from jules.backtest_kafka import REPLAY_SOURCE, CollectorDriver
from jules_backtest.node import EmbeddedNode
from jules_contracts import (
    Bar,
    Event,
    OrderApproved,
    OrderDenied,
    OrderFilled,
    SignalGenerated,
    Topic,
    derive_event_id,
    encode_event,
    topic_for,
)
from jules_contracts.topics import (
    FEATURES,
    MD_BARS,
    ORDERS_DECISIONS,
    ORDERS_EVENTS,
    ORDERS_INTENTS,
    PORTFOLIO,
    RISK_ALERTS,
    SIGNALS,
)
from jules_features.engine import FeatureEngine, FeatureSchema
from jules_order_router.engine import OrderRouterEngine, RouterConfig
from jules_risk.engine import RiskConfig, RiskEngine, RiskLimits, SizingConfig
from jules_runtime.lockstep import StepBuffer, make_watermark
from jules_signal.engine import SmaCrossConfig, TradingMode, build_strategy

T0 = 1_700_000_000_000_000_000
MINUTE = 60_000_000_000
ACCOUNT = "paper-01"
INSTRUMENTS = ["BTCUSD.COINBASE", "ETHUSD.COINBASE", "SOLUSD.COINBASE"]
PRODUCERS: dict[str, tuple[Topic, ...]] = {
    REPLAY_SOURCE: (MD_BARS,),
    "features": (FEATURES,),
    "signal": (SIGNALS,),
    "order-router": (ORDERS_EVENTS, PORTFOLIO),
    "risk": (ORDERS_INTENTS, ORDERS_DECISIONS, RISK_ALERTS),
}
PRODUCER_OF = {topic.name: name for name, topics in PRODUCERS.items() for topic in topics}
RUN_TOPICS = tuple(topic for topics in PRODUCERS.values() for topic in topics)
"""The topics of a bar-driven run (a tick-driven one adds md.quotes, md.trades, md.book)."""

Message = tuple[Event, int | None]  # the event and its jules-seq


def make_bars(steps: int = 24) -> list[Bar]:
    """Wavy one-minute bars of three instruments (SOL misses every fifth minute)."""
    bars = []
    for i in range(steps):
        for k, instrument in enumerate(INSTRUMENTS):
            if k == 2 and i % 5 == 3:
                continue
            close = 100 + 8 * math.sin(i / 2.5 + k)
            open_ = 100 + 8 * math.sin((i - 1) / 2.5 + k)
            bars.append(
                Bar(
                    event_id=derive_event_id("collector-test-bar", instrument, i),
                    source="market-data",
                    event_time=T0 + (i + 1) * MINUTE,
                    start_time=T0 + i * MINUTE,
                    instrument_id=instrument,
                    interval="1m",
                    open=open_,
                    high=max(open_, close) + 1,
                    low=min(open_, close) - 1,
                    close=close,
                    volume=1_000.0,
                )
            )
    return bars


@dataclass
class EmbeddedRun:
    """What an embedded node emitted: in total, per event time, and at the end."""

    events: list[Event] = field(default_factory=list)
    steps: list[tuple[int, list[Event]]] = field(default_factory=list)
    finish: list[Event] = field(default_factory=list)


@cache
def embedded_run() -> EmbeddedRun:
    run = EmbeddedRun()
    strategy = build_strategy(SmaCrossConfig(fast=2, slow=4, mode=TradingMode.LONG_SHORT))
    node = EmbeddedNode(
        features=FeatureEngine(FeatureSchema.from_names(strategy.required_features)),
        strategy=strategy,
        risk=RiskEngine(
            RiskConfig(
                account_id=ACCOUNT,
                sizing=SizingConfig(fraction=0.2),
                limits=RiskLimits(max_order_notional=30_000.0),
            )
        ),
        router=OrderRouterEngine(RouterConfig(account_id=ACCOUNT, starting_cash=100_000.0)),
        emit=run.events.append,
    )
    bars = make_bars()
    for time in sorted({bar.event_time for bar in bars}):
        start = len(run.events)
        node.step(sorted((b for b in bars if b.event_time == time), key=lambda b: b.instrument_id))
        run.steps.append((time, run.events[start:]))
    start = len(run.events)
    node.finish(close_at_end=True)
    run.finish = run.events[start:]
    return run


def test_the_embedded_run_trades() -> None:
    """The run the collector must reproduce has orders, denials, fills and a close at the end."""
    kinds = {type(e) for e in embedded_run().events}
    assert {SignalGenerated, OrderApproved, OrderDenied, OrderFilled} <= kinds
    assert any(isinstance(e, OrderFilled) for e in embedded_run().finish)


# --- the topics as each producer would write them -------------------------------------------


def partition_of(event: Event, topic: Topic, partitions: int) -> int:
    key = topic.key_for(event)
    if key in INSTRUMENTS:
        return INSTRUMENTS.index(key) % partitions
    return zlib.crc32(key.encode()) % partitions


def write_topics(run: EmbeddedRun, partitions: int) -> dict[tuple[str, int], list[Message]]:
    """Every partition of every topic: each producer's step outputs (with their sequence),
    then its watermark of the step into every partition of its topics; then the final steps."""
    topics: dict[tuple[str, int], list[Message]] = {
        (t.name, p): [] for t in RUN_TOPICS for p in range(partitions)
    }

    def step(producer: str, events: Iterable[Event], time: int, *, final: bool) -> None:
        mine = [e for e in events if PRODUCER_OF[topic_for(e).name] == producer]
        for sequence, event in enumerate(mine):
            topic = topic_for(event)
            topics[topic.name, partition_of(event, topic, partitions)].append((event, sequence))
        for topic in PRODUCERS[producer]:
            for p in range(partitions):
                mark = make_watermark(producer, topic, p, time, final=final)
                topics[topic.name, p].append((mark, None))

    for time, events in run.steps:
        for producer in PRODUCERS:
            step(producer, events, time, final=False)
    last = run.steps[-1][0]
    for producer in PRODUCERS:
        step(producer, run.finish, last, final=True)
    return topics


def read_scrambled(
    topics: dict[tuple[str, int], list[Message]], seed: int
) -> list[tuple[str, int, Message]]:
    """A random read across partitions; each partition's messages keep their order."""
    rng = random.Random(seed)
    queues = {key: deque(messages) for key, messages in topics.items() if messages}
    read = []
    while queues:
        key = rng.choice(sorted(queues))
        read.append((key[0], key[1], queues[key].popleft()))
        if not queues[key]:
            del queues[key]
    return read


def collect(
    read: Sequence[tuple[str, int, Message]], partitions: int, seed: int, largest_batch: int = 12
) -> tuple[CollectorDriver, list[Event]]:
    """Feed the collector in random batches, advancing after each (as the runner does)."""
    rng = random.Random(seed)
    buffer = StepBuffer({t.name: range(partitions) for t in RUN_TOPICS})
    emitted: list[Event] = []
    collector = CollectorDriver(emitted.append)
    position = 0
    while position < len(read):
        batch = read[position : position + rng.randint(1, largest_batch)]
        position += len(batch)
        for topic, partition, (event, sequence) in batch:
            buffer.add(topic, partition, event, sequence)
        assert collector.advance(buffer) == []
    return collector, emitted


def encoded(events: Iterable[Event]) -> list[bytes]:
    return [encode_event(event) for event in events]


def with_duplicates(
    topics: dict[tuple[str, int], list[Message]], seed: int
) -> dict[tuple[str, int], list[Message]]:
    """Two replicas of risk (their copies interleaved) and an order-router that restarted
    (what it wrote before it died, then everything again)."""
    rng = random.Random(seed)
    out = dict(topics)
    for (name, p), messages in topics.items():
        producer = PRODUCER_OF[name]
        if producer == "risk":
            copies = [deque(messages), deque(messages)]
            merged = []
            while any(copies):
                merged.append(rng.choice([c for c in copies if c]).popleft())
            out[name, p] = merged
        elif producer == "order-router":
            out[name, p] = [*messages[: rng.randint(0, len(messages))], *messages]
    return out


@pytest.mark.parametrize("partitions", [2, 3, 4])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_collector_emits_the_embedded_nodes_events(partitions: int, seed: int) -> None:
    run = embedded_run()
    read = read_scrambled(write_topics(run, partitions), seed)

    collector, emitted = collect(read, partitions, seed)

    assert encoded(emitted) == encoded(run.events)
    assert collector.finished
    assert collector.steps == len(run.steps)
    assert collector.last_time == run.steps[-1][0]


@pytest.mark.parametrize("partitions", [2, 4])
@pytest.mark.parametrize("seed", [5, 6])
def test_duplicates_of_replicas_and_restarts_change_nothing(partitions: int, seed: int) -> None:
    run = embedded_run()
    topics = with_duplicates(write_topics(run, partitions), seed)
    read = read_scrambled(topics, seed)

    collector, emitted = collect(read, partitions, seed)

    assert encoded(emitted) == encoded(run.events)
    assert collector.finished
    assert len(read) > sum(len(m) for m in write_topics(run, partitions).values())


@pytest.mark.parametrize("held", RUN_TOPICS, ids=lambda t: t.name)
def test_no_step_is_emitted_before_every_topic_reached_it(held: Topic) -> None:
    """One partition of one topic is read only up to its first watermark, excluded."""
    run, partitions = embedded_run(), 3
    topics = write_topics(run, partitions)
    last = topics[held.name, partitions - 1]
    cut = next(i for i, (event, _) in enumerate(last) if event.event_type == "system.watermark")
    read = read_scrambled({**topics, (held.name, partitions - 1): last[:cut]}, seed=7)

    collector, emitted = collect(read, partitions, seed=7)
    assert emitted == []
    assert collector.steps == 0
    assert not collector.finished

    rest = [(held.name, partitions - 1, message) for message in last[cut:]]
    collector, emitted = collect([*read, *rest], partitions, seed=7)
    assert encoded(emitted) == encoded(run.events)
    assert collector.finished


def lagging_bars(
    topics: dict[tuple[str, int], list[Message]], step: int
) -> list[tuple[str, int, Message]]:
    """Every topic read to its end, except md.bars: read up to the watermark of ``step`` on
    every partition first, the rest of md.bars last (its partitions are fetched later)."""
    first: list[tuple[str, int, Message]] = []
    late: list[tuple[str, int, Message]] = []
    time = embedded_run().steps[step][0]
    for (name, p), messages in topics.items():
        if name != MD_BARS.name:
            first.extend((name, p, m) for m in messages)
            continue
        cut = next(
            i + 1
            for i, (event, _) in enumerate(messages)
            if getattr(event, "watermark", None) == time
        )
        first.extend((name, p, m) for m in messages[:cut])
        late.extend((name, p, m) for m in messages[cut:])
    return [*first, *late]


@pytest.mark.parametrize("partitions", [1, 3])
def test_the_final_step_waits_for_every_bar_to_be_read(partitions: int) -> None:
    run = embedded_run()
    read = lagging_bars(write_topics(run, partitions), step=len(run.steps) // 2)

    collector, emitted = collect(read, partitions, seed=8, largest_batch=1)

    assert collector.steps == len(run.steps)
    assert encoded(emitted) == encoded(run.events)
