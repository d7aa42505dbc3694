"""The audit service's handler: every event appended once to one hash-chained log on disk.

One subscription consumes every topic of ``jules_contracts.topics.ALL_TOPICS`` (consumer
group ``jules-audit``) and appends each event to one ``AuditWriter`` (``AuditRecorder``):

* the writer is opened at start-up, before the broker starts consuming (an existing log is
  verified and resumed; one that fails verification stops the service), and closed at
  shutdown after consuming has stopped (``jules_audit.app.stop_and_close``), so a SIGTERM
  leaves a closed log that verifies;
* an event already recorded (a redelivery, also across restarts) is not recorded again;
* the service publishes nothing but its checkpoints, on ``audit.checkpoints.v1``: a
  checkpoint written while handling a message is one of that message's outputs, so the
  offset is committed only once the checkpoint is acknowledged; the checkpoints written when
  a log is resumed go out with the next message, the final one at shutdown;
* the service reads its own checkpoints back (it consumes ``audit.checkpoints.v1`` too) and
  skips every event whose ``source`` is ``audit``: they are already in ``checkpoints.jsonl``,
  and recording them would checkpoint the checkpoints forever.
"""

from __future__ import annotations

from collections.abc import Sequence

from jules_contracts import Event
from jules_contracts.system import AuditCheckpoint
from jules_runtime.bus import InboundRecord
from jules_runtime.logging import logger
from prometheus_client import CollectorRegistry, Counter, Gauge

from jules_audit.config import AuditSettings
from jules_audit.engine.chain import AUDIT_SOURCE
from jules_audit.store import AuditWriter

__all__ = ["AuditRecorder"]


class AuditRecorder:
    """The audit service's state: the writer, the checkpoints not yet published, the metrics.

    Args:
        settings: Where the log goes and how it is cut and signed.
        registry: Where the ``jules_audit_*`` domain metrics are registered.
    """

    def __init__(self, settings: AuditSettings, registry: CollectorRegistry) -> None:
        self._settings = settings
        self._writer: AuditWriter | None = None
        self._unpublished: list[AuditCheckpoint] = []
        self._handed: set[str] = set()
        """Ids of the checkpoints handed to the bus and not yet acknowledged."""
        self.records = Counter(
            "jules_audit_records", "Events recorded in the audit log.", registry=registry
        )
        self.duplicates = Counter(
            "jules_audit_duplicates",
            "Events already recorded (redeliveries), not recorded again.",
            registry=registry,
        )
        self.own_events = Counter(
            "jules_audit_own_events_skipped",
            "Events of the audit service itself read back (its checkpoints), never recorded.",
            registry=registry,
        )
        self.checkpoints = Counter(
            "jules_audit_checkpoints", "Checkpoints written to the log.", registry=registry
        )
        self.sequence = Gauge(
            "jules_audit_sequence", "Sequence number of the last record.", registry=registry
        )

    @property
    def writer(self) -> AuditWriter:
        """The open writer.

        Raises:
            RuntimeError: The log is not open (before start-up or after shutdown).
        """
        if self._writer is None:
            raise RuntimeError("the audit log is not open")
        return self._writer

    @property
    def unpublished(self) -> list[AuditCheckpoint]:
        """Checkpoints written to the log and not yet acknowledged on Kafka, oldest first."""
        return list(self._unpublished)

    def open(self) -> None:
        """Open (or resume) the log.

        Raises:
            jules_audit.store.AuditLogError: The existing log fails verification.
        """
        settings = self._settings
        self._writer = AuditWriter(
            settings.directory,
            segment_records=settings.segment_records,
            checkpoint_every=settings.checkpoint_every,
            key=settings.signing_key(),
            fsync_every_record=settings.fsync_every_record,
            on_checkpoint=self._checkpoint_written,
        )
        self.sequence.set(self._writer.sequence)
        logger.info(
            "audit log open",
            directory=str(settings.directory),
            sequence=self._writer.sequence,
            head=self._writer.head,
            signed=settings.key_file is not None,
        )

    def close(self) -> None:
        """Write the final checkpoint and close the log (idempotent)."""
        if self._writer is None:
            return
        writer, self._writer = self._writer, None
        writer.close()
        logger.info(
            "audit log closed",
            directory=str(writer.directory),
            sequence=writer.sequence,
            head=writer.head,
        )

    async def handle(self, event: Event) -> Sequence[Event]:
        """Record one event; return the checkpoints to publish (possibly none).

        The append is synchronous: nothing else touches the log while it runs. A checkpoint
        goes out once, with the first event handled after it was written (the bus handles a
        batch of events before their outputs are acknowledged, so later events of the batch
        must not publish it again). If its publication fails (``abandoned``), it goes out
        again with the next event handled, the first of the redelivery.
        """
        if event.source == AUDIT_SOURCE:
            self.own_events.inc()
        elif self.writer.append(event) is None:
            self.duplicates.inc()
        else:
            self.records.inc()
            self.sequence.set(self.writer.sequence)
        carried = [c for c in self._unpublished if c.event_id not in self._handed]
        self._handed.update(c.event_id for c in carried)
        return carried

    def outputs_published(
        self, record: InboundRecord, event: Event, outputs: Sequence[Event]
    ) -> None:
        """Forget the checkpoints the broker has acknowledged (bus hook, before the commit)."""
        published = {output.event_id for output in outputs}
        self._unpublished = [c for c in self._unpublished if c.event_id not in published]
        self._handed -= published

    def abandoned(self) -> None:
        """Bus hook: outputs were not acknowledged; hand the checkpoints out again."""
        self._handed.clear()

    def _checkpoint_written(self, checkpoint: AuditCheckpoint) -> None:
        self.checkpoints.inc()
        self._unpublished.append(checkpoint)
