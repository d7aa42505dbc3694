"""The model in service on the control-state topic, written on every change, restored at start-up.

The signal service keeps one entry per registry model on ``control-state.v1`` (compacted, the
topic risk writes its kill switch and configuration to; same codec,
``jules_runtime.bus.state_codec``): key ``signal/model/<model name>/production``, value a
``jules_contracts.control.ModelInService`` (version, the ONNX file read, its SHA-256, the
swap that put it in service and where it was read on ``control.v1``). A service serving a
fixed strategy (``STRATEGY``, ``MODEL_PATH``) has no entry.

* Written (``ModelStateWriter``) at start-up, once the broker is connected, and after each
  batch of the control consumer in which a production swap was accepted, before the batch's
  offsets are committed: a swap the control state does not hold is read again.
* Read at start-up (``restore_model``), before consuming: when the entry holds a swap, the
  swapped version is read from the registry and checked as a swap is (card, live feature
  schema, model name) and against the SHA-256 that was in service, then it serves instead
  of the registry's production version. The control consumer skips the commands up to that
  swap.

The registry's production version serves instead, and the entry is overwritten with it, when
the entry holds no swap, names another model, or the registry's production version changed
since the swap (a promotion recorded after the swap wins). When the swapped version can no
longer serve (gone from the registry, refused, other bytes than the ones that served), the
service does not stop: it logs the refusal (``ERROR``), publishes a ``RiskAlert``
``MODEL_REJECTED`` and serves the registry's production version, the one it would serve on
a first start (which the registry's gate let through), rather than serve no signals at all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jules_contracts import RiskAlert
from jules_contracts.control import ModelInService
from jules_runtime.bus import InboundRecord, MessageProcessor
from jules_runtime.bus.changelog import Changelog, ensure_compacted_topics, read_state
from jules_runtime.bus.processor import Sender
from jules_runtime.bus.state_codec import StateCodecError, loads_state
from jules_runtime.logging import logger

from jules_signal.config import SignalSettings
from jules_signal.engine.strategy import SOURCE
from jules_signal.serving import (
    ModelRefusedError,
    ServedModel,
    served_entry,
    startup_refused_alert,
)

if TYPE_CHECKING:
    from jules_signal.swap import ModelSwapper

__all__ = [
    "PRODUCTION",
    "ModelStateWriter",
    "applied_offsets",
    "control_group",
    "model_key_prefix",
    "restore_in_service",
    "restore_model",
    "restore_refused_alert",
    "startup_entry",
]

PRODUCTION = "production"
"""The key of the production entry under the model's prefix."""


def model_key_prefix(model_name: str) -> str:
    """The prefix of a model's keys on the control-state topic: ``signal/model/<name>/``."""
    return f"{SOURCE}/model/{model_name}/"


def control_group(settings: SignalSettings) -> str:
    """The control consumer's group: one per replica (broadcast), stable across restarts."""
    return f"{settings.consumer_group}-control-{settings.replica}"


class ModelStateWriter:
    """Writes the model in service to the control-state topic when it changed.

    ``batch_done`` is the control consumer's ``on_batch_done`` hook (before the commit);
    ``write`` is also called once at start-up. Only a change is written (an entry equal to
    the one on the topic is not written again).

    Args:
        sender: Publishes and waits for acknowledgements (the service's bus).
        topic: The control-state topic (run scope included).
        model_name: The registry model the service serves.
        in_service: The entry of the model serving now (``ModelSwapper.in_service``).
    """

    def __init__(
        self,
        sender: Sender,
        topic: str,
        model_name: str,
        in_service: Callable[[], ModelInService | None],
    ) -> None:
        self._sender = sender
        self._in_service = in_service
        self._changelog = Changelog(topic, model_key_prefix(model_name))
        self._lock = asyncio.Lock()

    @property
    def topic(self) -> str:
        """The control-state topic."""
        return self._changelog.topic

    @property
    def prefix(self) -> str:
        """The prefix of the model's keys."""
        return self._changelog.prefix

    def restored(self, encoded: Mapping[str, bytes]) -> Any:
        """Take the model's keys read at start-up (``read_state``); return the production entry.

        Returns:
            The decoded entry (``None`` when there is none or it does not decode: the
            entry is then overwritten at start-up).
        """
        raw = encoded.get(PRODUCTION)
        if raw is None:
            return None
        self._changelog = Changelog(self.topic, self.prefix, {PRODUCTION: raw})
        try:
            return loads_state(raw)
        except StateCodecError as error:
            logger.error(
                "model in service on the control state unreadable, ignored",
                key=self.prefix + PRODUCTION,
                error=str(error),
            )
            return None

    async def write(self) -> None:
        """Write the model in service if it is not the one on the topic; await the ack."""
        async with self._lock:  # start-up and the control consumer may write at once
            entry = self._in_service()
            if entry is None:
                return
            messages = self._changelog.changes({PRODUCTION: entry})
            if messages:
                await self._sender.send(messages)
            self._changelog.written()

    async def batch_done(self, records: Sequence[InboundRecord]) -> None:
        """The control consumer's batch is done: write what it changed, before the commit."""
        await self.write()


