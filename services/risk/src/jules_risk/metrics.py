"""Domain metrics of the risk service (Prometheus), beside the bus metrics every service has.

``jules_risk_kill_switch_state`` (0 active, 1 reducing, 2 halted),
``jules_risk_denial_reasons_total{reason}`` and ``jules_risk_alerts_total{code}``.
"""

from __future__ import annotations

from collections.abc import Sequence

from jules_contracts import Event, OrderDenied, RiskAlert
from jules_contracts.enums import KillSwitchState
from jules_runtime.bus import InboundRecord
from prometheus_client import CollectorRegistry, Counter, Gauge

from jules_risk.engine import RiskEngine

__all__ = ["KILL_SWITCH_LEVEL", "RiskMetrics"]

KILL_SWITCH_LEVEL = {
    KillSwitchState.ACTIVE: 0,
    KillSwitchState.REDUCING: 1,
    KillSwitchState.HALTED: 2,
}
"""Value of the ``jules_risk_kill_switch_state`` gauge per state."""


class RiskMetrics:
    """Domain metrics of the risk service, counted once a message's outputs are published.

    Args:
        engine: The service's engine (the kill-switch gauge reads its state when scraped).
        registry: Where the metrics are registered.
    """

    def __init__(self, engine: RiskEngine, registry: CollectorRegistry) -> None:
        self.kill_switch = Gauge(
            "jules_risk_kill_switch_state",
            "Book-wide kill switch: 0 active, 1 reducing, 2 halted.",
            registry=registry,
        )
        self.kill_switch.set_function(lambda: KILL_SWITCH_LEVEL[engine.kill_switch_state()])
        self.denial_reasons = Counter(
            "jules_risk_denial_reasons",
            "Reason codes of denied orders (an order denied for two reasons counts twice).",
            ["reason"],
            registry=registry,
        )
        self.alerts = Counter(
            "jules_risk_alerts", "Risk alerts published, by code.", ["code"], registry=registry
        )

    def outputs_published(
        self, record: InboundRecord, event: Event, outputs: Sequence[Event]
    ) -> None:
        """Count denial reasons and alert codes among a message's published outputs."""
        for output in outputs:
            if isinstance(output, OrderDenied):
                for reason in output.reasons:
                    self.denial_reasons.labels(reason=reason.value).inc()
            elif isinstance(output, RiskAlert):
                self.alerts.labels(code=output.code).inc()
