"""The risk service's start-up restore: control commands its consumer group already processed.

The engine's state lives in memory. A restarted service first reads ``control.v1`` (within its
run scope) from the beginning up to the group's committed offsets, outside the group, and
applies those commands again (``RiskService.restore``: kill switch, configuration changes;
their outputs were published then and are not published again); then it resumes from the
committed offsets. ``control.v1`` must keep its messages for this (long retention; compaction
by key would lose older commands of the same target).
"""

from __future__ import annotations

from jules_contracts import Event
from jules_contracts.topics import CONTROL
from jules_runtime.bus import committed_offsets, read_topic
from jules_runtime.logging import logger

from jules_risk.config import RiskSettings
from jules_risk.handlers import RiskService

__all__ = ["read_processed_control", "restore_processed_control"]


async def read_processed_control(settings: RiskSettings) -> list[Event]:
    """The control commands the service's consumer group has already processed, in order.

    Reads ``control.v1`` (within the run scope) from its beginning up to the group's committed
    offsets, without joining the group, in the order the commands were issued (event time).
    Messages that are not valid control commands (they were dead-lettered) are left out.
    """
    topic = CONTROL.scoped(settings.run_scope)
    client_id = f"{settings.client_id}-restore"
    processed = await committed_offsets(
        settings.kafka, settings.consumer_group, client_id=client_id, topic=topic
    )
    commands = await read_topic(
        settings.kafka, topic, client_id=client_id, upto=processed, allowed=CONTROL.event_types
    )
    # Kafka orders each partition only (control.v1 is keyed by target): the commands are
    # applied in the order they were issued, each partition's order kept for equal times.
    return sorted(commands, key=lambda command: command.event_time)


async def restore_processed_control(service: RiskService, settings: RiskSettings) -> int:
    """Apply again the control commands the consumer group already processed (at start-up).

    So a restarted service keeps its kill switch and the configuration changes made at run
    time; their outputs are not published again.

    Returns:
        How many commands were for risk.
    """
    applied = service.restore(await read_processed_control(settings))
    logger.info(
        "control commands restored",
        commands=applied,
        kill_switch=service.engine.kill_switch_state().value,
    )
    return applied
