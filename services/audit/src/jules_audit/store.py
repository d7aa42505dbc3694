"""The audit log on disk: the append-only writer, verification and the order export.

A log is a directory:

* ``segment-000001.jsonl``, ``segment-000002.jsonl`` …: the records, one per line, in
  sequence order (format in ``jules_audit.engine.records``); a segment holds at most
  ``segment_records`` records;
* ``checkpoints.jsonl``: one ``AuditCheckpoint`` per line (canonical JSON), written every
  ``checkpoint_every`` records, when a segment is full and at ``close``; signed with
  HMAC-SHA256 when the writer has a key.

Files are only ever appended to. Durability:

* every record is written and flushed to the operating system before ``append`` returns, so
  a crash of the process loses nothing ``append`` returned; with ``fsync_every_record`` the
  segment is also fsynced, so a power loss loses nothing either (acknowledge a Kafka message
  only after ``append`` returned); a writer made with ``flush_every_record=False`` (an
  embedded backtest, whose run folder is of no use after a crash) leaves its records in the
  process's buffer until the next checkpoint or ``close`` and writes them in large blocks;
* before a checkpoint is written its segment is fsynced, and the checkpoint file is fsynced
  after it, so a checkpoint on disk never covers records that are not on disk;
* a new segment file is made durable in its directory (the directory is fsynced).

Opening a writer on an existing log resumes it: the log is verified (records after the last
checkpoint are accepted: a writer that stopped without closing leaves them), an incomplete
last line (a write interrupted by a crash, never acknowledged) is dropped, the records after
the last checkpoint are checkpointed, and the chain and its deduplication set continue, so a
redelivered event is not recorded twice across a restart. A log that fails verification is
never written to.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self, TextIO

from jules_contracts import JulesError
from jules_contracts.base import Event
from jules_contracts.codec import decode_event
from jules_contracts.system import AuditCheckpoint

from jules_audit.engine.chain import AuditChain, AuditRecord, canonical, sign_checkpoint
from jules_audit.engine.config import AuditLogConfig
from jules_audit.engine.export import EXPORT_COLUMNS, EXPORTED_EVENT_TYPES, OrderRecordExporter
from jules_audit.engine.records import decode_record, encode_record
from jules_audit.engine.verify import CHECKPOINTS_FILE, LogVerifier, VerifyResult

__all__ = [
    "AuditLogError",
    "AuditWriter",
    "export_csv",
    "read_records",
    "segment_name",
    "verify",
]

_SEGMENT = re.compile(r"^segment-(\d{6,})\.jsonl$")

StrPath = str | os.PathLike[str]


class AuditLogError(JulesError, RuntimeError):
    """The log failed verification, so it is neither resumed nor exported.

    Attributes:
        result: The verification result naming the first problem.
    """

    def __init__(self, result: VerifyResult) -> None:
        super().__init__(result.summary())
        self.result = result


def segment_name(index: int) -> str:
    """Return the file name of segment ``index`` (from 1): ``segment-000001.jsonl``."""
    return f"segment-{index:06d}.jsonl"


def _segments(directory: Path) -> list[tuple[int, Path]]:
    found = []
    for path in directory.iterdir():
        match = _SEGMENT.match(path.name)
        if match is not None and path.is_file():
            found.append((int(match[1]), path))
    return sorted(found)


def _has_log(path: Path) -> bool:
    return path.is_dir() and bool(_segments(path))


def _directory(directory: StrPath) -> Path:
    path = Path(directory)
    if not path.is_dir():
        raise FileNotFoundError(f"audit log directory not found: {path}")
    return path


def _read_checkpoints(directory: Path) -> bytes:
    path = directory / CHECKPOINTS_FILE
    return path.read_bytes() if path.is_file() else b""


def verify(
    directory: StrPath, key: bytes | None = None, *, allow_tail: bool = False
) -> VerifyResult:
    """Verify a log directory: every record, the chain, the sequence and the checkpoints.

    Args:
        directory: The log directory.
        key: The checkpoint signing key; ``None`` checks everything but the signatures.
        allow_tail: Accept records after the last checkpoint (a log still being written);
            by default they fail as ``APPENDED_AFTER_CLOSE``.

    Returns:
        The verdict, naming the first bad record (file, line, seq) and a reason code.

    Raises:
        FileNotFoundError: ``directory`` is not a directory, or holds no log segment (an
            empty or wrong folder is not an intact log).
    """
    path = _directory(directory)
    found = _segments(path)
    if not found:
        hint = next(
            (f": give {c}" for c in (path / "audit", path / "logs" / "audit") if _has_log(c)), ""
        )
        raise FileNotFoundError(
            f"no audit log in {path}: it holds no segment-NNNNNN.jsonl file{hint}"
        )
    segments = ((segment.name, segment.read_bytes()) for _, segment in found)
    verifier = LogVerifier(key=key, allow_tail=allow_tail)
    return verifier.run(segments, _read_checkpoints(path))


def read_records(directory: StrPath) -> Iterator[AuditRecord]:
    """Yield the stored records in order (without verifying them: see ``verify``)."""
    for _, path in _segments(_directory(directory)):
        with path.open("rb") as handle:
            for line in handle:
                yield decode_record(line.rstrip(b"\n"))[0]


def export_csv(
    directory: StrPath,
    out: TextIO,
    *,
    key: bytes | None = None,
    allow_tail: bool = False,
) -> int:
    """Verify a log, then write its order events as CSV (see ``jules_audit.engine.export``).

    Args:
        directory: The log directory.
        out: Where the CSV goes (a header row, then one row per order event in log order).
        key: The checkpoint signing key, for the verification.
        allow_tail: Accept records after the last checkpoint.

    Returns:
        The number of rows written (without the header).

    Raises:
        AuditLogError: The log failed verification; nothing was written.
    """
    result = verify(directory, key, allow_tail=allow_tail)
    if not result.ok:
        raise AuditLogError(result)
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    exporter = OrderRecordExporter()
    rows = 0
    for record in read_records(directory):
        if record.seq > result.head_sequence:
            break  # appended after the verification: not vouched for
        if record.event_type not in EXPORTED_EVENT_TYPES:
            continue
        row = exporter.row(record.seq, decode_event(record.payload))
        if row is not None:
            writer.writerow(row)
            rows += 1
    return rows


class AuditWriter:
    """Appends events to a log directory as hash-chained records, with checkpoints.

    Args:
        directory: The log directory (created if missing; resumed if it holds a log).
        segment_records: Records per segment file.
        checkpoint_every: Records between checkpoints within a segment.
        key: Signs every checkpoint with HMAC-SHA256 when given.
        fsync_every_record: fsync the segment after every record, not only at checkpoints.
        flush_every_record: Hand every record to the operating system before ``append``
            returns (``False``: at checkpoints and ``close`` only, for embedded backtests).
        on_checkpoint: Called with every checkpoint once it is durable (to publish it).

    Raises:
        AuditLogError: The existing log in ``directory`` fails verification.
        pydantic.ValidationError: ``segment_records`` or ``checkpoint_every`` is not a
            positive integer (the message names it).
    """

    def __init__(
        self,
        directory: StrPath,
        *,
        segment_records: int = 10_000,
        checkpoint_every: int = 1_000,
        key: bytes | None = None,
        fsync_every_record: bool = False,
        flush_every_record: bool = True,
        on_checkpoint: Callable[[AuditCheckpoint], None] | None = None,
    ) -> None:
        self._config = AuditLogConfig(
            segment_records=segment_records, checkpoint_every=checkpoint_every
        )
        self._directory = Path(directory)
        self._key = key
        self._fsync_every_record = fsync_every_record
        self._flush_every_record = flush_every_record or fsync_every_record
        self._on_checkpoint = on_checkpoint
        self._chain = AuditChain()
        self._segment_index = 0
        self._segment_count = 0
        self._segment: BinaryIO | None = None
        self._closed = False
        self._directory.mkdir(parents=True, exist_ok=True)
        self._checkpoints = (self._directory / CHECKPOINTS_FILE).open("ab")
        try:
            self._resume()
        except BaseException:
            self._checkpoints.close()
            raise

    @property
    def directory(self) -> Path:
        """The log directory."""
        return self._directory

    @property
    def sequence(self) -> int:
        """Sequence number of the last record (0 when the log is empty)."""
        return self._chain.sequence

    @property
    def head(self) -> str:
        """Chain value after the last record (hex)."""
        return self._chain.head

    def __contains__(self, event_id: object) -> bool:
        """Whether an event with this id is recorded."""
        return event_id in self._chain

    def append(self, event: Event) -> AuditRecord | None:
        """Record an event, unless its ``event_id`` is already recorded.

        Returns:
            The record written, or ``None`` for an event already recorded (a redelivery).

        Raises:
            RuntimeError: The writer is closed.
        """
        if self._closed:
            raise RuntimeError(f"the audit writer of {self._directory} is closed")
        record = self._chain.append(event)
        if record is None:
            return None
        segment = self._current_segment()
        segment.write(encode_record(record) + b"\n")
        if self._flush_every_record:
            segment.flush()
        if self._fsync_every_record:
            os.fsync(segment.fileno())
        self._segment_count += 1
        segment_full = self._segment_count >= self._config.segment_records
        if segment_full or self._chain.pending >= self._config.checkpoint_every:
            self.checkpoint()
        return record

    def checkpoint(self) -> AuditCheckpoint | None:
        """Checkpoint the records written since the last checkpoint, if any.

        Returns:
            The checkpoint written (signed when the writer has a key), or ``None``.
        """
        if self._chain.pending == 0 or self._segment_index == 0:
            return None
        if self._segment is not None:
            self._segment.flush()
            os.fsync(self._segment.fileno())
        checkpoint = self._chain.checkpoint(segment_name(self._segment_index))
        if self._key is not None:
            checkpoint = sign_checkpoint(checkpoint, self._key)
        self._checkpoints.write(canonical(checkpoint) + b"\n")
        self._checkpoints.flush()
        os.fsync(self._checkpoints.fileno())
        if self._on_checkpoint is not None:
            self._on_checkpoint(checkpoint)
        return checkpoint

    def close(self) -> AuditCheckpoint | None:
        """Write the final checkpoint and close the files (idempotent).

        Returns:
            The final checkpoint, or ``None`` when every record was already checkpointed.
        """
        if self._closed:
            return None
        try:
            checkpoint = self.checkpoint()
        finally:
            self._closed = True
            if self._segment is not None:
                self._segment.close()
            self._checkpoints.close()
        return checkpoint

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _current_segment(self) -> BinaryIO:
        if self._segment is not None and self._segment_count < self._config.segment_records:
            return self._segment
        if self._segment is not None:
            self._segment.close()
        self._segment_index += 1
        self._segment_count = 0
        self._segment = (self._directory / segment_name(self._segment_index)).open("ab")
        _fsync_directory(self._directory)
        return self._segment

    def _resume(self) -> None:
        segments = _segments(self._directory)
        last = segments[-1][1] if segments else None

        def contents() -> Iterator[tuple[str, bytes]]:
            for _, path in segments:
                data = path.read_bytes()
                yield path.name, _complete_lines(data) if path == last else data

        verifier = LogVerifier(key=self._key, allow_tail=True)
        checkpoints = _complete_lines(_read_checkpoints(self._directory))
        result = verifier.run(contents(), checkpoints)
        if not result.ok:
            raise AuditLogError(result)
        # Only a verified log is touched: drop the interrupted writes the check left out.
        for path in (last, self._directory / CHECKPOINTS_FILE):
            if path is not None and path.is_file():
                _drop_incomplete_line(path)
        if verifier.last_segment is None:
            return
        self._chain = verifier.chain
        self._segment_index = next(i for i, p in segments if p.name == verifier.last_segment)
        self._segment_count = verifier.last_segment_records
        self._segment = (self._directory / verifier.last_segment).open("ab")
        self.checkpoint()


def _complete_lines(data: bytes) -> bytes:
    """``data`` without an incomplete last line (one with no line feed)."""
    return data[: data.rfind(b"\n") + 1]


def _drop_incomplete_line(path: Path) -> None:
    data = path.read_bytes()
    complete = len(_complete_lines(data))
    if complete != len(data):
        os.truncate(path, complete)


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":  # pragma: no cover - directories cannot be fsynced elsewhere
        return
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
