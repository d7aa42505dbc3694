"""The risk engine: pure, synchronous, deterministic domain logic of the risk service.

``RiskEngine`` takes market data, signals, order intents, order events, portfolio snapshots
and control commands, and returns the events they cause: sized orders, approvals and
denials with reason codes, stop exits, cancels on a halt, and alerts. Configuration is
``RiskConfig`` (``config``); sizing functions are in ``sizing``, risk measures in ``metrics``.
"""

from jules_risk.engine.alerts import SOURCE
from jules_risk.engine.checks import CHECKS, OrderContext, Violation, run_checks
from jules_risk.engine.config import (
    ConfigChangeError,
    RiskConfig,
    RiskControls,
    RiskLimits,
    SizingConfig,
    StopsConfig,
    with_change,
)
from jules_risk.engine.engine import ControlCommand, Decision, RiskEngine
from jules_risk.engine.monitor import PortfolioMetrics
from jules_risk.engine.sizing import SizingUnavailableError, target_quantity

__all__ = [
    "CHECKS",
    "SOURCE",
    "ConfigChangeError",
    "ControlCommand",
    "Decision",
    "OrderContext",
    "PortfolioMetrics",
    "RiskConfig",
    "RiskControls",
    "RiskEngine",
    "RiskLimits",
    "SizingConfig",
    "SizingUnavailableError",
    "StopsConfig",
    "Violation",
    "run_checks",
    "target_quantity",
    "with_change",
]
