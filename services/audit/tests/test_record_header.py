"""A record's header is the JSON encoder's output, whether formatted directly or encoded."""

from __future__ import annotations

import json

import pytest
from jules_audit.engine.records import _header


@pytest.mark.parametrize(
    "fields",
    [
        (
            1,
            "9f0e2c4a-1b2c-8d3e-9f4a-5b6c7d8e9f00",
            "risk.order_approved",
            17e17,
            "00" * 32,
            "ab" * 32,
        ),
        (10**12, "e-1", "md.bar", 0, "ff" * 32, "01" * 32),
        (2, 'quote"d', "x\\y", 5, "a", "b"),  # text that needs escaping goes through the encoder
        (3, "idé", "type\n", 5, "a", "b"),
    ],
)
def test_the_header_is_the_json_encoding_of_its_fields(fields):
    seq, event_id, event_type, event_time, prev, new = fields
    expected = json.dumps(
        {
            "seq": seq,
            "event_id": event_id,
            "event_type": event_type,
            "event_time": int(event_time),
            "prev_hash": prev,
            "hash": new,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")
    assert _header(seq, event_id, event_type, int(event_time), prev, new) == expected
