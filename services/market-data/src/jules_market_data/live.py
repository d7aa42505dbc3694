"""The live mode: venues' trades, quotes and books through ``jules_venues`` onto ``md.*`` topics.

``LiveFeed`` (wired like ``FileReplay``: ``start``, ``broker_connected``, ``stop``) runs one
task per configured instrument and stream (``trades``, ``quotes``, ``books``) over the venue's
adapter, and one publisher task that takes what the streams gave, in arrival order, and:

1. drops an event whose id was published already for its instrument (a bounded window of
   recent ids: a trade sent twice, a backfill overlapping the stream) — counted, not refused;
2. validates it with the same ``MarketDataValidator`` (and reason codes) as the file replay;
   refused events are counted by reason and never published;
3. builds bars from the accepted trades in event time (``BarAggregator``; a bar goes out when
   a trade of a later interval arrives, an unfinished bar is never published);
4. publishes everything in batches (one acknowledgement wait per batch) and, with
   ``live.record_dir``, records it (``LiveRecorder``).

A stream that fails (a dropped websocket, a refused handshake, a 429) reconnects after an
exponential backoff (``live.backoff_min_s`` doubling up to ``live.backoff_max_s``; a venue's
``Retry-After`` is honoured). After a trades stream reconnects, the trades missed are fetched
over REST (``fetch_trades`` from the last trade seen), once before the stream is read again and
once up to the first trade it gives; they carry the ids the stream would have given them, so
the repeats are dropped and the bars, built from the trades, come out as without the gap. A
books stream rebuilds its book from a REST snapshot after a sequence gap (the adapter) or a
reconnection; both count as resyncs. Feed health: see ``live_health``. Every ``live.heartbeat_s``
the market time now goes out on ``watermarks.v1`` (``live_clock``), even while every stream is
silent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from ccxt.base.errors import DDoSProtection
from jules_contracts import BookSnapshot, Event, JulesError, Trade, market_heartbeat
from jules_runtime.bus import Bus
from jules_runtime.logging import logger
from jules_runtime.service import ServiceMetrics
from jules_venues import VenueAdapter, VenueConfig, VenueConfigError, adapter_for
from prometheus_client import CollectorRegistry
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from jules_market_data.config import MarketDataSettings
from jules_market_data.engine import BarAggregator, MarketDataValidator, Rejection, RejectReason
from jules_market_data.live_clock import MarketClock
from jules_market_data.live_health import FeedMetrics, StreamHealth
from jules_market_data.live_record import LiveRecorder

__all__ = ["LiveFeed"]

AdapterFactory = Callable[[VenueConfig], VenueAdapter]
REST_ATTEMPTS = 8
"""Attempts of one REST call (backfill) before the stream reconnects and tries again."""


class FeedSilentError(JulesError):
    """A stream sent nothing for ``stale_after_s``: it is reconnected."""


def _retry_after(adapter: VenueAdapter) -> float | None:
    """The ``Retry-After`` of the venue's last REST answer, in seconds, if it said one."""
    headers = getattr(adapter.rest, "last_response_headers", None) or {}
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")
        return None if value is None else float(value)
    except (AttributeError, TypeError, ValueError):
        return None


