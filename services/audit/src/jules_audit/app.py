"""The audit service over Kafka: every topic in, one hash-chained log on disk, checkpoints out.

The wiring (``create_app``) and the shutdown sequence (``stop_and_close``): what the service
records, publishes and skips, and how its log is opened and closed, is ``jules_audit.handlers``.
"""

from __future__ import annotations

import asyncio

from faststream.asgi import AsgiFastStream
from jules_contracts.topics import ALL_TOPICS
from jules_runtime.bus import KafkaBus
from jules_runtime.logging import logger
from jules_runtime.service import ServiceRuntime, create_service_app

from jules_audit.config import AuditSettings
from jules_audit.handlers import AuditRecorder

__all__ = ["create_app", "stop_and_close"]


async def stop_and_close(recorder: AuditRecorder, bus: KafkaBus, *, timeout_s: float) -> None:
    """The service's shutdown: stop consuming, close the log, publish the final checkpoints.

    FastStream runs shutdown hooks before it stops the broker, so consuming is stopped first
    (in-flight messages finish and commit) and nothing is appended after the close.

    Args:
        recorder: The service's recorder.
        bus: The service's bus (its producer still runs).
        timeout_s: How long publishing the final checkpoints may take. If it fails they are
            still in the log; only their copy on Kafka is late (logged).
    """
    await bus.stop_consuming()
    recorder.close()
    final = recorder.unpublished
    if not final:
        return
    try:
        await asyncio.wait_for(bus.publish(*final), timeout=timeout_s)
    except Exception:  # the checkpoints are in the log; only their copy on Kafka is late
        logger.exception("final checkpoints not published", count=len(final))


def create_app(settings: AuditSettings) -> AsgiFastStream:
    """Build the audit service (consumer group ``jules-audit``)."""

    def wire(runtime: ServiceRuntime) -> None:
        recorder = AuditRecorder(settings, runtime.registry)
        runtime.bus.subscribe(
            ALL_TOPICS,
            recorder.handle,
            on_outputs_published=recorder.outputs_published,
            on_outputs_abandoned=recorder.abandoned,
        )

        async def shutdown() -> None:
            await stop_and_close(recorder, runtime.bus, timeout_s=settings.kafka.graceful_timeout_s)

        runtime.on_startup.append(recorder.open)
        runtime.on_shutdown.append(shutdown)

    return create_service_app(settings, wire)
