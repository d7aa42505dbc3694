"""Client order ids are deterministic and distinct per cause and leg."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from jules_contracts.base import derive_event_id
from jules_contracts.ids import client_order_id


def test_same_cause_gives_the_same_client_order_id():
    signal_id = derive_event_id("signal", 1)
    assert client_order_id("sma", signal_id) == client_order_id("sma", signal_id)


@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_different_causes_or_legs_give_different_ids(a, b):
    if a != b:
        assert client_order_id("s", derive_event_id(a)) != client_order_id("s", derive_event_id(b))
        assert client_order_id("s", "x", a) != client_order_id("s", "x", b)


def test_client_order_id_is_a_valid_identifier_of_27_characters():
    value = client_order_id("sma_cross", derive_event_id("x"))
    assert len(value) == 27
    assert value.isalnum()
    assert value.startswith("J")


def reference_event_id(*parts: str | int) -> str:
    """The definition, spelled out with the uuid module: SHA-256 → 16 bytes → UUIDv8."""
    import hashlib
    import uuid

    raw = bytearray(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x80
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


@given(st.lists(st.one_of(st.text(max_size=30), st.integers()), min_size=1, max_size=5))
def test_derived_event_ids_follow_the_uuidv8_definition(parts):
    assert derive_event_id(*parts) == reference_event_id(*parts)


def test_shifted_examples_have_fresh_ids_and_later_times():
    from jules_contracts.examples import example_events, shifted_example

    for event in example_events():
        assert shifted_example(event, 0) is event
        moved = shifted_example(event, 3)
        assert type(moved) is type(event)
        assert moved.event_id != event.event_id
        assert moved.event_time == event.event_time + 3 * 60_000_000_000
        assert shifted_example(event, 3) == moved  # deterministic
