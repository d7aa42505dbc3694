"""The hash chain of the audit record.

Every event is recorded once, in arrival order, as its canonical JSON (``canonical``): compact,
keys sorted, UTF-8, the declared fields of ``event.model_dump(mode="json")``, encoded by
msgspec (numbers in the shortest form that reads back exactly: ``0.00001``, ``1.5e-7``,
``1e16``). Logs written before msgspec encoded them (Python's ``json``: ``1e-05``) verify all
the same: a verifier hashes each payload's bytes as they are in the file. Record ``i``
(numbered from 1) carries the chain value

    h_0 = 32 zero bytes
    h_i = SHA-256(h_(i-1) || canonical(e_i))

so changing, removing, inserting or reordering any record changes every later chain value.
An ``AuditCheckpoint`` states the chain value after a record; it is derived deterministically
from the chain (its id hashes the segment and the last sequence number, its event time is the
last record's), so a verifier recomputes it and compares. A checkpoint may carry an
HMAC-SHA256 signature by a key the audit service holds (``sign_checkpoint``).

Delivery is at least once, so the chain deduplicates by ``event_id``: an event already
recorded is not recorded again.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from typing import Any

import msgspec
from jules_contracts.base import Event, derive_event_id
from jules_contracts.system import AuditCheckpoint

__all__ = [
    "AUDIT_SOURCE",
    "GENESIS_HASH",
    "AuditChain",
    "AuditRecord",
    "canonical",
    "canonical_json",
    "checkpoint_signature",
    "link_hash",
    "sign_checkpoint",
]

AUDIT_SOURCE = "audit"
"""``source`` of the checkpoints the audit service creates."""

GENESIS_HASH = bytes(32)
"""``h_0``: the chain value before the first record (32 zero bytes)."""


def canonical_json(value: Any) -> bytes:
    """Encode a JSON value canonically: compact separators, sorted keys, UTF-8, no NaN.

    Raises:
        ValueError: The value holds a NaN or an infinity (JSON has no such number).
    """
    encoded = _ENCODER.encode(value)
    if _NOT_FINITE in encoded and _has_non_finite(value):
        raise ValueError(f"a canonical JSON value holds no NaN or infinity: {value!r}")
    return encoded


_ENCODER = msgspec.json.Encoder(order="sorted")
_NOT_FINITE = b"null"
"""msgspec writes NaN and infinities as ``null``; only then is the value searched for them."""


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_non_finite(item) for item in value)
    return False


def canonical(event: Event) -> bytes:
    """Return the canonical JSON of an event, the bytes the chain hashes.

    Args:
        event: Any contract event (validated: contracts refuse NaN and infinities, so the
            check of ``canonical_json`` is not repeated here).

    Returns:
        ``event.model_dump(mode="json")`` as compact JSON with sorted keys, UTF-8 encoded.
    """
    return _ENCODER.encode(event.model_dump(mode="json"))


def link_hash(previous: bytes, payload: bytes) -> bytes:
    """Return ``SHA-256(previous || payload)``: the chain value after recording ``payload``."""
    return hashlib.sha256(previous + payload).digest()


def checkpoint_signature(checkpoint: AuditCheckpoint, key: bytes) -> str:
    """Return the HMAC-SHA256 (hex) of a checkpoint.

    The MAC covers the canonical JSON of the checkpoint without its signature, so it binds
    the chain hash to the segment, the sequence range, the previous checkpoint and the ids.

    Args:
        checkpoint: The checkpoint (its current signature, if any, is ignored).
        key: The secret key.

    Returns:
        64 lowercase hex characters.
    """
    unsigned = checkpoint.model_copy(update={"signature": None})
    return hmac.new(key, canonical(unsigned), hashlib.sha256).hexdigest()


def sign_checkpoint(checkpoint: AuditCheckpoint, key: bytes) -> AuditCheckpoint:
    """Return the checkpoint with its ``signature`` set (see ``checkpoint_signature``)."""
    return checkpoint.model_copy(update={"signature": checkpoint_signature(checkpoint, key)})


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One record of the audit log.

    Attributes:
        seq: Sequence number, from 1, without gaps.
        event_id: The recorded event's id.
        event_type: The recorded event's type.
        event_time: The recorded event's time (UTC ns).
        prev_hash: Chain value before this record (hex).
        hash: Chain value after this record (hex): ``SHA-256(prev_hash || payload)``.
        payload: The canonical JSON of the event (the hashed bytes).
    """

    seq: int
    event_id: str
    event_type: str
    event_time: int
    prev_hash: str
    hash: str
    payload: bytes


