"""A running service: its Kafka bus, HTTP endpoints, metrics and lifecycle.

``create_service_app(settings, wire)`` builds the FastStream ASGI application of a service:

* ``wire(runtime)`` subscribes the service's handlers on ``runtime.bus`` (and may add
  start-up and shutdown hooks); nothing connects before the app starts;
* ``GET /health`` answers 204 while the process runs and reaches the broker, and 200 with
  ``{"status": "degraded", …}`` while the broker is unreachable (the process is alive and
  resumes by itself: not a reason to restart it); ``GET /ready`` 204 once the broker answers
  (500 otherwise); ``GET /metrics`` the Prometheus metrics: FastStream's Kafka middleware plus
  ``jules_<service>_events_in_total``, ``…_events_out_total``, ``…_dead_letters_total``,
  ``…_processing_seconds`` and the broker link's ``…_kafka_reachable``,
  ``…_kafka_outages_total`` and ``…_kafka_log_records_suppressed_total``;
* SIGTERM (uvicorn) stops consuming, lets in-flight messages finish and commit, and closes.

``serve(app, settings)`` runs it with uvicorn; the service's ``run`` command calls it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from faststream.asgi import AsgiFastStream, AsgiResponse, get, make_ping_asgi
from jules_contracts import Event
from jules_contracts.enums import DeadLetterReason
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from jules_runtime.broker_link import LINK, BrokerLink
from jules_runtime.bus import KafkaBus
from jules_runtime.lockstep import LockstepDriver, Replica
from jules_runtime.lockstep.runner import LockstepRunner
from jules_runtime.logging import configure_logging, logger
from jules_runtime.settings import KafkaSettings, ServiceSettings

__all__ = [
    "BrokerLinkMetrics",
    "ServiceMetrics",
    "ServiceRuntime",
    "create_service_app",
    "health_response",
    "run_lockstep",
    "serve",
]

_LATENCY_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.5,
    1.0,
)


class ServiceMetrics:
    """Domain metrics of one service (``jules_<service>_…``), fed by the bus pipeline."""

    def __init__(self, service: str, registry: CollectorRegistry) -> None:
        prefix = f"jules_{service.replace('-', '_')}"
        self.events_in = Counter(
            f"{prefix}_events_in", "Messages received, by topic.", ["topic"], registry=registry
        )
        self.events_out = Counter(
            f"{prefix}_events_out",
            "Events published, by event type.",
            ["event_type"],
            registry=registry,
        )
        self.dead_letters = Counter(
            f"{prefix}_dead_letters",
            "Messages sent to a dead-letter topic, by topic and reason.",
            ["topic", "reason"],
            registry=registry,
        )
        self.redeliveries_skipped = Counter(
            f"{prefix}_redeliveries_skipped",
            "Messages skipped: their event_id was already processed, by topic.",
            ["topic"],
            registry=registry,
        )
        self.last_event_time = Gauge(
            f"{prefix}_last_event_time_seconds",
            "Event time of the last message processed (Unix seconds).",
            registry=registry,
        )
        self.since_origin = Histogram(
            f"{prefix}_since_origin_seconds",
            "Time from the publication of the market event that started a chain to the "
            "publication of this service's output (envelope headers), by output event type. "
            "At the order-router, event_type=order.accepted is tick-to-order latency.",
            ["event_type"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.processing = Histogram(
            f"{prefix}_processing_seconds",
            "Time from receiving a message to its outputs being acknowledged.",
            ["topic"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )

    def message_received(self, topic: str) -> None:
        """Count a message received."""
        self.events_in.labels(topic=topic).inc()

    def message_processed(
        self, topic: str, seconds: float, event: Event, outputs: Sequence[Event]
    ) -> None:
        """Record a processed message and the events it published."""
        self.processing.labels(topic=topic).observe(seconds)
        self.last_event_time.set(event.event_time / 1e9)
        for output in outputs:
            self.events_out.labels(event_type=output.event_type).inc()

    def outputs_since_origin(self, seconds: float, outputs: Sequence[Event]) -> None:
        """Observe the time since the chain's market event, once per output event type."""
        for event_type in {output.event_type for output in outputs}:
            self.since_origin.labels(event_type=event_type).observe(seconds)

    def step_published(self, time: int, events: Sequence[Event]) -> None:
        """Record a lockstep step (backtest mode): its event time and the events it published."""
        self.last_event_time.set(time / 1e9)
        for output in events:
            self.events_out.labels(event_type=output.event_type).inc()

    def message_dead_lettered(self, topic: str, reason: DeadLetterReason) -> None:
        """Count a dead letter."""
        self.dead_letters.labels(topic=topic, reason=reason.value).inc()

    def message_duplicate(self, topic: str) -> None:
        """Count a message skipped as a redelivery of an event already processed."""
        self.redeliveries_skipped.labels(topic=topic).inc()


class BrokerLinkMetrics(Collector):
    """The broker link's state as metrics of the service.

    ``jules_<service>_kafka_reachable`` (1 or 0), ``…_kafka_outages_total`` and
    ``…_kafka_log_records_suppressed_total`` (the clients' log records dropped during outages).
    """

    def __init__(self, service: str, link: BrokerLink = LINK) -> None:
        self._prefix = f"jules_{service.replace('-', '_')}_kafka"
        self._link = link

    def collect(self) -> list[Metric]:
        """The current values."""
        state = self._link.snapshot()
        return [
            GaugeMetricFamily(
                f"{self._prefix}_reachable",
                "1 while the Kafka broker answers, 0 during an outage.",
                value=1 if state.reachable else 0,
            ),
            CounterMetricFamily(
                f"{self._prefix}_outages",
                "Outages of the Kafka broker seen by this process.",
                value=state.outages,
            ),
            CounterMetricFamily(
                f"{self._prefix}_log_records_suppressed",
                "Kafka client log records dropped while the broker was unreachable.",
                value=state.suppressed,
            ),
        ]


