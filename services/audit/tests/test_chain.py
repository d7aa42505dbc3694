"""The hash chain: canonical bytes, chain values, deduplication and checkpoints."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from jules_audit.engine import (
    GENESIS_HASH,
    AuditChain,
    canonical,
    checkpoint_signature,
    sign_checkpoint,
)
from jules_audit.engine.chain import canonical_json
from jules_contracts.base import derive_event_id
from jules_contracts.examples import example_events

from .auditlog import reference_canonical, reference_chain


def test_canonical_is_compact_json_with_sorted_keys_of_the_json_dump():
    for event in example_events():
        text = canonical(event)

        assert text == reference_canonical(event)
        assert json.loads(text) == event.model_dump(mode="json")
        assert list(json.loads(text)) == sorted(event.model_dump(mode="json"))


def test_first_record_links_to_32_zero_bytes():
    chain = AuditChain()

    record = chain.append(example_events()[0])

    assert record is not None
    assert bytes(32) == GENESIS_HASH
    assert record.prev_hash == "0" * 64
    assert record.seq == 1


def test_chain_values_match_an_independent_computation(events):
    chain = AuditChain()

    records = [chain.append(event) for event in events]

    expected = reference_chain(events)
    assert [record.hash for record in records if record] == expected
    assert [record.prev_hash for record in records if record] == ["0" * 64, *expected[:-1]]
    assert [record.seq for record in records if record] == list(range(1, len(events) + 1))
    assert chain.head == expected[-1]
    assert len(chain) == chain.sequence == len(events)


def test_record_carries_the_events_envelope_and_canonical_payload(events):
    event = events[40]
    chain = AuditChain()

    record = chain.append(event)

    assert record is not None
    assert (record.event_id, record.event_type, record.event_time) == (
        event.event_id,
        event.event_type,
        event.event_time,
    )
    assert record.payload == reference_canonical(event)
    assert record.hash == hashlib.sha256(bytes(32) + record.payload).hexdigest()


def test_reappending_an_already_recorded_event_adds_no_record(events):
    chain = AuditChain()
    for event in events[:10]:
        chain.append(event)
    head = chain.head

    again = [chain.append(event) for event in events[:10]]

    assert again == [None] * 10
    assert chain.sequence == 10
    assert chain.head == head
    assert events[3].event_id in chain


def test_same_events_give_identical_records_on_every_run(events):
    first, second = AuditChain(), AuditChain()

    assert [first.append(e) for e in events] == [second.append(e) for e in events]
    assert first.checkpoint("segment-000001.jsonl") == second.checkpoint("segment-000001.jsonl")


def test_checkpoint_is_derived_from_segment_and_last_sequence(events):
    chain = AuditChain()
    for event in events[:5]:
        chain.append(event)

    checkpoint = chain.checkpoint("segment-000001.jsonl")

    assert checkpoint.event_id == derive_event_id("audit.checkpoint", "segment-000001.jsonl", 5)
    assert checkpoint.source == "audit"
    assert checkpoint.event_time == events[4].event_time
    assert (checkpoint.first_sequence, checkpoint.last_sequence) == (1, 5)
    assert checkpoint.chain_hash == reference_chain(events[:5])[-1]
    assert checkpoint.previous_chain_hash == "0" * 64
    assert checkpoint.signature is None
    assert chain.pending == 0


def test_checkpoints_chain_to_each_other(events):
    chain = AuditChain()
    for event in events[:5]:
        chain.append(event)
    first = chain.checkpoint("segment-000001.jsonl")
    for event in events[5:8]:
        chain.append(event)

    second = chain.checkpoint("segment-000002.jsonl")

    assert (second.first_sequence, second.last_sequence) == (6, 8)
    assert second.previous_chain_hash == first.chain_hash
    assert second.chain_hash == reference_chain(events[:8])[-1]


def test_checkpoint_with_nothing_new_is_refused(events):
    chain = AuditChain()
    with pytest.raises(ValueError, match="nothing to checkpoint"):
        chain.checkpoint("segment-000001.jsonl")
    chain.append(events[0])
    chain.checkpoint("segment-000001.jsonl")

    with pytest.raises(ValueError, match="no record after sequence 1"):
        chain.checkpoint("segment-000001.jsonl")


def test_signature_is_hmac_sha256_of_the_unsigned_checkpoint(events):
    chain = AuditChain()
    chain.append(events[0])
    checkpoint = chain.checkpoint("segment-000001.jsonl")
    key = b"secret"

    signed = sign_checkpoint(checkpoint, key)

    body = json.dumps(
        {**json.loads(checkpoint.model_dump_json()), "signature": None},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    assert signed.signature == hmac.new(key, body, hashlib.sha256).hexdigest()
    assert checkpoint_signature(signed, key) == signed.signature  # the old signature is ignored
    assert checkpoint_signature(signed, b"other") != signed.signature


def test_numbers_take_their_shortest_exact_form_and_read_back_equal():
    [event] = [e for e in example_events() if e.event_type == "features.vector"][:1]
    tiny = event.model_copy(update={"features": {"logret_1": 7.499343810918958e-05}})
    text = canonical(tiny)

    assert b'"logret_1":0.00007499343810918958' in text
    assert json.loads(text)["features"]["logret_1"] == 7.499343810918958e-05


def test_canonical_json_refuses_nan_and_infinity():
    with pytest.raises(ValueError, match="NaN or infinity"):
        canonical_json({"a": [1.0, {"b": float("nan")}]})
    with pytest.raises(ValueError, match="NaN or infinity"):
        canonical_json({"a": float("inf")})
    assert canonical_json({"b": None, "a": 1.5}) == b'{"a":1.5,"b":null}'
