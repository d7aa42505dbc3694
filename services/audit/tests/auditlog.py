"""Realistic event streams and helpers to write and tamper with audit logs in tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import msgspec
from jules_audit.store import AuditWriter
from jules_contracts.base import Event
from jules_contracts.examples import example_events, shifted_example

KEY = b"audit-test-key-0123456789abcdef"
VARIANTS = 12
SEGMENT_RECORDS = 50
CHECKPOINT_EVERY = 20
ORDER_EVENT_TYPES = {
    "order.submit",
    "order.cancel",
    "risk.order_approved",
    "risk.order_denied",
    "order.accepted",
    "order.rejected",
    "order.resized",
    "order.partially_filled",
    "order.filled",
    "order.canceled",
    "order.expired",
}


def realistic_events(variants: int = VARIANTS) -> list[Event]:
    """Every example event, then ``variants - 1`` shifted copies of the whole story."""
    return [
        shifted_example(event, index) for index in range(variants) for event in example_events()
    ]


def write_log(
    directory: Path,
    events: list[Event],
    *,
    segment_records: int = SEGMENT_RECORDS,
    checkpoint_every: int = CHECKPOINT_EVERY,
    key: bytes | None = None,
) -> Path:
    """Write and close a log of ``events``."""
    with AuditWriter(
        directory,
        segment_records=segment_records,
        checkpoint_every=checkpoint_every,
        key=key,
    ) as writer:
        for event in events:
            writer.append(event)
    return directory


def locate(seq: int, segment_records: int = SEGMENT_RECORDS) -> tuple[Path, int]:
    """Segment file name and line (from 1) of record ``seq`` in a log written by ``write_log``."""
    index, line = divmod(seq - 1, segment_records)
    return Path(f"segment-{index + 1:06d}.jsonl"), line + 1


def read_lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def record_of(line: bytes) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(line)
    return value


def reference_canonical(event: Event) -> bytes:
    """Canonical JSON computed independently of the audit package."""
    return msgspec.json.encode(json.loads(event.model_dump_json()), order="sorted")


def reference_chain(events: list[Event]) -> list[str]:
    """``h_1 .. h_n`` (hex) computed independently: ``h_i = sha256(h_(i-1) || canonical)``."""
    head = bytes(32)
    hashes = []
    for event in events:
        head = hashlib.sha256(head + reference_canonical(event)).digest()
        hashes.append(head.hex())
    return hashes


def forged_line(seq: int, prev_hash: str, payload: bytes, **header: Any) -> bytes:
    """A record line built by hand the way the writer lays it out, with a valid own hash."""
    digest = hashlib.sha256(bytes.fromhex(prev_hash) + payload).hexdigest()
    fields = json.loads(payload)
    head = {
        "seq": seq,
        "event_id": header.get("event_id", fields["event_id"]),
        "event_type": header.get("event_type", fields["event_type"]),
        "event_time": header.get("event_time", fields["event_time"]),
        "prev_hash": prev_hash,
        "hash": digest,
    }
    text = json.dumps(head, separators=(",", ":"))
    return text[:-1].encode() + b',"payload":' + payload + b"}\n"


def crashed_log(
    directory: Path,
    events: list[Event],
    *,
    segment_records: int = SEGMENT_RECORDS,
    checkpoint_every: int = CHECKPOINT_EVERY,
) -> Path:
    """The directory as a writer leaves it when its process dies after the last append.

    The files are copied while the writer is still open (everything ``append`` returned is
    in them, no final checkpoint yet), then the writer is closed and the copy put back.
    """
    writer = AuditWriter(
        directory, segment_records=segment_records, checkpoint_every=checkpoint_every
    )
    for event in events:
        writer.append(event)
    at_crash = {path: path.read_bytes() for path in directory.iterdir()}
    writer.close()
    for path in directory.iterdir():
        if path not in at_crash:
            path.unlink()
    for path, data in at_crash.items():
        path.write_bytes(data)
    return directory
