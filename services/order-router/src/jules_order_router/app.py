"""The order-router service over Kafka: risk decisions and market data in, order events out.

The wiring only (``create_app``): the handler, with what the router does with each input and
with inputs delivered twice, is ``jules_order_router.handlers``; the changelog and the
start-up restore are ``jules_order_router.restore``; backtest mode is
``jules_order_router.lockstep``.
"""

from __future__ import annotations

from faststream.asgi import AsgiFastStream
from jules_contracts.topics import ORDER_ROUTER_CHANGELOG
from jules_runtime.bus.changelog import Changelog, StateWriter
from jules_runtime.service import ServiceRuntime, create_service_app, run_lockstep

from jules_order_router.config import OrderRouterSettings
from jules_order_router.engine import OrderRouterEngine
from jules_order_router.handlers import INPUT_TOPICS, RouterHandler
from jules_order_router.lockstep import VenueDriver
from jules_order_router.restore import changelog_prefix, handler_state, restore_state

__all__ = ["create_app"]


def create_app(settings: OrderRouterSettings) -> AsgiFastStream:
    """Build the order-router service (consumer group ``jules-order-router``).

    After each batch the router writes what changed in its state to its changelog, before
    the offsets are committed; at start-up it restores that state before consuming
    (``jules_order_router.restore``).

    With ``lockstep.enabled``, the service runs the venue's lockstep steps of a topic-replay
    backtest instead (``jules_order_router.lockstep``).
    """
    if settings.lockstep.enabled:
        return create_service_app(
            settings,
            lambda runtime: run_lockstep(
                runtime,
                VenueDriver(
                    _engine(settings),
                    close_at_end=settings.close_at_end,
                    ticks=settings.lockstep.ticks,
                ),
            ),
        )

    def wire(runtime: ServiceRuntime) -> None:
        handler = RouterHandler(_engine(settings), dedup_window=settings.dedup_window)
        topic = ORDER_ROUTER_CHANGELOG.scoped(settings.run_scope)
        changelog = Changelog(topic, changelog_prefix(settings))
        writer = StateWriter(runtime.bus, changelog, lambda: handler_state(handler))
        inputs = runtime.bus.subscribe(
            INPUT_TOPICS,
            handler.handle,
            on_outputs_published=handler.acknowledged,
            on_batch_done=writer.batch_done,
        )

        async def restore() -> None:
            await restore_state(handler, settings, writer=writer, inputs=inputs)

        runtime.on_startup.append(restore)

    return create_service_app(settings, wire)


def _engine(settings: OrderRouterSettings) -> OrderRouterEngine:
    return OrderRouterEngine(settings.router_config, settings.instrument_table())
