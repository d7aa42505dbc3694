"""The alerts the risk engine raises, and the ``source`` of every event it creates.

An ``Alert`` becomes a ``RiskAlert`` event once tied to its cause: its id is derived from the
cause and the code (a replay regenerates it). ``RiskAlert`` cuts its message to the
contract's limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from jules_contracts.base import Event
from jules_contracts.enums import AlertCode, AlertSeverity
from jules_contracts.orders import SubmitOrder
from jules_contracts.risk import RiskAlert
from jules_contracts.signals import SignalGenerated

__all__ = [
    "SOURCE",
    "Alert",
    "no_snapshot",
    "portfolio_unavailable",
    "sizing_unavailable",
]

SOURCE = "risk"
"""``source`` of every event the engine creates."""


@dataclass(frozen=True, slots=True)
class Alert:
    """What an alert says, before it is tied to the event that caused it."""

    code: AlertCode
    severity: AlertSeverity
    message: str
    instrument_id: str | None = None
    metrics: dict[str, float] | None = None

    def event(self, cause: Event) -> RiskAlert:
        """The ``RiskAlert`` caused by ``cause`` (its id derived from the cause and the code)."""
        return RiskAlert.derive(
            cause,
            key=self.code,
            source=SOURCE,
            severity=self.severity,
            code=self.code,
            message=self.message,
            instrument_id=self.instrument_id,
            metrics=self.metrics or {},
        )


def no_snapshot(account_id: str) -> str:
    """Why nothing is sized or decided before the account's first portfolio snapshot."""
    return f"no portfolio snapshot of account {account_id} yet"


def sizing_unavailable(signal: SignalGenerated, kind: str, reason: str) -> Alert:
    """``SIZING_UNAVAILABLE``: the target of ``signal`` cannot be computed (``reason``)."""
    instrument = signal.instrument_id
    return Alert(
        AlertCode.SIZING_UNAVAILABLE,
        AlertSeverity.WARNING,
        f"signal for {instrument} not sized ({kind}): {reason}",
        instrument,
    )


def portfolio_unavailable(order: SubmitOrder, account_id: str) -> Alert:
    """``PORTFOLIO_UNAVAILABLE``: an intent before the account's first snapshot is not decided."""
    return Alert(
        AlertCode.PORTFOLIO_UNAVAILABLE,
        AlertSeverity.WARNING,
        f"order {order.client_order_id} for {order.instrument_id} not decided: "
        f"{no_snapshot(account_id)}",
        order.instrument_id,
    )
