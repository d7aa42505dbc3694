"""The risk service over Kafka: one risk engine behind the bus (``create_app``).

The wiring only: the handlers (routing, redelivery) are in ``jules_risk.handlers``, the
state on Kafka (changelog, control state) in ``jules_risk.state``, the start-up restore in
``jules_risk.restore``, the domain metrics in
``jules_risk.metrics``, the kill-switch endpoint in ``jules_risk.endpoints``, backtest mode in
``jules_risk.lockstep``.

Besides ``/health``, ``/ready`` and ``/metrics``, the service answers ``GET /kill-switch``
with ``{"state": "ACTIVE" | "REDUCING" | "HALTED"}`` (``?instrument=<id>``: the state in force
for that instrument).
"""

from __future__ import annotations

from faststream.asgi import AsgiFastStream
from jules_contracts.topics import CONTROL_STATE, RISK_CHANGELOG
from jules_runtime.bus.changelog import Changelog, StateWriter
from jules_runtime.service import ServiceRuntime, create_service_app, run_lockstep

from jules_risk.config import KILL_SWITCH_PATH, RiskSettings
from jules_risk.endpoints import kill_switch_endpoint
from jules_risk.engine import RiskEngine
from jules_risk.handlers import RiskService, subscribe
from jules_risk.lockstep import RiskDriver
from jules_risk.metrics import RiskMetrics
from jules_risk.restore import changelog_prefix, control_group, restore_state
from jules_risk.state import ControlStateWriter, service_state

__all__ = ["create_app"]


def create_app(settings: RiskSettings) -> AsgiFastStream:
    """Build the risk service: one engine, two consumers.

    The input consumer (group ``jules-risk``) writes the service's changelog after each
    batch, the control consumer (group ``jules-risk-control-<replica>``: every replica reads
    every command) the control state, both before their offsets are committed. Before
    consuming, the service restores both (``jules_risk.restore``): a restarted service is
    as it was (positions, working orders, limits, kill switch).

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

    def wire(runtime: ServiceRuntime) -> None:
        bus, scope = runtime.bus, settings.run_scope
        changelog = Changelog(RISK_CHANGELOG.scoped(scope), changelog_prefix(settings))
        writer = StateWriter(bus, changelog, lambda: service_state(service))
        control_state = ControlStateWriter(bus, CONTROL_STATE.scoped(scope), service)
        inputs, control = subscribe(
            bus,
            service,
            RiskMetrics(service.engine, runtime.registry),
            control_group=control_group(settings),
            on_input_batch=writer.batch_done,
            on_control_published=lambda record, event, _: control_state.published(record, event),
            on_control_batch=control_state.batch_done,
        )

        async def restore() -> None:
            await restore_state(service, settings, writer=writer, inputs=inputs, control=control)

        runtime.on_startup.append(restore)

    app = create_service_app(settings, wire)
    app.mount(KILL_SWITCH_PATH, kill_switch_endpoint(service.engine))
    return app


def _engine(settings: RiskSettings) -> RiskEngine:
    return RiskEngine(settings.risk_config, settings.instrument_table())