class LiveFeed:
    """The configured venues' market data onto the ``md.*`` topics, in background tasks.

    Args:
        settings: The venues, the validator, the publishing batch and the live options.
        bus: The service's bus.
        service_metrics: The bus metrics (``events_out`` counts what is published).
        registry: Where the ``FeedMetrics`` are registered.
        adapter_factory: Builds a venue's adapter (``jules_venues.adapter_for``).
    """

    def __init__(
        self,
        settings: MarketDataSettings,
        bus: Bus,
        service_metrics: ServiceMetrics,
        registry: CollectorRegistry,
        *,
        adapter_factory: AdapterFactory = adapter_for,
    ) -> None:
        self._settings = settings
        self._live = settings.live
        self._bus = bus
        self._events_out = service_metrics.events_out
        self.metrics = FeedMetrics(registry)
        self._factory = adapter_factory
        self.validator = MarketDataValidator(settings.validator)
        self._bars = BarAggregator(settings.live.bars)
        self.clock = MarketClock()
        self._last_trade: dict[str, int] = {}
        self._resyncs_seen: dict[str, int] = {}
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._connected = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._adapters: list[VenueAdapter] = []
        self.streams: list[StreamHealth] = []
        self.recorder = (
            None
            if settings.live.record_dir is None
            else LiveRecorder(settings.live.record_dir, settings.live.record_rows)
        )

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the feed's task (it waits for the broker before it subscribes)."""
        self._tasks.append(asyncio.create_task(self.run(), name="live-feed"))

    def broker_connected(self) -> None:
        """The broker is connected: the feed may subscribe and publish."""
        self._connected.set()

    async def run(self) -> None:
        """Subscribe to every configured stream once the broker is connected."""
        await self._connected.wait()
        for config in self._settings.venues:
            adapter = self._factory(config)
            self._adapters.append(adapter)
            for instrument in config.instruments:
                for stream in self._live.streams:
                    health = StreamHealth(config.name, instrument, stream)
                    self.streams.append(health)
                    self.metrics.register(health)
                    self._spawn(self._stream(adapter, health), f"live-{instrument}-{stream}")
        self._spawn(self._publish_forever(), "live-publisher")
        self._spawn(self._watch_health(), "live-health")
        if self._live.heartbeat_s is not None:
            self._spawn(self._heartbeat_forever(self._live.heartbeat_s), "live-heartbeat")
        logger.info(
            "live feed started",
            venues=",".join(v.name for v in self._settings.venues),
            instruments=",".join(i for v in self._settings.venues for i in v.instruments),
            streams=",".join(self._live.streams),
        )

    def _spawn(self, body: Awaitable[None], name: str) -> None:
        self._tasks.append(asyncio.create_task(body, name=name))  # type: ignore[arg-type]

    async def stop(self) -> None:
        """Stop the streams, publish what they already gave, record it and close the venues."""
        publisher = [t for t in self._tasks if t.get_name() == "live-publisher"]
        for task in self._tasks:
            if task not in publisher:
                task.cancel()
        for task in self._tasks:
            if task not in publisher:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if publisher and not publisher[0].done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), timeout=5.0)
        for task in publisher:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if not self._queue.empty():
            logger.warning("live events not published at shutdown", count=self._queue.qsize())
        if self.recorder is not None:
            self.recorder.close()
        for adapter in self._adapters:
            with contextlib.suppress(Exception):
                await adapter.close()
        logger.info("live feed stopped")

    # --- streams --------------------------------------------------------------------------

    def _delay(self, failures: int, error: BaseException | None, adapter: VenueAdapter) -> float:
        """The wait before the next attempt: exponential, at least the venue's Retry-After."""
        live = self._live
        wait = min(live.backoff_max_s, live.backoff_min_s * 2.0 ** max(failures - 1, 0))
        if isinstance(error, DDoSProtection):  # 429 and other rate limits
            wait = max(wait, _retry_after(adapter) or 1.0)
        return wait

    async def _backoff(self, adapter: VenueAdapter, failures: int, error: BaseException) -> None:
        wait = self._delay(failures, error, adapter)
        venue = adapter.config.name
        self.metrics.retries.labels(venue, type(error).__name__).inc()
        self.metrics.backoff.labels(venue).inc(wait)
        await asyncio.sleep(wait)

    async def _stream(self, adapter: VenueAdapter, health: StreamHealth) -> None:
        """Run one stream for ever: reconnect with backoff after every error."""
        body = {"trades": self._trades, "quotes": self._quotes, "books": self._books}
        attempt = body[health.stream]
        while True:
            try:
                await attempt(adapter, health)
            except asyncio.CancelledError:
                raise
            except VenueConfigError as error:
                logger.error("live stream stopped: {}", error, stream=health.stream)
                return
            except Exception as error:
                self.metrics.failed(health)
                logger.warning(
                    "live stream failed, reconnecting",
                    venue=health.venue,
                    instrument=health.instrument,
                    stream=health.stream,
                    error=f"{type(error).__name__}: {str(error)[:200]}",
                    attempt=health.failures,
                )
                await self._backoff(adapter, health.failures, error)

    async def _consume(
        self,
        adapter: VenueAdapter,
        items: AsyncIterator[Any],
        on_item: Callable[[Any], Awaitable[None]],
    ) -> None:
        """Hand each item to ``on_item``; a stream silent for ``stale_after_s`` is failed.

        A websocket can stay open and send nothing (a venue that stopped the stream, a client
        left in a bad state by refused handshakes): after ``stale_after_s`` without an item
        the adapter's clients are closed, so the reconnection starts from new ones.
        """
        silence = self._live.stale_after_s
        try:
            while True:
                try:
                    async with asyncio.timeout(silence):
                        item = await anext(items)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    await adapter.close()
                    raise FeedSilentError(f"no message for {silence:g} s") from None
                await on_item(item)
        finally:
            close = getattr(items, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()

    async def _trades(self, adapter: VenueAdapter, health: StreamHealth) -> None:
        instrument = health.instrument
        gap = instrument in self._last_trade  # a reconnection: trades may have been missed
        if gap:
            await self._backfill(adapter, instrument, None)

        async def on_trade(trade: Trade) -> None:
            nonlocal gap
            self.metrics.message(health)
            if gap:
                gap = False
                await self._backfill(adapter, instrument, trade.event_time + 1)
            self._put(trade)

        await self._consume(adapter, adapter.watch_trades(instrument), on_trade)

    async def _backfill(self, adapter: VenueAdapter, instrument: str, until: int | None) -> None:
        """Fetch the trades since the last one seen (up to ``until``) and queue them."""
        since = self._last_trade.get(instrument)
        if since is None:
            return

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome is not None else None
            return self._delay(state.attempt_number, error, adapter)

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome is not None else None
            sleep = state.next_action.sleep if state.next_action is not None else 0.0
            self.metrics.retries.labels(adapter.config.name, type(error).__name__).inc()
            self.metrics.backoff.labels(adapter.config.name).inc(sleep)
            logger.warning(
                "trade backfill failed, retrying",
                instrument=instrument,
                error=type(error).__name__,
                wait=round(sleep, 3),
            )

        trades: list[Trade] = []
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(lambda e: not isinstance(e, VenueConfigError)),
            stop=stop_after_attempt(REST_ATTEMPTS),
            wait=wait,
            before_sleep=before_sleep,
            reraise=True,
        ):
            with attempt:
                trades = await adapter.fetch_trades(instrument, since, until)
        trades.sort(key=lambda t: (t.event_time, t.trade_id or ""))
        self.metrics.backfilled.labels(instrument).inc(len(trades))
        logger.info(
            "trades backfilled over REST",
            instrument=instrument,
            since=since,
            fetched=len(trades),
        )
        for trade in trades:
            self._put(trade)

    async def _quotes(self, adapter: VenueAdapter, health: StreamHealth) -> None:
        async def on_quote(quote: Event) -> None:
            self.metrics.message(health)
            self._put(quote)

        await self._consume(adapter, adapter.watch_quotes(health.instrument), on_quote)

    async def _books(self, adapter: VenueAdapter, health: StreamHealth) -> None:
        instrument = health.instrument
        if health.reconnects:
            self._resynced(instrument, "reconnection")

        async def on_book(book: BookSnapshot) -> None:
            self.metrics.message(health)
            resyncs = adapter.book_resyncs.get(instrument, 0)
            if resyncs > self._resyncs_seen.get(instrument, 0):
                self._resyncs_seen[instrument] = resyncs
                self._resynced(instrument, "sequence gap")
            self._put(book)

        await self._consume(adapter, adapter.watch_book(instrument), on_book)

    def _resynced(self, instrument: str, cause: str) -> None:
        self.metrics.resyncs.labels(instrument).inc()
        logger.warning("book resynchronised from a snapshot", instrument=instrument, cause=cause)

    def _put(self, event: Event) -> None:
        if isinstance(event, Trade):
            last = self._last_trade.get(event.instrument_id)
            if last is None or event.event_time > last:
                self._last_trade[event.instrument_id] = event.event_time
        self._queue.put_nowait(event)

    async def _watch_health(self) -> None:
        interval = min(1.0, self._live.stale_after_s / 4)
        while True:
            self.metrics.refresh(self.streams, self._live.stale_after_s)
            await asyncio.sleep(interval)

    # --- publishing -----------------------------------------------------------------------

    def process(self, event: Event) -> list[Event]:
        """Validate and aggregate one event: what to publish for it.

        A repeat (an id already published: a trade sent twice, a backfill overlapping the
        stream) is the validator's ``DUPLICATE``, within its ``dedup_window``; it is also
        counted as a live duplicate.
        """
        checked = self.validator.check(event)
        if isinstance(checked, Rejection):
            if checked.reason is RejectReason.DUPLICATE:
                instrument = str(getattr(event, "instrument_id", ""))
                self.metrics.duplicates.labels(instrument).inc()
            self.metrics.rejected.labels(reason=checked.reason.value).inc()
            logger.debug("live event refused: {}", checked)
            return []
        if isinstance(event, Trade):
            return [event, *self._bars.on_event(event)]
        return [event]

    async def _publish_forever(self) -> None:
        batch_size = self._settings.publish_batch
        while True:
            items = [await self._queue.get()]
            while len(items) < batch_size and not self._queue.empty():
                items.append(self._queue.get_nowait())
            try:
                events = [out for item in items for out in self.process(item)]
                if events:
                    await self._publish(events)
            except Exception:
                logger.exception("live events could not be published", count=len(items))
            finally:
                for _ in items:
                    self._queue.task_done()

    async def _publish(self, events: Sequence[Event]) -> None:
        await self._bus.publish(*events)
        for event in events:
            self.clock.observe(event.event_time)
            self._events_out.labels(event_type=event.event_type).inc()
            instrument = getattr(event, "instrument_id", None)
            if instrument is not None:
                self.metrics.event_time.labels(instrument).set(event.event_time / 1e9)
        if self.recorder is not None:
            self.recorder.add(events)

    async def _heartbeat_forever(self, interval: float) -> None:
        """Publish the market time every ``interval`` seconds once an event was published."""
        while True:
            await asyncio.sleep(interval)
            now = self.clock.now()
            if now is None:
                continue
            try:
                await self._bus.publish(beat := market_heartbeat(now))
            except Exception:
                logger.exception("live heartbeat could not be published")
                continue
            self._events_out.labels(event_type=beat.event_type).inc()
