"""Risk alerts (``risk.alerts.v1``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from jules_contracts.base import Event, FiniteFloat, InstrumentId
from jules_contracts.enums import AlertSeverity

__all__ = ["AlertCode", "RiskAlert"]

AlertCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{1,63}$")]
"""An upper-case code (``DRAWDOWN_LIMIT``, ``MODEL_SCHEMA_MISMATCH``)."""


class RiskAlert(Event):
    """Something a risk officer should see: a limit breached, a halt, a refused model.

    Attributes:
        severity: Info, warning or critical.
        code: What happened, as a stable code.
        message: A sentence naming the limit and the value.
        instrument_id: The instrument concerned, or ``None`` for the whole portfolio.
        metrics: The figures behind the alert (``{"drawdown": 0.12, "limit": 0.1}``).
    """

    event_type: Literal["risk.alert"] = "risk.alert"
    severity: AlertSeverity
    code: AlertCode
    message: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    instrument_id: InstrumentId | None = None
    metrics: dict[str, FiniteFloat] = Field(default_factory=dict)
