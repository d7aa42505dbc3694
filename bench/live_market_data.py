"""Benchmark: live market data, one process: messages per second and tick-to-publish latency.

The fake exchange (``jules_venues.fake``, Binance or OKX dialect) replays the recorded Binance
BTCUSDT feed (2024-08-08 and 09, about 100,000 messages over 11 minutes) in a separate process
and serves it over websockets; this process runs the market-data ``LiveFeed`` (trades, quotes
and books of one instrument, the service's defaults otherwise) over the venue's adapter, as
``jules-market-data run`` does live, publishing to the in-memory bus and to the real Kafka
broker (the local one from ``deploy/local/kafka``, or ``--bootstrap``; ``--no-kafka`` skips
it). Each run (one dialect, one bus) has two phases over one fake and one feed:

1. latency: the first ``--latency-seconds`` of the recording replayed in real time (speed 1),
   so that nothing queues. The fake's process wraps the websocket send of its server
   (``aiohttp``'s ``WebSocketResponse.send_str``) and stamps the wall time of every message it
   sends; this process wraps the bus's ``publish`` and stamps the wall time it returned (the
   broker's acknowledgement, on Kafka). A published trade, quote or book is matched to the
   message that carried it by the venue's id (trade id; best bid/offer update id; the book's
   last update id), and its tick-to-publish latency is publish minus send.
2. throughput: the rest of the recording as fast as the fake sends it (speed 0). From the
   replay's start to the last publish: the websocket messages the fake sent (trades, best
   bid/offers, book updates) and the events published per second of wall time, and the CPU
   seconds this process used (user + system).

ccxt hands over the latest best bid/offer and book when it is read, so under load quotes and
books are coalesced (fewer published than sent); every trade is published. Usage::

    .venv/bin/python bench/live_market_data.py [--dialects binance okx] [--no-kafka]
        [--latency-seconds 20] [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import aiohttp
import numpy as np
from jules.session import start_broker
from jules_contracts import ALL_TOPICS, BookSnapshot, Event, Quote, Trade, derive_event_id
from jules_market_data.config import LiveSettings, MarketDataSettings
from jules_market_data.live import LiveFeed
from jules_runtime.bus import Bus, InMemoryBus, KafkaBus, ensure_topics
from jules_runtime.logging import configure_logging
from jules_runtime.service import ServiceMetrics
from jules_runtime.settings import KafkaSettings
from jules_venues import VenueConfig
from machine import cpu_seconds, describe  # bench/machine.py (scripts run from bench/)
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO.parent / "shared" / "data"))
SPOT = DATA_DIR / "hftbacktest" / "examples" / "spot"
FILES = (SPOT / "btcusdt_20240808.gz", SPOT / "btcusdt_20240809.gz")
INSTRUMENTS = {"binance": "BTCUSDT.BINANCE", "okx": "BTCUSDT.OKX"}
KINDS = ("trade", "quote", "book")

# --- the fake exchange's process ----------------------------------------------------------


def message_ids(text: str) -> list[tuple[str, str]]:
    """The (kind, venue id) of the market data a websocket message carries (none for others).

    Binance combined streams: ``@trade`` (``t``), ``@bookTicker`` (``u``), ``@depth`` (``u``);
    OKX: ``trades`` (``tradeId``), ``bbo-tbt`` (``seqId``), ``books`` (``seqId``).
    """
    if not text.startswith("{"):
        return []
    message = json.loads(text)
    stream = message.get("stream")
    if isinstance(stream, str):
        data = message["data"]
        if stream.endswith("@trade"):
            return [("trade", str(data["t"]))]
        if stream.endswith("@bookTicker"):
            return [("quote", str(data["u"]))]
        if "@depth" in stream:
            return [("book", str(data["u"]))]
        return []
    channel = (message.get("arg") or {}).get("channel")
    rows = message.get("data") or []
    if channel == "trades":
        return [("trade", str(row["tradeId"])) for row in rows]
    if channel == "bbo-tbt":
        return [("quote", str(row["seqId"])) for row in rows]
    if channel == "books":
        return [("book", str(row["seqId"])) for row in rows]
    return []


def serve_fake(dialect: str, out: Path) -> None:
    """Run the fake exchange (paused) until stdin closes; write every message sent to ``out``.

    Prints one JSON line first: the ccxt options, the control URL and the fake's entry of a
    venues file (``jules.fake_exchange_cmd.venues_entry``). ``out`` gets one line per
    market-data message sent: ``<wall ns> <kind> <venue id>``.
    """
    from aiohttp import web
    from jules.fake_exchange_cmd import venues_entry
    from jules_venues.fake import FakeExchange, Market, load_feed

    sends: list[tuple[int, str]] = []
    send_str = web.WebSocketResponse.send_str

    async def stamped(self: web.WebSocketResponse, data: str, *args: Any, **kwargs: Any) -> None:
        sends.append((time.time_ns(), data))
        await send_str(self, data, *args, **kwargs)

    web.WebSocketResponse.send_str = stamped  # type: ignore[method-assign]

    async def main() -> None:
        market = Market(load_feed(FILES), speed=None)
        async with FakeExchange(market, dialect=dialect, ping_interval=60.0) as fake:
            info = {
                "ccxt": fake.ccxt_config(),
                "control": fake.urls.http,
                "venue": venues_entry(fake),
            }
            print(json.dumps(info), flush=True)
            await asyncio.to_thread(sys.stdin.read)

    asyncio.run(main())
    with out.open("w") as file:
        for sent_ns, text in sends:
            for kind, venue_id in message_ids(text):
                file.write(f"{sent_ns} {kind} {venue_id}\n")


# --- the market-data side -----------------------------------------------------------------


@dataclass
class Run:
    """What one run (one dialect, one bus) measured."""

    dialect: str
    bus: str
    latencies_ms: np.ndarray = field(default_factory=lambda: np.empty(0))
    latency_events: int = 0
    wall_s: float = 0.0
    fake_s: float = 0.0
    cpu_s: float = 0.0
    sent: Counter[str] = field(default_factory=Counter)
    published: Counter[str] = field(default_factory=Counter)


def kind_of(event: Event) -> tuple[str, str | None]:
    """The kind of a published event and the venue id that matches it to a message."""
    if isinstance(event, Trade):
        return "trade", event.trade_id
    if isinstance(event, Quote):  # its id is derived from the venue's update id
        return "quote", event.event_id
    if isinstance(event, BookSnapshot):
        return "book", None if event.sequence is None else str(event.sequence)
    return event.event_type.removeprefix("md."), None


async def control(session: aiohttp.ClientSession, url: str, speed: float | None) -> None:
    """Set the fake's replay speed (``None`` pauses)."""
    async with session.post(f"{url}/_fake/replay", json={"speed": speed}) as response:
        response.raise_for_status()


