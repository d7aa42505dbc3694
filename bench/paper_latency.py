"""Benchmark: tick → paper fill latency of a paper session (six services on Kafka, a fake exchange).

Starts the local Kafka broker (``deploy/local/kafka``, unless it runs or ``--bootstrap`` names
one), a fake exchange in its own process (Binance dialect, paused, the recorded Binance BTCUSDT
market; ``bench/live_market_data.py`` stamps the wall time of every websocket message it sends),
a venues file pointing at it, and the six services of ``examples/paper.yaml`` as ``jules up
--paper`` does (``jules.session.start_session`` with ``jules.paper.paper_environments``: the
``trade_flow`` strategy, the ``l2_book`` fill model, 5 ms venue latency). Then it replays
``--seconds`` recorded seconds in real time (speed 1) and reads the session's trades, books,
signals, order intents, decisions and order events, stamping the wall time each is read.

Every fill (``OrderFilled`` or ``OrderPartiallyFilled``) gives two latencies:

(a) tick → paper fill: from the fake's send of the book update the fill executed on, to this
    process reading the fill. A fill derives from its ``OrderAccepted`` (its ``causation_id``)
    and carries the event time of the market event it executed on: the book snapshot of that
    event time, whose sequence is the venue's update id of the message.
(b) end to end: from the fake's send of the trade behind the signal behind the order, to this
    process reading the fill: fill → accepted → approved → order intent → signal → trade,
    following ``causation_id`` (the chain's root, the trade, is every link's
    ``correlation_id``); the trade id names the message.

The fill model fills an accepted order on the first book at least the venue latency (5 ms of
event time) after acceptance, so (b) includes waiting for that book; (a) is the pipeline's
reaction to it. Everything started is stopped at the end, on error or Ctrl-C too. Usage::

    .venv/bin/python bench/paper_latency.py [--seconds 300] [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory

import aiohttp
import numpy as np
import yaml
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from jules.backtest_kafka import delete_run_topics
from jules.paper import paper_environments
from jules.session import SessionState, start_broker, start_session, stop_broker, stop_session
from jules_backtest.config import load_config
from jules_contracts import BookSnapshot, Event, RiskAlert, SubmitOrder, Trade, decode_event
from jules_contracts.orders import OrderAccepted, OrderApproved, OrderFilled, OrderPartiallyFilled
from jules_contracts.signals import SignalGenerated
from jules_contracts.topics import (
    MD_BOOK,
    MD_TRADES,
    ORDERS_DECISIONS,
    ORDERS_EVENTS,
    ORDERS_INTENTS,
    RISK_ALERTS,
    SIGNALS,
)
from jules_runtime.bus.records import SENT_HEADER
from jules_runtime.settings import KafkaSettings
from live_market_data import KINDS, Fake, control, kind_of, start_fake  # bench/ scripts
from machine import describe  # bench/machine.py (scripts run from bench/)

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "examples" / "paper.yaml"
READ = (MD_TRADES, MD_BOOK, SIGNALS, ORDERS_INTENTS, ORDERS_DECISIONS, ORDERS_EVENTS, RISK_ALERTS)
CHAIN = (OrderAccepted, OrderApproved, SubmitOrder, SignalGenerated, Trade)
"""What a fill's causation ids lead through, in order, to the trade that started it."""
FILLS = (OrderFilled, OrderPartiallyFilled)
STAGES = (
    "trade sent -> published",
    "-> signal published",
    "-> order accepted published",
    "-> fill published",
    "-> fill read",
)
"""The stages of (b): from the fake's send of the trade to this process reading the fill."""


@dataclass(frozen=True)
class Read:
    """An event read from the session's topics: when it was published and when read (ns)."""

    event: Event
    sent_ns: int
    read_ns: int


@dataclass(frozen=True)
class Fill:
    """A fill read, its two latencies in ms (``None``: its message was not found) and the
    wall times (ns) of its chain: trade sent and published, signal, acceptance and fill
    published, fill read (empty without (b))."""

    read: Read
    tick_ms: float | None
    end_to_end_ms: float | None
    times: tuple[int, ...] = ()


@dataclass
class Measured:
    """What one run measured."""

    span_ns: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    reads: list[Read] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)


async def read_topics(bootstrap: str, scope: str, stop: asyncio.Event, out: list[Read]) -> None:
    """Read the session's topics from their start until ``stop`` is set."""
    consumer = AIOKafkaConsumer(
        *(topic.scoped(scope) for topic in READ),
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=10,
    )
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100)
            now = time.time_ns()
            for records in batch.values():
                for record in records:
                    if record.value is None:
                        continue
                    headers = dict(record.headers)
                    sent = int(headers.get(SENT_HEADER, b"0") or 0)
                    out.append(Read(decode_event(record.value), sent, now))
    finally:
        await consumer.stop()


