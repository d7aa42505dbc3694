"""The order-router's state on Kafka: its changelog, written after each batch, restored first.

The changelog (``order-router.changelog.v1`` within the run scope, compacted, keys
``<replica>/<entity>``) holds the engine's entities (``jules_order_router.engine.state``:
account, positions, working orders, partially filled ones included, finished orders, replies
to decisions), what the handler knows of the latest market event of each instrument, and the
input offsets the state holds the effects of. It is written after each batch, before the
consumer commits its offsets (``jules_runtime.bus.changelog.StateWriter``); a finished order's
working entry becomes a tombstone.

At start-up the topic is read to its end outside any consumer group and the engine restored
from it before consuming; the records whose effects it holds are skipped (the changelog may be
ahead of the committed offsets), so nothing is handled twice and nothing is lost.
"""

from __future__ import annotations

from typing import Any

from jules_contracts.topics import ORDER_ROUTER_CHANGELOG
from jules_runtime.bus import MessageProcessor
from jules_runtime.bus.changelog import StateWriter, ensure_compacted_topics, read_state
from jules_runtime.logging import logger

from jules_order_router.config import OrderRouterSettings
from jules_order_router.engine.state import restore_router_state, router_state
from jules_order_router.handlers import RouterHandler

__all__ = ["HANDLER", "changelog_prefix", "handler_state", "restore_state"]

HANDLER = "handler/"
"""Prefix of the handler's entities: the latest market event time of each instrument."""


def changelog_prefix(settings: OrderRouterSettings) -> str:
    """The prefix of this replica's keys on the changelog."""
    return f"{settings.replica}/"


def handler_state(handler: RouterHandler) -> dict[str, Any]:
    """Everything the handler and its engine know, as changelog entities."""
    entities = router_state(handler.engine)
    for instrument, latest in handler.latest_market.items():
        entities[HANDLER + instrument] = latest
    return entities


async def restore_state(
    handler: RouterHandler,
    settings: OrderRouterSettings,
    *,
    writer: StateWriter,
    inputs: MessageProcessor,
) -> int:
    """Restore the handler and its engine from the changelog (before consuming).

    Returns:
        How many entities were restored.
    """
    kafka = settings.kafka
    topic = ORDER_ROUTER_CHANGELOG.scoped(settings.run_scope)
    await ensure_compacted_topics(kafka, [topic])
    client_id = f"{settings.client_id}-restore"
    entities = writer.restored(
        await read_state(kafka, topic, client_id=client_id, prefix=writer.changelog.prefix)
    )
    if entities:
        restore_router_state(handler.engine, entities)
        handler.latest_market = {
            key.removeprefix(HANDLER): value
            for key, value in entities.items()
            if key.startswith(HANDLER)
        }
    inputs.skip_applied(writer.applied_offsets())
    logger.info(
        "state restored",
        entities=len(entities),
        working_orders=len(handler.engine.working_orders),
        positions=len(handler.engine.positions),
    )
    return len(entities)
