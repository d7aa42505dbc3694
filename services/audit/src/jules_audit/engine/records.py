"""The line format of audit records and checkpoints.

A record is one line of JSON, its header first and the hashed payload last, verbatim:

    {"seq":7,"event_id":"…","event_type":"order.filled","event_time":1723123860004500000,
     "prev_hash":"<64 hex>","hash":"<64 hex>","payload":<canonical JSON of the event>}

(on one line). The verifier hashes the payload's bytes exactly as they are in the file, never
a re-encoding of them, so a change of any byte is seen; and it accepts a line only if its
header is byte for byte the one the writer produces. A checkpoint line is the canonical JSON
of the ``AuditCheckpoint`` and must be byte for byte canonical too.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jules_contracts import JulesError
from jules_contracts.system import AuditCheckpoint
from pydantic import ValidationError

from jules_audit.engine.chain import AuditRecord, canonical

__all__ = ["MalformedLineError", "decode_checkpoint", "decode_record", "encode_record"]

_HEX64 = re.compile(r"[0-9a-f]{64}")
_PAYLOAD_KEY = b',"payload":'
_PLAIN = re.compile(r"[A-Za-z0-9._:-]*")
"""Text a JSON string holds as is (no escaping)."""

_HEADER_KEYS = ("seq", "event_id", "event_type", "event_time", "prev_hash", "hash")


class MalformedLineError(JulesError, ValueError):
    """A line is not a record (or a checkpoint) in the audit log's format."""


def _header(
    seq: int, event_id: str, event_type: str, event_time: int, prev: str, new: str
) -> bytes:
    # Fixed key order (not sorted): the payload must come last so it can be sliced out as is.
    # Ids, types and hashes are plain ASCII words, so the header is formatted directly; the
    # JSON encoder runs only for text that would need escaping (the same bytes either way).
    if _PLAIN.fullmatch(event_id) and _PLAIN.fullmatch(event_type) and _PLAIN.fullmatch(prev + new):
        return (
            f'{{"seq":{seq:d},"event_id":"{event_id}","event_type":"{event_type}",'
            f'"event_time":{event_time:d},"prev_hash":"{prev}","hash":"{new}"}}'
        ).encode("ascii")
    header = {
        "seq": seq,
        "event_id": event_id,
        "event_type": event_type,
        "event_time": event_time,
        "prev_hash": prev,
        "hash": new,
    }
    return json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def encode_record(record: AuditRecord) -> bytes:
    """Encode a record as one line (without the line feed).

    Args:
        record: The record; its payload is written verbatim.

    Returns:
        The header, then ``"payload":`` and the payload bytes, as one JSON object.
    """
    header = _header(
        record.seq,
        record.event_id,
        record.event_type,
        record.event_time,
        record.prev_hash,
        record.hash,
    )
    return header[:-1] + _PAYLOAD_KEY + record.payload + b"}"


def decode_record(line: bytes) -> tuple[AuditRecord, dict[str, Any]]:
    """Decode one record line (without its line feed).

    Args:
        line: The bytes of the line.

    Returns:
        The record (payload = the exact bytes in the line) and the payload parsed.

    Raises:
        MalformedLineError: The line is not UTF-8 JSON, lacks a field, has a field of the
            wrong type, or is not in the exact form the writer produces.
    """
    try:
        value = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedLineError(f"not a JSON line: {exc}") from exc
    if not isinstance(value, dict):
        raise MalformedLineError(f"a record is a JSON object, not {type(value).__name__}")
    if set(value) != {*_HEADER_KEYS, "payload"}:
        raise MalformedLineError(
            f"a record has the fields {', '.join((*_HEADER_KEYS, 'payload'))}, "
            f"not {', '.join(value)}"
        )
    seq, event_id, event_type, event_time = (value[key] for key in _HEADER_KEYS[:4])
    prev, new, payload = value["prev_hash"], value["hash"], value["payload"]
    for name, field, kind in (("seq", seq, int), ("event_time", event_time, int)):
        if not isinstance(field, kind) or isinstance(field, bool) or field < 0:
            raise MalformedLineError(f"{name} must be a non-negative integer, not {field!r}")
    for name, field in (("event_id", event_id), ("event_type", event_type)):
        if not isinstance(field, str):
            raise MalformedLineError(f"{name} must be a string, not {field!r}")
    for name, field in (("prev_hash", prev), ("hash", new)):
        if not isinstance(field, str) or _HEX64.fullmatch(field) is None:
            raise MalformedLineError(f"{name} must be 64 lowercase hex characters, not {field!r}")
    if not isinstance(payload, dict):
        raise MalformedLineError(f"payload must be a JSON object, not {type(payload).__name__}")
    prefix = _header(seq, event_id, event_type, event_time, prev, new)[:-1] + _PAYLOAD_KEY
    if not line.startswith(prefix) or not line.endswith(b"}"):
        raise MalformedLineError("the record is not in the exact form the audit writer produces")
    record = AuditRecord(
        seq=seq,
        event_id=event_id,
        event_type=event_type,
        event_time=event_time,
        prev_hash=prev,
        hash=new,
        payload=line[len(prefix) : -1],
    )
    return record, payload


def decode_checkpoint(line: bytes) -> AuditCheckpoint:
    """Decode one checkpoint line (without its line feed).

    Raises:
        MalformedLineError: The line is not a valid ``AuditCheckpoint`` or not its canonical
            JSON byte for byte (an unknown or altered field name would otherwise be dropped
            silently on read).
    """
    try:
        checkpoint = AuditCheckpoint.model_validate_json(line)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "(line)"
        raise MalformedLineError(f"not a checkpoint: {where}: {first['msg']}") from exc
    if canonical(checkpoint) != line:
        raise MalformedLineError("the checkpoint is not in canonical form")
    return checkpoint