async def replay(
    fake: Fake, state: SessionState, seconds: float, drain: float, out: list[Read]
) -> tuple[int, int]:
    """Replay ``seconds`` of the recording at speed 1 while reading; when (wall ns) it started
    and how long it ran."""
    stop = asyncio.Event()
    reading = asyncio.create_task(read_topics(state.bootstrap, state.scope, stop, out))
    try:
        async with aiohttp.ClientSession() as session:
            await asyncio.sleep(2.0)  # the reader has its partitions
            started = time.time_ns()
            await control(session, fake.info["control"], 1.0)
            await asyncio.sleep(seconds)
            await control(session, fake.info["control"], None)
            span = time.time_ns() - started
        await asyncio.sleep(drain)  # the last fills reach the reader
    finally:
        stop.set()
        await reading
    return started, span


def read_sends(path: Path, since_ns: int) -> tuple[dict[tuple[str, str], int], Counter[str]]:
    """The fake's first send (wall ns) of each (kind, venue id), and how many it sent by kind
    from ``since_ns`` on."""
    sends: dict[tuple[str, str], int] = {}
    counts: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        sent_ns, kind, venue_id = line.split()
        sends.setdefault((kind, venue_id), int(sent_ns))
        if int(sent_ns) >= since_ns:
            counts[kind] += 1
    return sends, counts


def sent_of(event: Event, sends: dict[tuple[str, str], int]) -> int | None:
    """When the fake sent the message carrying a market event (``None``: not found)."""
    kind, venue_id = kind_of(event)
    return None if venue_id is None else sends.get((kind, venue_id))


def cause_chain(fill: Event, by_id: dict[str, Read]) -> list[Read]:
    """The events a fill derives from through ``causation_id``, nearest first (those read)."""
    chain: list[Read] = []
    cause = fill.causation_id
    while cause is not None and cause in by_id and len(chain) < len(CHAIN):
        chain.append(by_id[cause])
        cause = chain[-1].event.causation_id
    return chain


def measure(reads: list[Read], sends: dict[tuple[str, str], int]) -> list[Fill]:
    """Every fill read, with its latencies."""
    by_id = {read.event.event_id: read for read in reads}
    books: dict[tuple[str, int], Read] = {}
    for read in reads:  # the first book of each event time: the one a fill executes on
        if isinstance(read.event, BookSnapshot):
            books.setdefault((read.event.instrument_id, read.event.event_time), read)
    results = []
    for read in reads:
        fill = read.event
        if not isinstance(fill, FILLS):
            continue
        book = books.get((fill.instrument_id, fill.event_time))
        book_sent = None if book is None else sent_of(book.event, sends)
        tick = None if book_sent is None else (read.read_ns - book_sent) / 1e6
        chain = cause_chain(fill, by_id)
        kinds = tuple(type(link.event) for link in chain)
        trade_sent = None
        if kinds == CHAIN and chain[-1].event.event_id == fill.correlation_id:
            trade_sent = sent_of(chain[-1].event, sends)
        if trade_sent is None:
            results.append(Fill(read, tick, None))
            continue
        trade, signal, accepted = chain[-1], chain[-2], chain[0]
        times = (trade_sent, trade.sent_ns, signal.sent_ns, accepted.sent_ns)
        end_to_end = (read.read_ns - trade_sent) / 1e6
        results.append(Fill(read, tick, end_to_end, (*times, read.sent_ns, read.read_ns)))
    return results


def session(args: argparse.Namespace, folder: Path) -> Measured:
    """Start the fake, the broker (if needed) and the session; replay; stop all of them."""
    fake = start_fake("binance", folder / "fake.sends")
    started_broker, state, bootstrap = False, None, args.bootstrap
    scope = f"bench-paper-{time.time_ns() % 10**12}"
    measured = Measured()
    try:
        assert fake.child.stdout is not None
        fake.info = json.loads(fake.child.stdout.readline())  # loaded, paused
        venues_file = folder / "venues.yaml"
        venues_file.write_text(yaml.safe_dump({"venues": [fake.info["venue"]]}, sort_keys=False))
        if bootstrap is None:
            bootstrap, started_broker = start_broker()
        run_dir = folder / "session"
        environments = paper_environments(load_config(CONFIG), run_dir, venues_file)
        state = start_session(run_dir, scope, environments, bootstrap)
        started, measured.span_ns = asyncio.run(
            replay(fake, state, args.seconds, args.drain, measured.reads)
        )
    finally:
        if state is not None:
            stop_session(state, timeout_s=30)
        if bootstrap is not None:  # the session's topics
            kafka = KafkaSettings(bootstrap_servers=bootstrap)
            with contextlib.suppress(KafkaError, OSError):
                asyncio.run(delete_run_topics(kafka, scope))
        if fake.child.poll() is None:
            assert fake.child.stdin is not None
            fake.child.stdin.close()  # it writes what it sent, then exits
            try:
                fake.child.wait(60)
            except subprocess.TimeoutExpired:
                fake.child.kill()
                fake.child.wait()
        if started_broker:
            stop_broker()
    sends, measured.sent = read_sends(fake.out, started)
    measured.fills = measure(measured.reads, sends)
    return measured