async def status(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(f"{url}/_fake/status") as response:
        data: dict[str, Any] = await response.json()
        return data


async def make_bus(kind: str, bootstrap: str | None) -> Bus:
    if kind == "in-memory":
        return InMemoryBus("market-data")
    assert bootstrap is not None
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    scope = f"bench-md-{time.time_ns() % 10**12}"
    await ensure_topics(kafka, [t.scoped(scope) for t in ALL_TOPICS])
    bus = KafkaBus("market-data", kafka, scope, client_id="bench-live-market-data")
    await bus.start()
    return bus


@dataclass
class Fake:
    """A fake exchange's process, paused, and where it writes the messages it sent."""

    child: subprocess.Popen[str]
    out: Path
    info: dict[str, Any] = field(default_factory=dict)


def start_fake(dialect: str, out: Path) -> Fake:
    """The fake exchange's process (it loads the recording, then waits paused)."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--fake-child", dialect, str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return Fake(child, out)


async def one_run(
    dialect: str,
    bus_kind: str,
    fake: Fake,
    bootstrap: str | None,
    args: argparse.Namespace,
) -> Run:
    """Start the bus and the feed on a fake; measure the latency phase, then the throughput."""
    child, out, info = fake.child, fake.out, fake.info
    assert child.stdin is not None
    url = info["control"]
    bus = await make_bus(bus_kind, bootstrap)
    published: list[tuple[int, tuple[Event, ...]]] = []
    publish = bus.publish

    async def stamped(*events: Event) -> None:
        await publish(*events)
        published.append((time.time_ns(), events))

    bus.publish = stamped  # type: ignore[method-assign]
    instrument = INSTRUMENTS[dialect]
    venue = VenueConfig(
        name=dialect,
        instruments={instrument: "BTC/USDT"},
        urls=info["ccxt"]["urls"],
        options=info["ccxt"].get("options", {}),
        api_key=SecretStr("any-key"),
        rate_limit_ms=0,
    )
    # no heartbeat: the run ends when nothing more is published, and a heartbeat never stops
    settings = MarketDataSettings(venues=(venue,), live=LiveSettings(heartbeat_s=None))
    registry = CollectorRegistry()
    feed = LiveFeed(settings, bus, ServiceMetrics("market-data", registry), registry)
    feed.broker_connected()
    await feed.start()
    run = Run(dialect, bus_kind)

    def activity() -> tuple[int, float]:
        """What the feed has done: batches published, its streams' last message."""
        return len(published), max((h.last_message or 0.0 for h in feed.streams), default=0.0)

    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(600):  # the three streams subscribed
                if len((await status(session, url))["subscriptions"]) >= 3:
                    break
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError(f"{dialect}: the feed did not subscribe to its streams")
            await asyncio.sleep(0.5)
            # 1. latency: real time, nothing queued
            latency_start = time.time_ns()
            await control(session, url, 1.0)
            await asyncio.sleep(args.latency_seconds)
            await control(session, url, None)
            await asyncio.sleep(1.0)
            latency_end = time.time_ns()
            # 2. throughput: the rest as fast as the fake sends it
            cpu_start = cpu_seconds(os.getpid()) or 0.0
            start = time.time_ns()
            await control(session, url, 0.0)
            cpu_end, seen, quiet_since = cpu_start, activity(), time.monotonic()
            while True:  # until the fake has applied everything and the feed is idle
                await asyncio.sleep(0.05)
                if activity() != seen:
                    seen, quiet_since = activity(), time.monotonic()
                    cpu_end = cpu_seconds(os.getpid()) or 0.0
                elif (
                    time.monotonic() - quiet_since > 1.5
                    and (await status(session, url))["finished"]
                ):
                    break
                if time.time_ns() - start > args.timeout * 1e9:
                    raise RuntimeError(f"{dialect}/{bus_kind}: not drained in {args.timeout} s")
    finally:
        await feed.stop()
        if isinstance(bus, KafkaBus):
            await bus.stop()
        child.stdin.close()
        await asyncio.to_thread(child.wait, 60)

    sends: dict[tuple[str, str], int] = {}
    last_send = start
    for line in out.read_text().splitlines():
        sent_ns, kind, venue_id = line.split()
        ns = int(sent_ns)
        if kind == "quote":
            venue_id = derive_event_id("md.quote", instrument, "sequence", int(venue_id))
        sends.setdefault((kind, venue_id), ns)
        if ns >= start:
            run.sent[kind] += 1
            last_send = max(last_send, ns)
    latencies = []
    end = start
    for published_ns, events in published:
        for event in events:
            kind, venue_id = kind_of(event)
            if latency_start <= published_ns <= latency_end:
                run.latency_events += 1
                sent_ns = sends.get((kind, venue_id)) if venue_id is not None else None
                if sent_ns is not None and sent_ns >= latency_start:
                    latencies.append((published_ns - sent_ns) / 1e6)
            elif published_ns >= start:
                run.published[kind] += 1
                end = max(end, published_ns)
    run.latencies_ms = np.array(latencies)
    run.wall_s = (end - start) / 1e9
    run.fake_s = (last_send - start) / 1e9
    run.cpu_s = cpu_end - cpu_start
    return run


# --- report -------------------------------------------------------------------------------


def report(runs: list[Run], args: argparse.Namespace) -> None:
    print(f"machine: {describe()}")
    print(
        "live market data: one process (LiveFeed: trades, quotes, books of BTC/USDT, book depth "
        "20) <- websockets <- fake exchange (its own process) replaying the recorded Binance "
        "BTCUSDT feed"
    )
    print()
    print("throughput: the recording after the latency phase replayed as fast as the fake sends")
    header = (
        f"{'dialect':<8} {'bus':<9} {'ws msgs':>8} {'msgs/s':>8} {'events':>8} {'events/s':>9} "
        f"{'wall s':>7} {'CPU s':>6} {'CPU %':>6} {'CPU µs/msg':>10} {'fake s':>7}"
    )
    print(header)
    for run in runs:
        msgs, events = sum(run.sent.values()), sum(run.published.values())
        wall = max(run.wall_s, 1e-9)
        print(
            f"{run.dialect:<8} {run.bus:<9} {msgs:>8,} {msgs / wall:>8,.0f} {events:>8,} "
            f"{events / wall:>9,.0f} {run.wall_s:>7.2f} {run.cpu_s:>6.2f} "
            f"{100 * run.cpu_s / wall:>6.0f} {1e6 * run.cpu_s / max(msgs, 1):>10.0f} "
            f"{run.fake_s:>7.2f}"
        )
    print(
        "  sent / published by kind (under load ccxt coalesces quotes and books into the latest; "
        "it keeps up to jules_venues.adapter.TRADES_CACHE trades between two reads)"
    )
    for run in runs:
        parts = [f"{k}s {run.sent[k]:,}/{run.published[k]:,}" for k in KINDS]
        parts.append(f"bars -/{run.published['bar']:,}")
        print(f"  {run.dialect:<8} {run.bus:<9} " + ", ".join(parts))
    print()
    print(
        f"tick-to-publish latency: the first {args.latency_seconds:g} s of the recording in "
        "real time (speed 1)"
    )
    print(f"{'dialect':<8} {'bus':<9} {'matched':>13} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for run in runs:
        lat = run.latencies_ms
        if lat.size == 0:
            print(f"{run.dialect:<8} {run.bus:<9} {'0':>13} (no event matched)")
            continue
        p50, p99 = np.percentile(lat, [50, 99])
        matched = f"{lat.size:,}/{run.latency_events:,}"
        print(
            f"{run.dialect:<8} {run.bus:<9} {matched:>13} {p50:>8.2f} {p99:>8.2f} {lat.max():>8.2f}"
        )
    print()
    print("what each figure measures:")
    print("  ws msgs, msgs/s: market-data websocket messages the fake sent (trades, best")
    print("    bid/offers, book updates) from the speed-0 start, per second of wall time from")
    print("    that start to the last publish (what the process took in)")
    print("  events, events/s: events published on the bus (trades, quotes, books, bars) in")
    print("    that time; on Kafka each batch waits for the broker's acknowledgement")
    print("  CPU s, CPU %, CPU µs/msg: user + system CPU of this process (the feed, ccxt, the")
    print("    bus client) over that wall time, and per websocket message")
    print("    (1e6 / CPU µs/msg: the messages per second one core could take)")
    print("  fake s: speed-0 start to the fake's last send (near wall s: the fake was the limit)")
    print("  latency: wall time bus.publish returned minus wall time the fake handed the")
    print("    websocket message carrying the event to its socket, per trade, quote and book")
    print("    (matched = events with their message found / events published, bars excluded)")


async def bench(args: argparse.Namespace) -> list[Run]:
    bootstrap = None
    buses = ["in-memory"]
    if not args.no_kafka:
        bootstrap = args.bootstrap or start_broker()[0]
        buses.append("kafka")
    runs = []
    with TemporaryDirectory() as folder:
        plan = [(d, b) for d in args.dialects for b in buses]
        # every fake loads the recording now, then waits paused (no CPU) for its run
        fakes = [start_fake(d, Path(folder) / f"{d}-{b}.sends") for d, b in plan]
        try:
            for fake in fakes:  # all loaded before any measurement
                assert fake.child.stdout is not None
                fake.info = json.loads(await asyncio.to_thread(fake.child.stdout.readline))
            for (dialect, bus_kind), fake in zip(plan, fakes, strict=True):
                runs.append(await one_run(dialect, bus_kind, fake, bootstrap, args))
        finally:
            for fake in fakes:
                if fake.child.poll() is None:
                    fake.child.kill()
                    fake.child.wait()
    return runs


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--fake-child":
        serve_fake(sys.argv[2], Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dialects", nargs="+", choices=sorted(INSTRUMENTS), default=["binance", "okx"]
    )
    parser.add_argument("--no-kafka", action="store_true", help="the in-memory bus only")
    parser.add_argument("--bootstrap", default=os.environ.get("JULES_KAFKA_BOOTSTRAP"))
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--timeout", type=float, default=120.0, help="throughput phase limit, s")
    args = parser.parse_args()
    configure_logging("market-data", "WARNING", json_logs=False)
    report(asyncio.run(bench(args)), args)


if __name__ == "__main__":
    main()
