"""Risk alerts (``risk.alerts.v1``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from jules_contracts.base import Event, FiniteFloat, InstrumentId, Message
from jules_contracts.enums import AlertCode, AlertSeverity

__all__ = ["AlertCode", "AlertCodeText", "RiskAlert"]

AlertCodeText = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{1,63}$")]
"""An alert code on the wire: upper case (``DRAWDOWN_LIMIT``); the known ones are ``AlertCode``."""


class RiskAlert(Event):
    """Something a risk officer should see: a limit breached, a halt, a refused model.

    Attributes:
        severity: Info, warning or critical.
        code: What happened, as a stable code (an ``AlertCode``).
        message: A sentence naming the limit and the value (cut to ``MAX_MESSAGE``
            characters, so a long error text never makes the alert itself invalid).
        instrument_id: The instrument concerned, or ``None`` for the whole portfolio.
        metrics: The figures behind the alert (``{"drawdown": 0.12, "limit": 0.1}``).
    """

    event_type: Literal["risk.alert"] = "risk.alert"
    severity: AlertSeverity
    code: AlertCodeText
    message: Message
    instrument_id: InstrumentId | None = None
    metrics: dict[str, FiniteFloat] = Field(default_factory=dict)