def stats(values: Iterable[float | None]) -> str:
    """count, p50, p99 and max of the matched values (ms)."""
    found = np.array([v for v in values if v is not None])
    if found.size == 0:
        return f"{0:>7}  (none matched)"
    p50, p99 = np.percentile(found, [50, 99])
    return f"{found.size:>7,} {p50:>9.1f} {p99:>9.1f} {found.max():>9.1f}"


def shown(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def report(measured: Measured, args: argparse.Namespace) -> None:
    config = load_config(CONFIG)
    span_s = measured.span_ns / 1e9
    counts = Counter(type(read.event).__name__ for read in measured.reads)
    fills = [fill.read for fill in measured.fills]
    strategy = getattr(config.strategy, "entry_point", None) or config.strategy.kind
    latency_ms = config.execution.latency_ns / 1e6
    print(f"machine: {describe()}")
    print(
        f"paper session: {CONFIG.relative_to(REPO)} (strategy {strategy}, "
        f"fill model l2_book, venue latency {latency_ms:g} ms of event "
        "time), six services on Kafka <- websockets <- fake Binance exchange (its own process) "
        f"replaying the recorded BTCUSDT market at 1x for {args.seconds:g} recorded s"
    )
    sent = sum(measured.sent.values())
    print(
        f"websocket messages sent: {sent:,} in {span_s:.1f} s ({sent / max(span_s, 1e-9):,.0f}/s; "
        + ", ".join(f"{k}s {measured.sent[k]:,}" for k in KINDS)
        + ")"
    )
    full = sum(isinstance(f.event, OrderFilled) for f in fills)
    print(
        f"signals {counts['SignalGenerated']:,}, orders {counts['SubmitOrder']:,} (approved "
        f"{counts['OrderApproved']:,}, accepted {counts['OrderAccepted']:,}), fills "
        f"{len(fills):,} ({full:,} full, {len(fills) - full:,} partial)"
    )
    alerts = Counter(r.event.code for r in measured.reads if isinstance(r.event, RiskAlert))
    if alerts:
        print("risk alerts: " + ", ".join(f"{code} {n:,}" for code, n in alerts.items()))
        print("  (SIZING_UNAVAILABLE: a signal before the router's first portfolio snapshot,")
        print("  which it publishes on a bar's close)")
    print()
    print(f"{'per fill':<34}{'count':>7} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    print(f"{'(a) tick -> paper fill':<34}{stats(f.tick_ms for f in measured.fills)}")
    print(f"{'(b) end to end (trade -> fill)':<34}{stats(f.end_to_end_ms for f in measured.fills)}")
    print("  (b) by stage (the publish times the messages carry, jules-sent-ns):")
    chains = [f.times for f in measured.fills if f.times]
    for index, name in enumerate(STAGES):
        values = [(times[index + 1] - times[index]) / 1e6 for times in chains]
        print(f"    {name:<30}{stats(values)}")
    print()
    print("(a): from the fake's send of the book update the fill executed on (the book snapshot")
    print("  of the fill's event time; its sequence is the update's id) to this process reading")
    print("  the fill: the pipeline's reaction (market-data -> router -> Kafka -> reader).")
    print("(b): from the fake's send of the trade behind the signal behind the order (fill ->")
    print("  accepted -> approved -> order intent -> signal -> trade, by causation_id; the trade")
    print("  is the chain's correlation_id) to this process reading the fill. The fill model")
    print("  fills an accepted order on the first book whose event time is at least the venue")
    print(f"  latency ({latency_ms:g} ms) after the acceptance's (the trade's event time), so (b)")
    print("  includes waiting for that book (in the stage '-> fill published').")
    print()
    print(f"{'fill':<24}{'event time (UTC)':<27}{'(a) ms':>9}{'(b) ms':>9}")
    for fill in measured.fills:
        event = fill.read.event
        assert isinstance(event, FILLS)
        when = np.datetime64(event.event_time, "ns")
        print(
            f"{event.event_type:<24}{when!s:<27}{shown(fill.tick_ms):>9}"
            f"{shown(fill.end_to_end_ms):>9}"
        )
    unmatched = sum(f.tick_ms is None for f in measured.fills)
    unmatched_b = sum(f.end_to_end_ms is None for f in measured.fills)
    if unmatched or unmatched_b:
        print(f"unmatched fills: (a) {unmatched}, (b) {unmatched_b} (their message not found)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="recorded seconds to replay")
    parser.add_argument("--drain", type=float, default=5.0, help="seconds to read after it")
    parser.add_argument("--bootstrap", default=os.environ.get("JULES_KAFKA_BOOTSTRAP"))
    args = parser.parse_args()
    try:
        with TemporaryDirectory(prefix="paper-latency-") as folder:
            measured = session(args, Path(folder))
    except KeyboardInterrupt:
        sys.exit(130)  # everything started is stopped
    report(measured, args)


if __name__ == "__main__":
    main()
