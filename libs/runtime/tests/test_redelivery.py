"""Redelivery: outputs of a first delivery replayed until acknowledged, then nothing."""

from __future__ import annotations

import pytest
from jules_contracts import Event
from jules_contracts.examples import example_events
from jules_runtime.bus import Redelivery


def _outputs() -> list[Event]:
    return list(example_events()[:2])


def test_first_delivery_runs_the_handler_and_a_retry_gets_the_same_outputs():
    redelivery = Redelivery()
    calls = []
    outputs = _outputs()

    def handle():
        calls.append(1)
        return outputs

    assert redelivery.outputs("in-1", handle) == outputs
    assert redelivery.outputs("in-1", handle) == outputs
    assert len(calls) == 1
    assert redelivery.pending() == 1


def test_acknowledged_input_gives_nothing_and_never_reaches_the_handler():
    redelivery = Redelivery()
    redelivery.outputs("in-1", _outputs)
    redelivery.acknowledge("in-1")
    assert redelivery.is_acknowledged("in-1")
    assert redelivery.pending() == 0
    assert redelivery.outputs("in-1", lambda: pytest.fail("handled twice")) == []


def test_both_memories_are_bounded():
    redelivery = Redelivery(capacity=2)
    for event_id in ("a", "b", "c"):
        redelivery.outputs(event_id, _outputs)
    assert redelivery.pending() == 2
    redelivery.acknowledge_all(["a", "b", "c"])
    assert not redelivery.is_acknowledged("a")
    assert redelivery.is_acknowledged("b")
    assert redelivery.is_acknowledged("c")


def test_capacity_must_be_positive():
    with pytest.raises(ValueError, match="capacity"):
        Redelivery(capacity=0)
