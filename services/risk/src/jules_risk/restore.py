"""The risk service's start-up restore: its changelog, then the control state, then consume.

1. The changelog (``risk.changelog.v1`` within the run scope, this replica's keys) is read to
   its end outside any consumer group, and the engine, the latest portfolio snapshot and the
   commands applied are restored from it (``jules_risk.state``). The input consumer skips the
   records whose effects the restored state holds (the changelog is written before the
   offsets are committed, so it may be ahead of them).
2. The control state (``control-state.v1``) is read the same way, and the commands for risk
   that the restored state does not hold yet are applied again (their outputs were
   published when they were first applied, and are not published again). The control
   consumer skips what the control state holds.
3. Then the service consumes: the input consumer from its group's committed offsets, the
   control consumer (a group of its own per replica, so every replica reads every command)
   from its own, or from the beginning of ``control.v1`` for a new replica.

A restart therefore never means a fresh account: positions, working orders, limits and the
kill switch are as they were, with nothing handled twice.
"""

from __future__ import annotations

from jules_contracts.topics import CONTROL_STATE, RISK_CHANGELOG
from jules_runtime.bus import MessageProcessor
from jules_runtime.bus.changelog import (
    StateWriter,
    decoded,
    ensure_compacted_topics,
    read_state,
)
from jules_runtime.logging import logger

from jules_risk.config import RiskSettings
from jules_risk.handlers import RiskService
from jules_risk.state import restore_control_state, restore_service_state

__all__ = ["changelog_prefix", "control_group", "restore_state"]


def control_group(settings: RiskSettings) -> str:
    """The control consumer's group: one per replica (broadcast), stable across restarts."""
    return f"{settings.consumer_group}-control-{settings.replica}"


def changelog_prefix(settings: RiskSettings) -> str:
    """The prefix of this replica's keys on the changelog."""
    return f"{settings.replica}/"


async def restore_state(
    service: RiskService,
    settings: RiskSettings,
    *,
    writer: StateWriter,
    inputs: MessageProcessor,
    control: MessageProcessor,
) -> int:
    """Restore the service from its changelog and the control state (before consuming).

    Args:
        service: The new service.
        settings: Its settings (Kafka, run scope, replica).
        writer: The changelog writer of the input consumer (told what is on the topic).
        inputs: The input consumer's processor (told which records to skip).
        control: The control consumer's processor (told which records to skip).

    Returns:
        How many control commands were applied from the control state.
    """
    kafka, scope = settings.kafka, settings.run_scope
    client_id = f"{settings.client_id}-restore"
    changelog, control_state = RISK_CHANGELOG.scoped(scope), CONTROL_STATE.scoped(scope)
    await ensure_compacted_topics(kafka, [changelog, control_state])
    prefix = writer.changelog.prefix
    entities = writer.restored(
        await read_state(kafka, changelog, client_id=client_id, prefix=prefix)
    )
    if entities:
        restore_service_state(service, entities)
    inputs.skip_applied(writer.applied_offsets())
    entries = decoded(await read_state(kafka, control_state, client_id=client_id))
    applied, read = restore_control_state(service, entries)
    control.skip_applied(read)
    engine = service.engine
    logger.info(
        "state restored",
        entities=len(entities),
        working_orders=len(engine.book.working_orders()),
    )
    logger.info(
        "control commands restored",
        commands=applied,
        kill_switch=engine.kill_switch_state().value,
    )
    return applied