def health_response(link: BrokerLink = LINK) -> AsgiResponse:
    """``/health``: 204 when the broker is reachable; 200 ``degraded`` (JSON) when it is not."""
    state = link.snapshot()
    if state.down_since is None:
        return AsgiResponse(b"", 204)
    body = {
        "status": "degraded",
        "kafka": "unreachable",
        "down_for_s": round(time.monotonic() - state.down_since, 3),
    }
    headers = {"content-type": "application/json"}
    return AsgiResponse(json.dumps(body).encode(), 200, headers=headers)


@dataclass
class ServiceRuntime:
    """What a service's ``wire`` function gets: settings, bus, metrics and lifecycle hooks."""

    settings: ServiceSettings
    bus: KafkaBus
    registry: CollectorRegistry
    metrics: ServiceMetrics
    on_startup: list[Callable[[], Any]] = field(default_factory=list)
    """Run before the broker connects."""
    after_startup: list[Callable[[], Any]] = field(default_factory=list)
    """Run once the broker is connected (the producer can publish)."""
    on_shutdown: list[Callable[[], Any]] = field(default_factory=list)
    """Run when the service stops, before the broker closes."""


def _prometheus_middleware(kafka: KafkaSettings, service: str, registry: CollectorRegistry) -> Any:
    """FastStream's Prometheus middleware of the client's transport."""
    if kafka.client == "confluent":
        from faststream.confluent.prometheus import KafkaPrometheusMiddleware
    else:
        from faststream.kafka.prometheus import KafkaPrometheusMiddleware  # type: ignore[assignment]
    return KafkaPrometheusMiddleware(
        registry=registry,
        app_name=f"jules-{service}",
        metrics_prefix=f"jules_{service.replace('-', '_')}_faststream",
    )


def create_service_app(
    settings: ServiceSettings, wire: Callable[[ServiceRuntime], object]
) -> AsgiFastStream:
    """Build a service's ASGI application (nothing connects until it starts).

    Args:
        settings: The service's validated settings.
        wire: Subscribes the service's handlers (and hooks) on the runtime's bus.

    Returns:
        The FastStream ASGI application, for ``serve`` or any ASGI server.
    """
    service = settings.service_name
    registry = CollectorRegistry()
    metrics = ServiceMetrics(service, registry)
    registry.register(BrokerLinkMetrics(service))
    bus = KafkaBus(
        service,
        settings.kafka,
        settings.run_scope,
        client_id=settings.client_id,
        observer=metrics,
        middlewares=[_prometheus_middleware(settings.kafka, service, registry)],
    )
    runtime = ServiceRuntime(settings, bus, registry, metrics)
    wire(runtime)

    @get
    async def health(scope: Any) -> AsgiResponse:
        return health_response()

    @get
    async def metrics_endpoint(scope: Any) -> AsgiResponse:
        return AsgiResponse(
            generate_latest(registry), 200, headers={"content-type": CONTENT_TYPE_LATEST}
        )

    async def started() -> None:
        logger.info(
            "service started",
            scope=settings.run_scope,
            group=settings.consumer_group,
            client=settings.kafka.client,
        )

    return AsgiFastStream(
        bus.broker,
        asgi_routes=[
            ("/health", health),
            ("/ready", make_ping_asgi(bus.broker, timeout=5.0)),
            ("/metrics", metrics_endpoint),
        ],
        logger=logging.getLogger(f"jules.{service}.app"),
        on_startup=list(runtime.on_startup),
        after_startup=[bus.started, started, *runtime.after_startup],
        on_shutdown=[*runtime.on_shutdown, bus.stop_watching],
    )


def run_lockstep(
    runtime: ServiceRuntime, driver: LockstepDriver, *, replica: Replica | None = None
) -> LockstepRunner:
    """Run ``driver`` in backtest mode once the service has started (see ``lockstep``).

    The runner starts after the broker connects and stops with the service; each step sets
    the service's ``last_event_time`` and counts its events.

    Args:
        runtime: The service's runtime.
        driver: The service's lockstep logic.
        replica: The partitions this process owns (all by default).
    """
    settings = runtime.settings
    runner = LockstepRunner(
        driver,
        runtime.bus,
        settings.kafka,
        settings.run_scope,
        settings.service_name,
        on_step=lambda output: runtime.metrics.step_published(output.time, output.events),
        replica=replica,
    )

    async def start() -> None:
        runner.start()

    runtime.after_startup.append(start)
    runtime.on_shutdown.append(runner.stop)
    return runner


class _Server(uvicorn.Server):
    """uvicorn's server, but a graceful stop on SIGTERM/SIGINT exits with status 0.

    uvicorn re-raises the signal once it has shut down, so the process would end "killed by
    SIGTERM" even after a clean shutdown; a service that stopped cleanly exits 0.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def serve(app: AsgiFastStream, settings: ServiceSettings) -> None:
    """Run the app with uvicorn until SIGTERM or SIGINT (graceful: in-flight work finishes)."""
    configure_logging(settings.service_name, settings.log.level, json_logs=settings.log.json_logs)
    config = uvicorn.Config(
        app,
        host=settings.http.host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(settings.kafka.graceful_timeout_s) + 5,
    )
    _Server(config).run()
