"""Control commands (``control.v1``): kill switch, configuration changes and model swaps.

Every command names its ``target`` service (``*`` for all) and the ``operator`` who issued it,
so the audit record says who did what. ``ModelInService`` is not a command: it is the signal
service's entry on the control-state topic (``control-state.v1``), the model it serves.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from jules_contracts.base import Contract, Event, EventId, Identifier, InstrumentId, UtcNanos
from jules_contracts.enums import KillSwitchState, ModelStage
from jules_contracts.system import Sha256Hex

__all__ = [
    "ChangeConfig",
    "ConfigValue",
    "EngageKillSwitch",
    "ModelInService",
    "ReleaseKillSwitch",
    "SwapModel",
]

Target = Annotated[str, StringConstraints(pattern=r"^(\*|[a-z][a-z0-9-]*)$")]
"""A service name (``risk``) or ``*`` for every service."""

Text = Annotated[str, StringConstraints(min_length=1, max_length=1024)]

ConfigValue = Annotated[
    Annotated[bool, Field(strict=True)]
    | Annotated[int, Field(strict=True)]
    | Annotated[float, Field(strict=True, allow_inf_nan=False)]
    | Annotated[str, Field(strict=True)],
    Field(union_mode="left_to_right"),
]
"""A configuration value: a boolean, integer, finite number or string.

Each member is strict, so a value keeps its JSON type: ``1`` stays an integer and ``"on"`` or
``"1.5"`` stay strings (a lax ``bool`` or ``float`` first in the union would coerce them).
"""


class EngageKillSwitch(Event):
    """Command: stop trading, wholly (``HALTED``, latched) or to risk-reducing orders only.

    Attributes:
        target: The service the command is for (``risk`` enforces the kill switch).
        state: ``REDUCING`` or ``HALTED``.
        reason: Why.
        operator: Who engaged it.
        instrument_id: One instrument, or ``None`` for the whole book.
    """

    event_type: Literal["control.kill_switch.engage"] = "control.kill_switch.engage"
    target: Target = "risk"
    state: Literal[KillSwitchState.REDUCING, KillSwitchState.HALTED] = KillSwitchState.HALTED
    reason: Text
    operator: Identifier
    instrument_id: InstrumentId | None = None


class ReleaseKillSwitch(Event):
    """Command: release the kill switch and return to ``ACTIVE``."""

    event_type: Literal["control.kill_switch.release"] = "control.kill_switch.release"
    target: Target = "risk"
    reason: Text
    operator: Identifier
    instrument_id: InstrumentId | None = None


class ChangeConfig(Event):
    """Command: change one setting of a running service.

    Attributes:
        target: The service whose setting changes.
        key: Dotted path of the setting (``limits.max_order_notional``).
        value: The new value; the service validates it as at start-up and refuses it otherwise.
        operator: Who changed it.
    """

    event_type: Literal["control.config.change"] = "control.config.change"
    target: Target
    key: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")]
    value: ConfigValue
    operator: Identifier


class SwapModel(Event):
    """Command: load another model version into the signal service, atomically.

    Attributes:
        target: The service (``signal``).
        model_name: Registered model name.
        model_version: Version to load.
        stage: ``SHADOW`` runs it beside production; ``PRODUCTION`` replaces the serving model.
        operator: Who swapped it.
    """

    event_type: Literal["control.model.swap"] = "control.model.swap"
    target: Target = "signal"
    model_name: Identifier
    model_version: Identifier
    stage: Literal[ModelStage.SHADOW, ModelStage.PRODUCTION] = ModelStage.PRODUCTION
    operator: Identifier


class ModelInService(Contract):
    """The model a service serves in a stage: its entry on the control-state topic.

    The signal service writes it under ``signal/model/<stage>`` (``signal/model/production``)
    whenever it puts a model in service, and serves it again after a restart.

    Attributes:
        target: The service serving it (``signal``).
        stage: The stage it serves in.
        model_name: Registered model name.
        model_version: The version serving.
        path: The ONNX file read from the registry.
        sha256: SHA-256 of the ONNX bytes read (a restart serves the same bytes or refuses).
        registry_production: The registry's production version when it was put in service
            (a later promotion in the registry makes the registry's production serve instead).
        swap_id: The ``SwapModel`` that put it in service (``None``: the registry's production
            version, served from start-up).
        operator: Who swapped it in (``None`` with no swap).
        since: When it was put in service: the swap's event time, or the start-up (UTC ns).
        topic: Where the last swap the entry reflects was read (``control.v1`` with its run
            scope; ``None`` before any): the commands up to it need not be read again. With
            ``partition`` and ``offset``.
        partition: That swap's partition.
        offset: That swap's offset.
    """

    target: Target = "signal"
    stage: Literal[ModelStage.SHADOW, ModelStage.PRODUCTION] = ModelStage.PRODUCTION
    model_name: Identifier
    model_version: Identifier
    path: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    sha256: Sha256Hex
    registry_production: Identifier | None = None
    swap_id: EventId | None = None
    operator: Identifier | None = None
    since: UtcNanos
    topic: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None
    partition: Annotated[int, Field(ge=0)] | None = None
    offset: Annotated[int, Field(ge=0)] | None = None
