"""The market-data service's work: the configured files replayed onto the ``md.*`` topics.

Without venues (the live mode is ``jules_market_data.live``), ``FileReplay`` replays the
files of the settings (``files``, ``speed``) in a background task: started at start-up, it
waits until the broker is connected, publishes every accepted event through the service's
bus, and counts what it publishes and refuses (``ReplayMetrics``); the service keeps serving
``/health``, ``/ready`` and ``/metrics`` after the replay ends, and stopping the service
cancels a replay still running.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from jules_contracts import Event
from jules_runtime.bus import Bus
from jules_runtime.logging import logger
from jules_runtime.service import ServiceMetrics
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client import Enum as StateMetric

from jules_market_data.config import MarketDataSettings
from jules_market_data.engine import MarketDataValidator, Rejection
from jules_market_data.replay import replay, replay_stream

__all__ = ["FileReplay", "ReplayMetrics", "rejected_rows"]


def rejected_rows(registry: CollectorRegistry) -> Counter:
    """``jules_market_data_rejected_rows_total`` by reason (the replay's and the live mode's)."""
    return Counter(
        "jules_market_data_rejected_rows",
        "Rows and events refused by the loaders or the validator, by reason.",
        ["reason"],
        registry=registry,
    )


class ReplayMetrics:
    """The replay's own metrics (``jules_market_data_…``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.rejected = rejected_rows(registry)
        self.event_time = Gauge(
            "jules_market_data_replay_event_time_seconds",
            "Event time of the last event the replay published (Unix seconds).",
            registry=registry,
        )
        self.state = StateMetric(
            "jules_market_data_replay_state",
            "Where the replay of the configured files is.",
            states=["idle", "running", "finished", "failed", "stopped"],
            registry=registry,
        )


class FileReplay:
    """The replay of the configured files through the service's bus, in a background task.

    ``start`` (a start-up hook: it runs before the broker connects) starts the task, which
    waits for ``broker_connected`` (an after-start-up hook) before it publishes; ``stop`` (a
    shutdown hook) cancels a replay still running.

    Args:
        settings: The files, the speed, the validator and the publishing batch.
        bus: The service's bus.
        service_metrics: The bus metrics (``events_out`` counts what the replay publishes).
        registry: Where the ``ReplayMetrics`` are registered.
    """

    def __init__(
        self,
        settings: MarketDataSettings,
        bus: Bus,
        service_metrics: ServiceMetrics,
        registry: CollectorRegistry,
    ) -> None:
        self._settings = settings
        self._bus = bus
        self._events_out = service_metrics.events_out
        self.metrics = ReplayMetrics(registry)
        self._connected = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start the replay task (it waits for the broker)."""
        self._tasks.append(asyncio.create_task(self.run(), name="replay"))

    def broker_connected(self) -> None:
        """The broker is connected: the replay may publish."""
        self._connected.set()

    async def stop(self) -> None:
        """Cancel the replay if it still runs, and wait for it."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        """Replay the configured files once the broker is connected (the task's body)."""
        settings, metrics = self._settings, self.metrics
        if not settings.files:
            logger.warning(
                "no files to replay and no venues configured; serving health and metrics"
            )
            return
        await self._connected.wait()

        def published(events: Sequence[Event]) -> None:
            for event in events:
                self._events_out.labels(event_type=event.event_type).inc()
            metrics.event_time.set(events[-1].event_time / 1e9)

        def rejected(rejection: Rejection) -> None:
            metrics.rejected.labels(reason=rejection.reason.value).inc()

        metrics.state.state("running")
        files = [str(source.path) for source in settings.files]
        logger.info("replay started", files=",".join(files), speed=settings.speed or "full")
        try:
            report = await replay(
                self._bus,
                replay_stream(
                    settings.files,
                    MarketDataValidator(settings.validator),
                    book_depth=settings.book_depth,
                ),
                speed=settings.speed,
                batch_size=settings.publish_batch,
                on_published=published,
                on_rejected=rejected,
            )
        except asyncio.CancelledError:
            metrics.state.state("stopped")
            logger.info("replay stopped before the end of the files")
            raise
        except Exception:
            metrics.state.state("failed")
            logger.exception("replay failed")
            return
        metrics.state.state("finished")
        logger.info(
            "replay finished",
            published=report.total_published,
            rejected=report.total_rejected,
            rejected_by_reason=",".join(f"{r}={n}" for r, n in sorted(report.rejected.items())),
            seconds=round(report.wall_seconds, 3),
        )