class AuditChain:
    """The state of the hash chain: head, deduplication set and checkpoint position.

    Memory grows with the number of distinct event ids recorded (one string each), which
    is what deduplication over the whole log costs.

    Args:
        source: ``source`` of the checkpoints it creates.
    """

    def __init__(self, *, source: str = AUDIT_SOURCE) -> None:
        self._source = source
        self._sequence = 0
        self._hash = GENESIS_HASH
        self._event_time: int | None = None
        self._seen: set[str] = set()
        self._checkpoint_sequence = 0
        self._checkpoint_hash = GENESIS_HASH

    @property
    def sequence(self) -> int:
        """Sequence number of the last record (0 before the first)."""
        return self._sequence

    @property
    def head(self) -> str:
        """Chain value after the last record (hex; ``GENESIS_HASH`` before the first)."""
        return self._hash.hex()

    @property
    def checkpointed_sequence(self) -> int:
        """Sequence number the last checkpoint covers up to (0 before the first)."""
        return self._checkpoint_sequence

    @property
    def pending(self) -> int:
        """Records appended since the last checkpoint."""
        return self._sequence - self._checkpoint_sequence

    def __contains__(self, event_id: object) -> bool:
        """Whether an event with this id is already recorded."""
        return event_id in self._seen

    def __len__(self) -> int:
        """Number of records."""
        return self._sequence

    def append(self, event: Event) -> AuditRecord | None:
        """Record an event.

        Args:
            event: The event to record.

        Returns:
            The new record, or ``None`` when an event with this ``event_id`` is already
            recorded (a redelivery): nothing is appended then.
        """
        return self.append_canonical(
            event.event_id, event.event_type, event.event_time, canonical(event)
        )

    def append_canonical(
        self, event_id: str, event_type: str, event_time: int, payload: bytes
    ) -> AuditRecord | None:
        """Record an event given as its canonical JSON (used when replaying a stored log).

        Args:
            event_id: The event's id.
            event_type: The event's type.
            event_time: The event's time (UTC ns).
            payload: Its canonical JSON, hashed as is.

        Returns:
            The new record, or ``None`` when ``event_id`` is already recorded.
        """
        if event_id in self._seen:
            return None
        previous = self._hash
        self._hash = link_hash(previous, payload)
        self._sequence += 1
        self._event_time = event_time
        self._seen.add(event_id)
        return AuditRecord(
            seq=self._sequence,
            event_id=event_id,
            event_type=event_type,
            event_time=event_time,
            prev_hash=previous.hex(),
            hash=self._hash.hex(),
            payload=payload,
        )

    def checkpoint(self, segment: str) -> AuditCheckpoint:
        """Checkpoint the records appended since the previous checkpoint.

        The checkpoint is a function of the chain alone: its id is derived from ``segment``
        and the last sequence number, its event time is the last record's.

        Args:
            segment: The segment file the covered records are in.

        Returns:
            The (unsigned) checkpoint; the chain now counts its records as checkpointed.

        Raises:
            ValueError: No record was appended since the previous checkpoint.
        """
        if self._event_time is None or self.pending == 0:
            raise ValueError(
                f"nothing to checkpoint: no record after sequence {self._checkpoint_sequence}"
            )
        checkpoint = AuditCheckpoint(
            event_id=derive_event_id(AuditCheckpoint.EVENT_TYPE, segment, self._sequence),
            source=self._source,
            event_time=self._event_time,
            segment=segment,
            first_sequence=self._checkpoint_sequence + 1,
            last_sequence=self._sequence,
            chain_hash=self._hash.hex(),
            previous_chain_hash=self._checkpoint_hash.hex(),
        )
        self._checkpoint_sequence = self._sequence
        self._checkpoint_hash = self._hash
        return checkpoint
