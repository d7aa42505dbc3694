"""The risk service's state on Kafka: its changelog and the control-state topic.

* The changelog (``risk.changelog.v1``, compacted, keys ``<replica>/<entity>``): the engine's
  entities (``jules_risk.engine.state``), the latest portfolio snapshot, the control commands
  applied (per control-state key) and the input offsets they hold the effects of. It is
  written after each batch of the input consumer, before its offsets are committed
  (``jules_runtime.bus.changelog.StateWriter``).
* The control state (``control-state.v1``, compacted, keyed by target and scope:
  ``risk/kill_switch/*``, ``risk/kill_switch/<instrument>``, ``risk/config/<key>``): the
  last command applied for each key, the state it left, and where it was read on
  ``control.v1``. Written after each batch of the control consumer, before its offsets are
  committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jules_contracts import EngageKillSwitch, Event, ReleaseKillSwitch
from jules_contracts.control import ChangeConfig
from jules_contracts.enums import KillSwitchState
from jules_runtime.bus import InboundRecord
from jules_runtime.bus.changelog import Changelog
from jules_runtime.bus.processor import Sender
from jules_runtime.bus.state_codec import dumps_state

from jules_risk.engine import SOURCE
from jules_risk.engine.state import kill_switch_scope_state, restore_risk_state, risk_state
from jules_risk.handlers import RiskService, control_state_key

__all__ = [
    "ControlStateWriter",
    "restore_control_state",
    "restore_service_state",
    "service_state",
]


_ENGAGED = (KillSwitchState.REDUCING, KillSwitchState.HALTED)


def service_state(service: RiskService) -> dict[str, Any]:
    """Everything the service knows, as changelog entities."""
    return {
        **risk_state(service.engine),
        "portfolio": service.portfolio,
        "control": dict(service.control_applied),
    }


def restore_service_state(service: RiskService, entities: Mapping[str, Any]) -> None:
    """Put changelog entities (``service_state``'s) into a new service."""
    restore_risk_state(service.engine, entities)
    service.portfolio = entities.get("portfolio")
    service.control_applied = dict(entities.get("control", {}))


class ControlStateWriter:
    """Writes the control commands risk applied to the control-state topic.

    ``published`` is the control consumer's ``on_outputs_published`` hook (it notes each
    command for risk and where it was read); ``batch_done`` its ``on_batch_done`` hook (it
    publishes what was noted and waits for the acknowledgements, before the commit).

    Args:
        sender: Publishes and waits for acknowledgements (the service's bus).
        topic: The control-state topic (run scope included).
        service: The service whose engine applied the commands.
    """

    def __init__(self, sender: Sender, topic: str, service: RiskService) -> None:
        self._sender = sender
        self._changelog = Changelog(topic)
        self._service = service
        self._pending: dict[str, bytes] = {}

    def published(self, record: InboundRecord, event: Event) -> None:
        """Note a command applied (``record`` is where it was read on ``control.v1``)."""
        if not isinstance(event, EngageKillSwitch | ReleaseKillSwitch | ChangeConfig):
            return
        if event.target not in (SOURCE, "*"):
            return
        state = None
        if not isinstance(event, ChangeConfig):
            state = kill_switch_scope_state(self._service.engine, event.instrument_id)
        self._pending[control_state_key(event)] = dumps_state(
            {
                "command": event,
                "state": state,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
            }
        )

    async def batch_done(self, records: Sequence[InboundRecord]) -> None:
        """Publish the commands noted, and wait for their acknowledgements."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        try:
            await self._sender.send([self._changelog.message(k, v) for k, v in pending.items()])
        except Exception:
            self._pending = pending | self._pending  # written with the next batch
            raise


def restore_control_state(
    service: RiskService, entries: Mapping[str, Any]
) -> tuple[int, dict[tuple[str, int], int]]:
    """Apply the control state the service's own state does not hold yet.

    Each entry (``ControlStateWriter``'s) for risk whose command is not the one the restored
    state applied last for its key is applied again (a kill switch at the state it left);
    its outputs were published when it was first applied, so they are discarded.

    Returns:
        How many commands were applied, and per ``control.v1`` partition the offset after the
        last command the entries hold (the control consumer skips what comes before).
    """
    applied = 0
    offsets: dict[tuple[str, int], int] = {}
    wanted = [
        (key, entry)
        for key, entry in entries.items()
        if isinstance(entry, dict) and entry["command"].target in (SOURCE, "*")
    ]
    for key, entry in sorted(wanted, key=lambda item: item[1]["command"].event_time):
        command = entry["command"]
        where = (entry["topic"], entry["partition"])
        offsets[where] = max(offsets.get(where, 0), entry["offset"] + 1)
        if service.control_applied.get(key) == command.event_id:
            continue
        if isinstance(command, EngageKillSwitch) and entry["state"] in _ENGAGED:
            command = command.model_copy(update={"state": entry["state"]})
        service.restore([command])
        service.control_applied[key] = command.event_id
        applied += 1
    return applied, offsets
