"""The order state machine: every allowed transition, every refused one."""

from __future__ import annotations

import itertools

import pytest
from jules_order_router.engine import (
    InvalidTransitionError,
    OrderEventKind,
    OrderStateMachine,
    OrderStatus,
)

S, E = OrderStatus, OrderEventKind

# The lifecycle of the contracts (new -> accepted -> partially filled -> filled / canceled /
# expired; new -> rejected), written out independently of the engine's table.
EXPECTED = {
    (S.NEW, E.ACCEPT): S.ACCEPTED,
    (S.NEW, E.REJECT): S.REJECTED,
    (S.ACCEPTED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.ACCEPTED, E.FILL): S.FILLED,
    (S.ACCEPTED, E.CANCEL): S.CANCELED,
    (S.ACCEPTED, E.EXPIRE): S.EXPIRED,
    (S.PARTIALLY_FILLED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.FILL): S.FILLED,
    (S.PARTIALLY_FILLED, E.CANCEL): S.CANCELED,
    (S.PARTIALLY_FILLED, E.EXPIRE): S.EXPIRED,
}

PATH_TO = {
    S.NEW: [],
    S.ACCEPTED: [E.ACCEPT],
    S.PARTIALLY_FILLED: [E.ACCEPT, E.PARTIAL_FILL],
    S.FILLED: [E.ACCEPT, E.FILL],
    S.CANCELED: [E.ACCEPT, E.CANCEL],
    S.REJECTED: [E.REJECT],
    S.EXPIRED: [E.ACCEPT, E.EXPIRE],
}


def machine_in(state: OrderStatus) -> OrderStateMachine:
    machine = OrderStateMachine("JTESTORDER")
    for event in PATH_TO[state]:
        machine.apply(event)
    assert machine.status is state
    return machine


def test_the_transition_table_is_exactly_the_documented_lifecycle() -> None:
    assert dict(OrderStateMachine.TRANSITIONS) == EXPECTED


@pytest.mark.parametrize(("state", "event"), sorted(EXPECTED))
def test_every_allowed_transition_reaches_its_state(
    state: OrderStatus, event: OrderEventKind
) -> None:
    machine = machine_in(state)

    result = machine.apply(event)

    assert result is EXPECTED[state, event]
    assert machine.status is EXPECTED[state, event]


INVALID = [pair for pair in itertools.product(S, E) if pair not in EXPECTED]


@pytest.mark.parametrize(("state", "event"), INVALID)
def test_every_other_transition_raises_naming_order_state_and_event(
    state: OrderStatus, event: OrderEventKind
) -> None:
    machine = machine_in(state)

    with pytest.raises(InvalidTransitionError) as caught:
        machine.apply(event)

    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.client_order_id, error.state, error.event) == ("JTESTORDER", state, event)
    assert "JTESTORDER" in str(error)
    assert state.value in str(error)
    assert event.value in str(error)
    assert machine.status is state  # a refused event changes nothing


@pytest.mark.parametrize("state", [S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED])
def test_final_states_are_terminal_and_allow_nothing(state: OrderStatus) -> None:
    machine = machine_in(state)

    assert machine.is_terminal
    assert not any(machine.can(event) for event in E)
    with pytest.raises(InvalidTransitionError, match="final"):
        machine.apply(E.CANCEL)


@pytest.mark.parametrize("state", [S.NEW, S.ACCEPTED, S.PARTIALLY_FILLED])
def test_live_states_are_not_terminal(state: OrderStatus) -> None:
    assert not machine_in(state).is_terminal


def test_a_second_acceptance_is_refused() -> None:
    machine = machine_in(S.ACCEPTED)

    with pytest.raises(InvalidTransitionError, match="ACCEPT is not allowed in state ACCEPTED"):
        machine.apply(E.ACCEPT)
