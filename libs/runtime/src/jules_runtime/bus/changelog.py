"""A stateful service's changelog: its state by key on a compacted topic, as Kafka Streams does.

The service hands ``Changelog.changes`` its whole state as entities (key → value) after each
processed batch; only the entities that changed since the last write become messages (value:
the entity as JSON, ``jules_runtime.bus.state_codec``), and an entity that is gone (a finished
order) becomes a tombstone (no value), which compaction removes. The service publishes them
and waits for their acknowledgement *before* its consumer commits the batch's offsets
(``Bus.subscribe(on_batch_done=…)``), so the changelog is never behind the committed offsets.

At start-up ``read_state`` reads the topic to its end outside any consumer group, keeps the
latest value of each key (dropping tombstoned keys), and the service restores its engine from
it before it consumes. Keys carry a prefix (``<replica>/``) so that replicas of a service keep
apart states on one topic.

``ensure_compacted_topics`` creates the topics with ``cleanup.policy=compact``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jules_runtime.bus.kafka import ensure_topics
from jules_runtime.bus.processor import Sender
from jules_runtime.bus.reader import read_records
from jules_runtime.bus.records import InboundRecord, OutboundMessage
from jules_runtime.bus.state_codec import dumps_state, loads_state
from jules_runtime.settings import KafkaSettings

__all__ = [
    "COMPACTED",
    "OFFSETS",
    "Changelog",
    "StateWriter",
    "decoded",
    "ensure_compacted_topics",
    "read_state",
]

COMPACTED = {"cleanup.policy": "compact"}
"""The topic configuration of a changelog (and of the control-state topic)."""

OFFSETS = "offsets"
"""The entity holding, per ``topic:partition``, the next offset whose effects are not in it."""


class Changelog:
    """What to write to a changelog topic so that it holds a state.

    Args:
        topic: The changelog topic (full name, run scope included).
        prefix: Prefix of every key (``"0/"``: replica 0's entities).
        written: The state already on the topic (encoded values by unprefixed key), as read
            at start-up: nothing is written again for entities that did not change.
    """

    def __init__(
        self, topic: str, prefix: str = "", written: Mapping[str, bytes] | None = None
    ) -> None:
        self.topic = topic
        self.prefix = prefix
        self._written: dict[str, bytes] = dict(written or {})
        self._pending: dict[str, bytes | None] = {}

    def changes(self, entities: Mapping[str, Any]) -> list[OutboundMessage]:
        """The messages that bring the topic from the state written to ``entities``.

        An entity whose encoding differs from the one written is a message; a key written
        before and absent from ``entities`` is a tombstone. Call ``written`` once they are
        acknowledged.
        """
        encoded = {key: dumps_state(value) for key, value in entities.items()}
        pending: dict[str, bytes | None] = {
            key: value for key, value in encoded.items() if self._written.get(key) != value
        }
        pending.update({key: None for key in self._written if key not in encoded})
        self._pending = pending
        return [self.message(key, value) for key, value in pending.items()]

    def message(self, key: str, value: bytes | None) -> OutboundMessage:
        """A changelog message for ``key`` (a tombstone when ``value`` is ``None``)."""
        return OutboundMessage(
            topic=self.topic,
            key=(self.prefix + key).encode(),
            value=value or b"",
            headers={},
            tombstone=value is None,
        )

    def written(self) -> None:
        """The messages of the last ``changes`` are acknowledged: they are the state written."""
        for key, value in self._pending.items():
            if value is None:
                self._written.pop(key, None)
            else:
                self._written[key] = value
        self._pending = {}


async def read_state(
    kafka: KafkaSettings,
    topic: str,
    *,
    client_id: str,
    prefix: str = "",
    timeout_s: float | None = None,
) -> dict[str, bytes]:
    """The state a changelog topic holds now: the latest value of each key with ``prefix``.

    Reads the topic to its end offsets outside any consumer group; a tombstone removes its
    key; the prefix is taken off the keys. A topic that does not exist reads as empty.

    Returns:
        The encoded values by key (``loads_state`` decodes one).
    """
    records = await read_records(kafka, topic, client_id=client_id, timeout_s=timeout_s)
    state: dict[str, bytes] = {}
    for record in records:
        key = (record.key or b"").decode()
        if not key.startswith(prefix):
            continue
        key = key.removeprefix(prefix)
        if record.value:
            state[key] = record.value
        else:
            state.pop(key, None)
    return state


def decoded(state: Mapping[str, bytes]) -> dict[str, Any]:
    """The entities of an encoded state (``read_state``'s result)."""
    return {key: loads_state(value) for key, value in state.items()}


async def ensure_compacted_topics(
    kafka: KafkaSettings, names: Sequence[str], *, replication_factor: int = 1
) -> list[str]:
    """Create the compacted topics among ``names`` that do not exist yet (one partition each).

    Returns:
        The names that were created.
    """
    return await ensure_topics(
        kafka, names, replication_factor=replication_factor, configs=COMPACTED
    )


class StateWriter:
    """Writes a service's state to its changelog after each batch, before the commit.

    ``batch_done`` is the consumer's ``on_batch_done`` hook: it notes how far the batch went
    in each partition (the ``offsets`` entity), takes the state (``entities``), publishes what
    changed and waits for the acknowledgements. Restored at start-up, the state comes with
    the offsets it holds the effects of (``applied_offsets``): records before them are not
    handled again (``MessageProcessor.skip_applied``).

    Args:
        sender: Publishes and waits for acknowledgements (the service's bus).
        changelog: The changelog.
        entities: The service's state now, by key.
    """

    def __init__(
        self,
        sender: Sender,
        changelog: Changelog,
        entities: Callable[[], Mapping[str, Any]],
    ) -> None:
        self.sender = sender
        self.changelog = changelog
        self._entities = entities
        self.offsets: dict[str, int] = {}

    async def batch_done(self, records: Sequence[InboundRecord]) -> None:
        """Write the state after ``records`` (the batch's, finished and not yet committed)."""
        for record in records:
            key = f"{record.topic}:{record.partition}"
            self.offsets[key] = max(self.offsets.get(key, 0), record.offset + 1)
        messages = self.changelog.changes({**self._entities(), OFFSETS: dict(self.offsets)})
        if messages:
            await self.sender.send(messages)
        self.changelog.written()

    def restored(self, encoded: Mapping[str, bytes]) -> dict[str, Any]:
        """Take the state read at start-up (``read_state``); return its entities.

        The ``offsets`` entity is kept here (see ``applied_offsets``), not returned.
        """
        self.changelog = Changelog(self.changelog.topic, self.changelog.prefix, encoded)
        entities = decoded(encoded)
        self.offsets = dict(entities.pop(OFFSETS, {}))
        return entities

    def applied_offsets(self) -> dict[tuple[str, int], int]:
        """The offsets the restored state holds the effects of, by (topic, partition)."""
        applied: dict[tuple[str, int], int] = {}
        for key, offset in self.offsets.items():
            topic, _, partition = key.rpartition(":")
            applied[topic, int(partition)] = offset
        return applied