def applied_offsets(entry: Any) -> dict[tuple[str, int], int]:
    """Per ``control.v1`` partition, the offset after the swap an entry holds (if any)."""
    if not isinstance(entry, ModelInService):
        return {}
    topic, partition, offset = entry.topic, entry.partition, entry.offset
    if topic is None or partition is None or offset is None:
        return {}
    return {(topic, partition): offset + 1}


def restore_in_service(swapper: ModelSwapper, entry: Any) -> ModelRefusedError | None:
    """Serve the model the control state holds in service, when a swap put it there.

    Args:
        swapper: The service's models, serving the registry's production version.
        entry: The restored entry (``ModelStateWriter.restored``).

    Returns:
        Why the swapped version was refused (the registry's production version keeps
        serving), or ``None``.
    """
    current = swapper.in_service
    source = swapper.source
    if current is None or source is None or entry is None:
        return None
    if not isinstance(entry, ModelInService):
        logger.error(
            "model in service on the control state is not a model entry, ignored",
            found=type(entry).__name__,
        )
        return None
    if entry.swap_id is None:
        return None  # the registry's production at a start-up: the registry's serves now
    if entry.model_name != current.model_name:
        logger.warning(
            "the control state holds another model in service, ignored",
            model_name=entry.model_name,
            serving=current.model_name,
        )
        return None
    if entry.registry_production != current.registry_production:
        logger.info(
            "the registry's production version changed since the swap: it serves",
            swapped_version=entry.model_version,
            registry_production=current.registry_production,
            registry_production_at_swap=entry.registry_production,
        )
        return None
    try:
        served = source.read(entry.model_name, entry.model_version)
    except ModelRefusedError as error:
        return swapper.refuse_restored(entry, error)
    if served.sha256 != entry.sha256:
        mismatch = ModelRefusedError(
            entry.model_name,
            entry.model_version,
            "DIGEST_MISMATCH",
            f"{served.path} has SHA-256 {served.sha256}, the version that served had "
            f"{entry.sha256}",
        )
        return swapper.refuse_restored(entry, mismatch)
    swapper.restore(served, entry)
    return None


async def restore_model(
    settings: SignalSettings,
    swapper: ModelSwapper,
    writer: ModelStateWriter,
    control: MessageProcessor,
) -> ModelRefusedError | None:
    """Read the control state (before consuming) and serve the model it holds in service.

    Args:
        settings: The service's settings (Kafka, run scope).
        swapper: The service's models.
        writer: The control-state writer (told what is on the topic).
        control: The control consumer's processor: it skips the commands up to the swap
            the entry holds.

    Returns:
        Why the swapped version was refused, or ``None`` (see ``restore_in_service``).
    """
    kafka = settings.kafka
    await ensure_compacted_topics(kafka, [writer.topic])
    encoded = await read_state(
        kafka, writer.topic, client_id=f"{settings.client_id}-restore", prefix=writer.prefix
    )
    entry = writer.restored(encoded)
    control.skip_applied(applied_offsets(entry))
    refused = restore_in_service(swapper, entry)
    if isinstance(entry, ModelInService):
        swapper.keep_read_position(entry)
    current = swapper.in_service
    logger.info(
        "model in service",
        model_name=None if current is None else current.model_name,
        model_version=None if current is None else current.model_version,
        swap_id=None if current is None else current.swap_id,
        restored=current is not None and current == entry,
    )
    return refused


def startup_entry(served: ServedModel) -> ModelInService:
    """The entry of the registry's production version served from start-up (now)."""
    return served_entry(
        served, registry_production=served.policy.card.model_version, since=time.time_ns()
    )


def restore_refused_alert(error: ModelRefusedError, event_time: int) -> RiskAlert:
    """The alert of the version in service before the restart, refused at start-up."""
    return startup_refused_alert(
        error,
        event_time,
        f"version {error.model_version!r} of model {error.model_name!r} in service before "
        "the restart (control state)",
        "the registry's production version serves instead",
    )
