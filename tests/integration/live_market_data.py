"""``jules-market-data run`` live against an in-process fake Binance exchange and the real broker.

``live_market_data`` starts the fake (paused) and the service subscribed to it; ``play_until``
replays the recording up to a point; ``metric`` reads one sample of the service's ``/metrics``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from jules_runtime.settings import KafkaSettings
from jules_venues.fake import FakeExchange, FaultUpdate, Market, load_feed
from prometheus_client.parser import text_string_to_metric_families

from .bus_helpers import create_scoped_topics, new_scope, wait_until
from .service_process import ServiceProcess, http_text, start_service

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
SPOT_FILE = DATA_DIR / "hftbacktest" / "examples" / "spot" / "btcusdt_20240808.gz"
INSTRUMENT = "BTCUSDT.BINANCE"

VenuesOf = Callable[[FakeExchange], list[dict[str, Any]]]
"""The ``VENUES`` entries of a run, given the started fake exchange."""


def venue_entry(fake: FakeExchange, **fields: Any) -> dict[str, Any]:
    """A ``VenueConfig`` entry for venue ``binance`` pointing at ``fake``; ``fields`` override."""
    ccxt = fake.ccxt_config()
    entry: dict[str, Any] = {
        "name": "binance",
        "instruments": {INSTRUMENT: "BTC/USDT"},
        "urls": ccxt["urls"],
        "options": ccxt.get("options", {}),
        "api_key": "any-key",  # the fake's historicalTrades takes any key
        "rate_limit_ms": 0,
        "book_depth": 5,
    }
    entry.update(fields)
    return entry


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples ``name`` whose labels include ``labels`` (0 if none)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for item in family.samples:
            if item.name == name and labels.items() <= item.labels.items():
                total += item.value
    return total


async def metrics(service: ServiceProcess) -> str:
    """The service's ``/metrics`` text."""
    return await asyncio.to_thread(http_text, service.base_url + "/metrics")


async def play_until(market: Market, seconds: float, speed: float = 30.0) -> None:
    """Replay at ``speed`` until ``seconds`` of the recording were applied, then pause."""
    end = market.feed.events[0].recv_ns + seconds * 1e9
    market.set_speed(speed)
    await wait_until(
        lambda: market.finished or market.feed.events[market.position].recv_ns > end, 60
    )
    market.set_speed(None)


@asynccontextmanager
async def live_market_data(
    kafka: Any,
    log_dir: Path,
    streams: list[str],
    faults: FaultUpdate | None = None,
    *,
    venues: VenuesOf | None = None,
    subscribers: int = 1,
    fake_class: type[FakeExchange] = FakeExchange,
    scope: str | None = None,
    **settings: str,
) -> AsyncIterator[tuple[FakeExchange, ServiceProcess, str]]:
    """The fake exchange (paused) and ``jules-market-data run`` subscribed to it.

    Args:
        kafka: The broker fixture.
        log_dir: Where the service's output goes (``market-data.log``).
        streams: The live streams (``live.streams``).
        faults: The fake's faults from the start.
        venues: The ``VENUES`` entries (default: one ``venue_entry``); an empty list leaves
            ``VENUES`` unset (the venues then come from ``settings``, e.g. ``venues_file``).
        subscribers: Subscribers of the first stream to wait for (one per venue).
        fake_class: The fake exchange's class.
        scope: The run scope (default: a new one); its topics are created if missing.
        **settings: More service settings (``JULES_MARKET_DATA__<NAME>``).

    Yields:
        The fake, the service and the run scope; the service must exit 0 on SIGTERM.
    """
    scope = scope or new_scope()
    await create_scoped_topics(KafkaSettings(bootstrap_servers=kafka.bootstrap), scope)
    market = Market(load_feed((SPOT_FILE,)), speed=None)
    async with fake_class(market, faults=faults, ping_interval=5.0) as fake:
        entries = [venue_entry(fake)] if venues is None else venues(fake)
        live = {
            "streams": streams,
            "backoff_min_s": 0.2,
            "backoff_max_s": 1.0,
            "stale_after_s": 3.0,
            **json.loads(settings.pop("live", "{}")),
        }
        if entries:
            settings["venues"] = json.dumps(entries)
        service = start_service(
            "market-data", kafka.bootstrap, scope, log_dir, live=json.dumps(live), **settings
        )
        try:
            await asyncio.to_thread(service.wait_ready)
            first = f"btcusdt@{'trade' if 'trades' in streams else 'depth@100ms'}"
            await wait_until(lambda: fake.context.subscriptions[first] >= subscribers, 60)
            yield fake, service, scope
        finally:
            status = await asyncio.to_thread(service.terminate)
            assert status == 0, service.log.read_text()[-3000:]
