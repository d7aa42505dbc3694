"""The audit service over Kafka: every topic in, one hash-chained log on disk, checkpoints out.

The wiring only (``create_app``): what the service records, publishes and skips, and how its
log is opened and closed, is ``jules_audit.handlers``.
"""

from __future__ import annotations

from faststream.asgi import AsgiFastStream
from jules_contracts.topics import ALL_TOPICS
from jules_runtime.service import ServiceRuntime, create_service_app

from jules_audit.config import AuditSettings
from jules_audit.handlers import AuditRecorder, stop_and_close

__all__ = ["create_app"]


def create_app(settings: AuditSettings) -> AsgiFastStream:
    """Build the audit service (consumer group ``jules-audit``)."""

    def wire(runtime: ServiceRuntime) -> None:
        recorder = AuditRecorder(settings, runtime.registry)
        runtime.bus.subscribe(
            ALL_TOPICS, recorder.handle, on_outputs_published=recorder.outputs_published
        )

        async def shutdown() -> None:
            await stop_and_close(recorder, runtime.bus, timeout_s=settings.kafka.graceful_timeout_s)

        runtime.on_startup.append(recorder.open)
        runtime.on_shutdown.append(shutdown)

    return create_service_app(settings, wire)
