"""Verification of a stored audit log: the chain, the sequence and the checkpoints.

``LogVerifier`` reads the bytes of the segment files (in order) and of the checkpoint file and
stops at the first problem, which it names by file, line (from 1) and sequence number:

=====================  ==========================================================================
``MALFORMED``          a line is not a record (or checkpoint) in the writer's exact format, or
                       the last line of a segment has no line feed (an interrupted write)
``SEQUENCE_GAP``       a record's number is not the previous one plus one: records are
                       missing (removed lines, a removed segment) or out of order (swapped)
``BAD_HASH``           a record's hash is not ``SHA-256(prev_hash || payload)``, or its header
                       disagrees with its payload: the record was altered
``BROKEN_LINK``        a record's ``prev_hash`` is not the chain value after the record before
                       it: records were removed, inserted or reordered and renumbered
``DUPLICATE_EVENT``    an event id is recorded twice (the writer records each id once)
``BAD_CHECKPOINT``     a checkpoint's signature is missing or wrong (with a key), or it differs
                       from the checkpoint the chain gives at that record (its hash, range,
                       segment, ids), or checkpoints are out of order
``TRUNCATED``          the last checkpoint covers records that are not in the log (its tail
                       was cut off)
``APPENDED_AFTER_CLOSE`` records follow the last checkpoint. The writer checkpoints everything
                       when it closes, so in a closed log nothing vouches for such records:
                       they were appended afterwards (or the writer stopped before closing).
                       A log still being written is verified with ``allow_tail=True``.
=====================  ==========================================================================

What this cannot see without a reference kept elsewhere: a log cut exactly at a checkpoint
together with the checkpoints after it, or a log rewritten entirely by someone who also holds
the signing key. Publishing the checkpoints (``audit.checkpoints.v1``) anchors them outside.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from jules_contracts.system import AuditCheckpoint

from jules_audit.engine.chain import (
    AuditChain,
    AuditRecord,
    checkpoint_signature,
    link_hash,
)
from jules_audit.engine.records import MalformedLineError, decode_checkpoint, decode_record

__all__ = [
    "CHECKPOINTS_FILE",
    "LogVerifier",
    "VerifyFailure",
    "VerifyReason",
    "VerifyResult",
]

CHECKPOINTS_FILE = "checkpoints.jsonl"
"""Name of the checkpoint file in a log directory."""


class VerifyReason(StrEnum):
    """Why a log failed verification (see the module documentation)."""

    MALFORMED = "MALFORMED"
    SEQUENCE_GAP = "SEQUENCE_GAP"
    BAD_HASH = "BAD_HASH"
    BROKEN_LINK = "BROKEN_LINK"
    DUPLICATE_EVENT = "DUPLICATE_EVENT"
    BAD_CHECKPOINT = "BAD_CHECKPOINT"
    TRUNCATED = "TRUNCATED"
    APPENDED_AFTER_CLOSE = "APPENDED_AFTER_CLOSE"


@dataclass(frozen=True, slots=True)
class VerifyFailure:
    """The first problem found.

    Attributes:
        reason: What is wrong.
        file: The segment file (or the checkpoint file) it is in.
        line: The line (from 1).
        seq: The sequence number of the record concerned, where one is known.
        detail: A sentence saying what was expected and what was found.
    """

    reason: VerifyReason
    file: str
    line: int
    seq: int | None
    detail: str

    def describe(self) -> str:
        """Return ``REASON at FILE line N (seq S): detail``."""
        seq = "" if self.seq is None else f" (seq {self.seq})"
        return f"{self.reason.value} at {self.file} line {self.line}{seq}: {self.detail}"


class _VerifyFailedError(Exception):
    def __init__(self, failure: VerifyFailure) -> None:
        super().__init__(failure.describe())
        self.failure = failure


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of a verification.

    Attributes:
        failure: The first problem, or ``None`` when the log is intact.
        records: Records checked and found good (all of them when the log is intact).
        segments: Segment files read.
        checkpoints: Checkpoints matched against the chain.
        signatures_checked: Whether checkpoint signatures were verified (a key was given).
        head_sequence: Sequence number of the last good record.
        head_hash: Chain value after it (hex).
        unchecked_tail: Good records after the last checkpoint (accepted with ``allow_tail``).
    """

    failure: VerifyFailure | None
    records: int
    segments: int
    checkpoints: int
    signatures_checked: bool
    head_sequence: int
    head_hash: str
    unchecked_tail: int

    @property
    def ok(self) -> bool:
        """Whether the log is intact."""
        return self.failure is None

    @property
    def reason(self) -> VerifyReason | None:
        """The failure's reason code, ``None`` when intact."""
        return None if self.failure is None else self.failure.reason

    def as_dict(self) -> dict[str, object]:
        """The verdict as plain data (``--json``): ``ok``, the counts, and the failure."""
        failure = None
        if self.failure is not None:
            failure = {
                "reason": self.failure.reason.value,
                "file": self.failure.file,
                "line": self.failure.line,
                "seq": self.failure.seq,
                "detail": self.failure.detail,
            }
        return {
            "ok": self.ok,
            "records": self.records,
            "segments": self.segments,
            "checkpoints": self.checkpoints,
            "signatures_checked": self.signatures_checked,
            "head_sequence": self.head_sequence,
            "head_hash": self.head_hash,
            "unchecked_tail": self.unchecked_tail,
            "failure": failure,
        }

    def summary(self) -> str:
        """One line for a person: the verdict and what was checked, or the first problem."""
        if self.failure is not None:
            return f"audit log BROKEN: {self.failure.describe()}"
        if self.signatures_checked:
            signatures = "checkpoint signatures verified"
        else:
            signatures = "checkpoint signatures not checked (no key)"
        tail = (
            f", {self.unchecked_tail} record(s) after the last checkpoint"
            if self.unchecked_tail
            else ""
        )
        return (
            f"audit log intact: {self.records} records in {self.segments} segment(s), "
            f"{self.checkpoints} checkpoint(s){tail}, head seq {self.head_sequence} "
            f"hash {self.head_hash[:16]}; {signatures}"
        )


