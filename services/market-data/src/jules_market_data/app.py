"""The market-data service over Kafka: recorded files replayed onto the ``md.*`` topics.

There is no live venue connection yet (ccxt adapters come later). ``run`` replays the files
of its settings (``files``, ``speed``) in a background task started once the broker is
connected, and keeps serving ``/health``, ``/ready`` and ``/metrics`` after the replay ends;
SIGTERM cancels a replay still running. Besides the bus metrics every service has
(``jules_market_data_events_out_total`` by event type) it exports
``jules_market_data_rejected_rows_total`` by reason, the event time of the last event
published and the replay's state.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from faststream.asgi import AsgiFastStream
from jules_contracts import Event
from jules_runtime.logging import logger
from jules_runtime.service import ServiceRuntime, create_service_app
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client import Enum as StateMetric

from jules_market_data.config import MarketDataSettings
from jules_market_data.engine import MarketDataValidator, Rejection
from jules_market_data.replay import replay, replay_stream

__all__ = ["ReplayMetrics", "create_app", "replay_files"]


class ReplayMetrics:
    """The replay's own metrics (``jules_market_data_…``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.rejected = Counter(
            "jules_market_data_rejected_rows",
            "Rows and events refused by the loaders or the validator, by reason.",
            ["reason"],
            registry=registry,
        )
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


async def replay_files(
    runtime: ServiceRuntime,
    settings: MarketDataSettings,
    metrics: ReplayMetrics,
    connected: asyncio.Event,
) -> None:
    """Replay the configured files through the service's bus once ``connected`` is set."""
    if not settings.files:
        logger.warning(
            "no files to replay: live venues are not connected yet; serving health and metrics"
        )
        return
    await connected.wait()

    def published(events: Sequence[Event]) -> None:
        for event in events:
            runtime.metrics.events_out.labels(event_type=event.event_type).inc()
        metrics.event_time.set(events[-1].event_time / 1e9)

    def rejected(rejection: Rejection) -> None:
        metrics.rejected.labels(reason=rejection.reason.value).inc()

    metrics.state.state("running")
    files = [str(source.path) for source in settings.files]
    logger.info("replay started", files=",".join(files), speed=settings.speed or "full")
    try:
        report = await replay(
            runtime.bus,
            replay_stream(settings.files, MarketDataValidator(settings.validator)),
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


def create_app(settings: MarketDataSettings) -> AsgiFastStream:
    """Build the market-data service: replay ``settings.files`` in the background."""
    connected = asyncio.Event()

    def wire(runtime: ServiceRuntime) -> None:
        metrics = ReplayMetrics(runtime.registry)
        tasks: list[asyncio.Task[None]] = []

        async def start() -> None:
            # Start-up hooks run before FastStream connects the broker: the task waits.
            replaying = replay_files(runtime, settings, metrics, connected)
            tasks.append(asyncio.create_task(replaying, name="replay"))

        async def stop() -> None:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

        runtime.on_startup.append(start)
        runtime.on_shutdown.append(stop)

    app = create_service_app(settings, wire)

    @app.after_startup
    async def broker_connected() -> None:
        connected.set()

    return app
