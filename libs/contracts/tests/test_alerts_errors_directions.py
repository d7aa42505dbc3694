"""Alert codes, the alert message bound, the error base and the direction of a weight."""

from __future__ import annotations

import pytest
from jules_contracts import (
    MAX_MESSAGE,
    AlertCode,
    CancelOrder,
    DecodeError,
    JulesError,
    OrderDenied,
    RiskAlert,
    SignalDirection,
    decode_event,
    direction_of,
    encode_event,
)
from jules_contracts.enums import DeadLetterReason
from jules_contracts.examples import example_for


def test_an_alert_code_travels_as_its_plain_upper_case_name():
    alert = example_for(RiskAlert).model_copy(update={"code": AlertCode.SIZING_UNAVAILABLE})
    decoded = decode_event(encode_event(alert))
    assert isinstance(decoded, RiskAlert)
    assert decoded.code == "SIZING_UNAVAILABLE"
    assert decoded.code == AlertCode.SIZING_UNAVAILABLE


def test_every_alert_code_is_a_valid_wire_code():
    base = example_for(RiskAlert).model_dump()
    for code in AlertCode:
        assert RiskAlert.model_validate({**base, "code": code}).code == code.value


def test_a_long_alert_message_is_cut_to_the_bound_not_refused():
    base = example_for(RiskAlert).model_dump()
    alert = RiskAlert.model_validate({**base, "message": "x" * (MAX_MESSAGE + 500)})
    assert len(alert.message) == MAX_MESSAGE
    assert RiskAlert.model_validate({**base, "message": "short"}).message == "short"


def test_an_empty_alert_message_is_still_refused():
    base = example_for(RiskAlert).model_dump()
    with pytest.raises(ValueError, match="message"):
        RiskAlert.model_validate({**base, "message": ""})


def test_decode_error_is_a_jules_error_and_a_value_error():
    error = DecodeError(DeadLetterReason.UNDECODABLE, "not json")
    assert isinstance(error, JulesError)
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("weight", "direction"),
    [
        (0.5, SignalDirection.LONG),
        (1e-12, SignalDirection.LONG),
        (-1.0, SignalDirection.SHORT),
        (0.0, SignalDirection.FLAT),
        (-0.0, SignalDirection.FLAT),
    ],
)
def test_direction_of_is_the_sign_of_the_weight(weight, direction):
    assert direction_of(weight) is direction


@pytest.mark.parametrize(
    ("event_type", "field"), [(OrderDenied, "message"), (CancelOrder, "reason")]
)
def test_a_long_denial_or_cancel_reason_is_cut_like_an_alert_message(event_type, field):
    base = example_for(event_type).model_dump()
    event = event_type.model_validate({**base, field: "y" * (MAX_MESSAGE + 1)})
    assert getattr(event, field) == "y" * MAX_MESSAGE