@dataclass(frozen=True, slots=True)
class _Location:
    file: str
    line: int
    seq: int


class LogVerifier:
    """Replays a stored log into an ``AuditChain`` and checks it against the checkpoints.

    After ``run``, ``chain`` holds the replayed chain (head, event ids, checkpoint position),
    ``last_segment`` names the file of the last record and ``last_segment_records`` counts
    the records in it: a writer resumes from them.

    Args:
        key: Key of the checkpoint signatures; ``None`` skips signature checks.
        allow_tail: Accept records after the last checkpoint (a log still being written).
        checkpoints_file: Name of the checkpoint file, for messages.
    """

    def __init__(
        self,
        *,
        key: bytes | None = None,
        allow_tail: bool = False,
        checkpoints_file: str = CHECKPOINTS_FILE,
    ) -> None:
        self._key = key
        self._allow_tail = allow_tail
        self._checkpoints_file = checkpoints_file
        self.chain = AuditChain()
        self.last_segment: str | None = None
        self.last_segment_records = 0
        self._segments = 0
        self._matched = 0
        self._last_line = 0
        self._tail_start: _Location | None = None

    def run(self, segments: Iterable[tuple[str, bytes]], checkpoints: bytes) -> VerifyResult:
        """Verify a log.

        Args:
            segments: ``(file name, content)`` of every segment file, in order.
            checkpoints: Content of the checkpoint file (empty if there is none).

        Returns:
            The verdict; the first problem found, if any.
        """
        try:
            pending = self._read_checkpoints(checkpoints)
            for name, data in segments:
                self._read_segment(name, data, pending)
            self._check_end(pending)
        except _VerifyFailedError as failed:
            return self._result(failed.failure)
        return self._result(None)

    def _result(self, failure: VerifyFailure | None) -> VerifyResult:
        return VerifyResult(
            failure=failure,
            records=self.chain.sequence,
            segments=self._segments,
            checkpoints=self._matched,
            signatures_checked=self._key is not None,
            head_sequence=self.chain.sequence,
            head_hash=self.chain.head,
            unchecked_tail=self.chain.pending,
        )

    def _fail(
        self, reason: VerifyReason, file: str, line: int, seq: int | None, detail: str
    ) -> _VerifyFailedError:
        return _VerifyFailedError(VerifyFailure(reason, file, line, seq, detail))

    def _read_checkpoints(self, data: bytes) -> list[tuple[int, AuditCheckpoint]]:
        checkpoints: list[tuple[int, AuditCheckpoint]] = []
        name = self._checkpoints_file
        for number, line, complete in _lines(data):
            if not complete:
                raise self._fail(
                    VerifyReason.MALFORMED, name, number, None, "the last line has no line feed"
                )
            try:
                checkpoint = decode_checkpoint(line)
            except MalformedLineError as exc:
                raise self._fail(VerifyReason.MALFORMED, name, number, None, str(exc)) from exc
            if self._key is not None:
                seq = checkpoint.last_sequence
                if checkpoint.signature is None:
                    raise self._fail(
                        VerifyReason.BAD_CHECKPOINT, name, number, seq, "the checkpoint is unsigned"
                    )
                if checkpoint.signature != checkpoint_signature(checkpoint, self._key):
                    raise self._fail(
                        VerifyReason.BAD_CHECKPOINT,
                        name,
                        number,
                        seq,
                        "the signature does not match the checkpoint (altered, or another key)",
                    )
            checkpoints.append((number, checkpoint))
        checkpoints.reverse()  # pop() from the end takes the next one
        return checkpoints

    def _read_segment(
        self, name: str, data: bytes, pending: list[tuple[int, AuditCheckpoint]]
    ) -> None:
        self._segments += 1
        for number, line, complete in _lines(data):
            if not complete:
                raise self._fail(
                    VerifyReason.MALFORMED,
                    name,
                    number,
                    None,
                    "the last line has no line feed (an interrupted write)",
                )
            try:
                stored, payload = decode_record(line)
            except MalformedLineError as exc:
                raise self._fail(VerifyReason.MALFORMED, name, number, None, str(exc)) from exc
            where = _Location(name, number, stored.seq)
            self._check_record(where, stored, payload)
            self._check_checkpoint_order(where, pending)
            self.chain.append_canonical(
                stored.event_id, stored.event_type, stored.event_time, stored.payload
            )
            if self.last_segment != name:
                self.last_segment, self.last_segment_records = name, 0
            self.last_segment_records += 1
            self._last_line = number
            if self.chain.pending == 1:
                self._tail_start = where
            if pending and pending[-1][1].last_sequence == stored.seq:
                self._match_checkpoint(where, *pending.pop())

    def _check_record(
        self, where: _Location, stored: AuditRecord, payload: dict[str, object]
    ) -> None:
        expected = self.chain.sequence + 1
        if stored.seq != expected:
            if stored.seq == expected + 1:
                what = f"record {expected} is missing"
            elif stored.seq > expected:
                what = f"records {expected}..{stored.seq - 1} are missing"
            else:
                what = "a record is repeated or out of order"
            raise self._fail(
                VerifyReason.SEQUENCE_GAP,
                where.file,
                where.line,
                stored.seq,
                f"expected seq {expected}, found {stored.seq}: {what}",
            )
        if link_hash(bytes.fromhex(stored.prev_hash), stored.payload).hex() != stored.hash:
            raise self._fail(
                VerifyReason.BAD_HASH,
                where.file,
                where.line,
                stored.seq,
                "hash is not SHA-256(prev_hash || payload): the record was altered",
            )
        for field in ("event_id", "event_type", "event_time"):
            if payload.get(field) != getattr(stored, field):
                raise self._fail(
                    VerifyReason.BAD_HASH,
                    where.file,
                    where.line,
                    stored.seq,
                    f"header {field} {getattr(stored, field)!r} differs from the payload's "
                    f"{payload.get(field)!r}: the record was altered",
                )
        if stored.prev_hash != self.chain.head:
            before = "the start of the log" if expected == 1 else f"seq {expected - 1}"
            raise self._fail(
                VerifyReason.BROKEN_LINK,
                where.file,
                where.line,
                stored.seq,
                f"prev_hash {stored.prev_hash[:16]}… is not the chain value after {before} "
                f"({self.chain.head[:16]}…): records were removed, inserted or reordered",
            )
        if stored.event_id in self.chain:
            raise self._fail(
                VerifyReason.DUPLICATE_EVENT,
                where.file,
                where.line,
                stored.seq,
                f"event {stored.event_id} is already recorded",
            )

    def _check_checkpoint_order(
        self, where: _Location, pending: list[tuple[int, AuditCheckpoint]]
    ) -> None:
        if pending and pending[-1][1].last_sequence < where.seq:
            number, checkpoint = pending[-1]
            raise self._fail(
                VerifyReason.BAD_CHECKPOINT,
                self._checkpoints_file,
                number,
                checkpoint.last_sequence,
                f"the checkpoint covers up to seq {checkpoint.last_sequence}, which an "
                "earlier checkpoint already covered: checkpoints are out of order",
            )

    def _match_checkpoint(self, where: _Location, number: int, stored: AuditCheckpoint) -> None:
        expected = self.chain.checkpoint(where.file)
        unsigned = stored.model_copy(update={"signature": None})
        if unsigned != expected:
            fields = [
                name
                for name in type(expected).model_fields
                if getattr(unsigned, name) != getattr(expected, name)
            ]
            raise self._fail(
                VerifyReason.BAD_CHECKPOINT,
                self._checkpoints_file,
                number,
                stored.last_sequence,
                f"the checkpoint differs from the chain at {where.file} line {where.line} "
                f"in {', '.join(fields)}",
            )
        self._matched += 1

    def _check_end(self, pending: list[tuple[int, AuditCheckpoint]]) -> None:
        if pending:
            number, checkpoint = pending[-1]
            last = self.chain.sequence
            same_file = checkpoint.segment == self.last_segment
            raise self._fail(
                VerifyReason.TRUNCATED,
                checkpoint.segment,
                self._last_line + 1 if same_file else 1,
                last + 1,
                f"checkpoint {self._checkpoints_file} line {number} covers records up to seq "
                f"{checkpoint.last_sequence} but the log ends at seq {last}: records "
                f"{last + 1}..{checkpoint.last_sequence} are missing",
            )
        if self.chain.pending and not self._allow_tail and self._tail_start is not None:
            start = self._tail_start
            done = self.chain.checkpointed_sequence
            raise self._fail(
                VerifyReason.APPENDED_AFTER_CLOSE,
                start.file,
                start.line,
                start.seq,
                f"records {start.seq}..{self.chain.sequence} follow the last checkpoint "
                f"(seq {done}) and nothing vouches for them: appended after the log was "
                "closed, or its writer stopped before closing",
            )


def _lines(data: bytes) -> Iterable[tuple[int, bytes, bool]]:
    """Yield ``(line number, line, ends with a line feed)``; split on line feeds only."""
    if not data:
        return
    parts = data.split(b"\n")
    last = parts.pop()
    for number, part in enumerate(parts, 1):
        yield number, part, True
    if last:
        yield len(parts) + 1, last, False
