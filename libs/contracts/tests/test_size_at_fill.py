"""``SubmitOrder.size_at_fill`` and ``OrderResized``: an order sized at its fill price."""

from __future__ import annotations

import json

import pytest
from jules_contracts import (
    OrderApproved,
    OrderResized,
    SizeAtFill,
    SubmitOrder,
    decode_event,
    encode_event,
    topic_for,
)
from jules_contracts.examples import example_for
from jules_contracts.topics import ORDERS_EVENTS
from pydantic import ValidationError


def test_an_order_without_size_at_fill_is_written_without_the_field():
    order = example_for(SubmitOrder).model_copy(update={"size_at_fill": None})
    approved = example_for(OrderApproved).model_copy(update={"order": order})

    assert "size_at_fill" not in json.loads(encode_event(order))
    assert "size_at_fill" not in json.loads(encode_event(approved))["order"]
    assert decode_event(encode_event(order)) == order


def test_size_at_fill_round_trips_with_its_fraction_and_step():
    order = example_for(SubmitOrder)

    assert order.size_at_fill == SizeAtFill(fraction=0.25, step=0.001)
    assert json.loads(encode_event(order))["size_at_fill"] == {"fraction": 0.25, "step": 0.001}
    assert decode_event(encode_event(order)) == order


@pytest.mark.parametrize(
    "fields",
    [
        {"fraction": 1.5},
        {"fraction": -1.01},
        {"fraction": float("nan")},
        {"fraction": "0.5"},
        {"fraction": 0.5, "step": 0.0},
        {"fraction": 0.5, "step": -1.0},
    ],
    ids=["above-1", "below-minus-1", "nan", "text", "step-zero", "step-negative"],
)
def test_a_fraction_outside_minus_one_to_one_or_a_step_not_above_zero_is_refused(fields):
    with pytest.raises(ValidationError):
        SizeAtFill.model_validate(fields)


def test_order_resized_travels_on_the_order_events_topic():
    resized = example_for(OrderResized)

    assert topic_for(resized) is ORDERS_EVENTS
    assert OrderResized in ORDERS_EVENTS.event_types
    assert decode_event(encode_event(resized)) == resized
    assert (resized.quantity, resized.previous_quantity) == (200_000.0, 250_000.0)
