"""The risk service over Kafka: one risk engine behind the bus (``create_app``).

The wiring only: the handlers (routing, redelivery) are in ``jules_risk.handlers``, the
start-up restore of control commands in ``jules_risk.restore``, the domain metrics in
``jules_risk.metrics``, the kill-switch endpoint in ``jules_risk.endpoints``, backtest mode in
``jules_risk.lockstep``.

Besides ``/health``, ``/ready`` and ``/metrics``, the service answers ``GET /kill-switch``
with ``{"state": "ACTIVE" | "REDUCING" | "HALTED"}`` (``?instrument=<id>``: the state in force
for that instrument).
"""

from __future__ import annotations

from faststream.asgi import AsgiFastStream
from jules_runtime.service import ServiceRuntime, create_service_app, run_lockstep

from jules_risk.config import KILL_SWITCH_PATH, RiskSettings
from jules_risk.endpoints import kill_switch_endpoint
from jules_risk.engine import RiskEngine
from jules_risk.handlers import RiskService, subscribe
from jules_risk.lockstep import RiskDriver
from jules_risk.metrics import RiskMetrics
from jules_risk.restore import restore_processed_control

__all__ = ["create_app"]


def create_app(settings: RiskSettings) -> AsgiFastStream:
    """Build the risk service (consumer group ``jules-risk``): one engine, two consumers.

    Before consuming, the control commands the group already processed are applied again
    (``restore_processed_control``), so a restarted service keeps its kill switch and the
    configuration changes made at run time. The rest of the engine's state (market, working
    orders, loss halts) starts afresh.

    With ``lockstep.enabled``, the service runs risk's lockstep steps of a topic-replay backtest
    instead (``jules_risk.lockstep``).
    """
    if settings.lockstep.enabled:
        return create_service_app(
            settings,
            lambda runtime: run_lockstep(
                runtime, RiskDriver(_engine(settings), ticks=settings.lockstep.ticks)
            ),
        )
    service = RiskService(_engine(settings), dedup_window=settings.dedup_window)

    async def restore() -> None:
        await restore_processed_control(service, settings)

    def wire(runtime: ServiceRuntime) -> None:
        subscribe(runtime.bus, service, RiskMetrics(service.engine, runtime.registry))
        runtime.on_startup.append(restore)

    app = create_service_app(settings, wire)
    app.mount(KILL_SWITCH_PATH, kill_switch_endpoint(service.engine))
    return app


def _engine(settings: RiskSettings) -> RiskEngine:
    return RiskEngine(settings.risk_config, settings.instrument_table())
