"""The model in service on the control state: the entry a swap leaves, its writer, the
restore at start-up (and its refusals), and the control consumer's group per replica.

No broker: the writer publishes to an ``InMemoryBus``, the restore is given the entry the
control state would hold (``tests/integration/test_model_restore.py`` runs both on Kafka).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from jules_contracts.control import ModelInService
from jules_contracts.enums import ModelStage
from jules_contracts.topics import CONTROL
from jules_runtime.bus import InboundRecord, InMemoryBus
from jules_runtime.bus.state_codec import dumps_state, loads_state
from jules_signal.app import subscribe
from jules_signal.config import SignalSettings
from jules_signal.control_state import (
    PRODUCTION,
    ModelStateWriter,
    applied_offsets,
    control_group,
    restore_in_service,
    restore_refused_alert,
    startup_entry,
)
from jules_signal.engine import OnnxPolicy
from jules_signal.handlers import SignalHandler
from jules_signal.metrics import SignalMetrics
from jules_signal.model_store import MODEL_FILE, STAGES_FILE, ModelStore, Stages
from prometheus_client import CollectorRegistry

from . import onnx_models
from .builders import SCHEMA_ID
from .model_registry import MODEL, NORMALISATION, sample, source, swap, write_registry
from .streams import NAMES, SCHEMA

TOPIC = "control-state.v1"
KEY = f"signal/model/{MODEL}/production"


def started(store: ModelStore, metrics: SignalMetrics | None = None) -> SignalHandler:
    """A handler as the service starts it: the registry's production version, its entry."""
    models = source(store)
    served = models.read(MODEL, "1")
    return SignalHandler(
        served.policy, SCHEMA, metrics=metrics, source=models, in_service=startup_entry(served)
    )


def version_of(handler: SignalHandler) -> str:
    assert isinstance(handler.strategy, OnnxPolicy)
    return handler.strategy.card.model_version


def digest(store: ModelStore, version: str) -> str:
    return hashlib.sha256(store.read_model(MODEL, version)).hexdigest()


def swapped_entry(store: ModelStore, version: str = "2") -> ModelInService:
    """The entry a production swap to ``version`` leaves (read at offset 7)."""
    handler = started(store)
    command = swap(version)
    assert handler.on_swap(command) == []
    handler.acknowledged(InboundRecord(CONTROL.name, 0, 7, None, b""), command, [])
    entry = handler.models.in_service
    assert entry is not None
    return entry


def test_the_start_up_entry_is_the_registry_production_as_read(tmp_path):
    store = write_registry(tmp_path)
    entry = started(store).models.in_service

    assert entry is not None
    assert (entry.model_name, entry.model_version, entry.stage) == (
        MODEL,
        "1",
        ModelStage.PRODUCTION,
    )
    assert Path(entry.path) == tmp_path / MODEL / "1" / MODEL_FILE
    assert entry.sha256 == digest(store, "1")
    assert entry.registry_production == "1"
    assert (entry.swap_id, entry.operator, entry.topic, entry.offset) == (None, None, None, None)


def test_a_production_swap_puts_its_version_in_service_with_where_it_was_read(tmp_path):
    store = write_registry(tmp_path)
    handler = started(store)
    command = swap("2")
    handler.on_swap(command)
    unread = handler.models.in_service
    handler.acknowledged(InboundRecord(CONTROL.name, 0, 7, None, b""), command, [])
    entry = handler.models.in_service

    assert unread is not None
    assert unread.offset is None
    assert entry is not None
    assert (entry.model_version, entry.sha256) == ("2", digest(store, "2"))
    assert Path(entry.path) == tmp_path / MODEL / "2" / MODEL_FILE
    assert (entry.swap_id, entry.operator, entry.since) == (command.event_id, "ops", 1)
    assert entry.registry_production == "1"
    assert (entry.topic, entry.partition, entry.offset) == (CONTROL.name, 0, 7)
    assert applied_offsets(entry) == {(CONTROL.name, 0): 8}


@pytest.mark.parametrize(
    "command",
    [swap("3"), swap("4", ModelStage.SHADOW), swap("1"), swap("2", target="risk")],
    ids=["refused", "shadow", "unchanged", "other-target"],
)
def test_what_puts_no_new_version_in_production_leaves_the_entry(tmp_path, command):
    handler = started(write_registry(tmp_path))
    before = handler.models.in_service
    handler.on_swap(command)
    handler.acknowledged(InboundRecord(CONTROL.name, 0, 3, None, b""), command, [])

    assert handler.models.in_service == before


def test_a_fixed_strategy_has_no_entry(tmp_path):
    models = source(write_registry(tmp_path))
    handler = SignalHandler(models.load(MODEL, "1"), SCHEMA)
    assert handler.models.in_service is None
    assert restore_in_service(handler.models, swapped_entry(models.store)) is None
    assert version_of(handler) == "1"


def test_the_entry_keeps_to_the_control_state_codec_and_is_no_command_entry(tmp_path):
    entry = swapped_entry(write_registry(tmp_path))
    decoded = loads_state(dumps_state(entry))

    assert decoded == entry
    # Risk restores the dict entries of the topic ({"command": ...}); this one is not one.
    assert not isinstance(decoded, dict)


async def test_the_writer_writes_the_model_in_service_when_it_changed(tmp_path):
    store = write_registry(tmp_path)
    handler = started(store)
    bus = InMemoryBus("signal")
    writer = ModelStateWriter(bus, TOPIC, MODEL, lambda: handler.models.in_service)
    async with bus:
        await writer.write()  # start-up
        await writer.write()  # unchanged: nothing more
        command = swap("2")
        handler.on_swap(command)
        handler.acknowledged(InboundRecord(CONTROL.name, 0, 5, None, b""), command, [])
        await writer.batch_done([])

    records = bus.records(TOPIC)
    assert [record.key for record in records] == [KEY.encode()] * 2
    first, second = (loads_state(record.value) for record in records)
    assert (first.model_version, first.swap_id) == ("1", None)
    assert (second.model_version, second.swap_id, second.offset) == ("2", command.event_id, 5)


async def test_an_entry_read_at_start_up_is_not_written_again(tmp_path):
    store = write_registry(tmp_path)
    entry = swapped_entry(store)
    handler = started(store)
    bus = InMemoryBus("signal")
    writer = ModelStateWriter(bus, TOPIC, MODEL, lambda: handler.models.in_service)
    restored = writer.restored({PRODUCTION: dumps_state(entry), "shadow": b"{}"})
    assert restore_in_service(handler.models, restored) is None
    async with bus:
        await writer.write()

    assert restored == entry
    assert bus.records(TOPIC) == []


def test_an_unreadable_entry_is_ignored(tmp_path):
    writer = ModelStateWriter(InMemoryBus("signal"), TOPIC, MODEL, lambda: None)
    assert writer.restored({PRODUCTION: b'{"__t":"model","c":"os:system","v":{}}'}) is None
    assert writer.restored({}) is None


def test_the_swapped_version_serves_again_after_a_restart(tmp_path):
    store = write_registry(tmp_path)
    entry = swapped_entry(store)
    registry = CollectorRegistry()
    handler = started(store, SignalMetrics(registry))

    assert restore_in_service(handler.models, entry) is None
    assert version_of(handler) == "2"
    assert handler.models.in_service == entry
    assert sample(
        registry,
        "jules_signal_model_info",
        model_name=MODEL,
        model_version="2",
        stage="PRODUCTION",
    )
    assert not sample(
        registry,
        "jules_signal_model_info",
        model_name=MODEL,
        model_version="1",
        stage="PRODUCTION",
    )


def test_restoring_the_version_running_in_shadow_ends_the_shadow_run(tmp_path):
    store = write_registry(tmp_path)
    entry = swapped_entry(store, "4")
    models = source(store)
    served = models.read(MODEL, "1")
    handler = SignalHandler(
        served.policy,
        SCHEMA,
        source=models,
        shadow=models.load(MODEL, "4", shadow=True),
        in_service=startup_entry(served),
    )

    assert restore_in_service(handler.models, entry) is None
    assert version_of(handler) == "4"
    assert handler.shadow is None


def test_the_registry_serves_when_the_entry_holds_no_swap_or_another_model(tmp_path):
    store = write_registry(tmp_path)
    entry = swapped_entry(store)
    for restored in (
        entry.model_copy(update={"swap_id": None}),
        entry.model_copy(update={"model_name": "other-policy"}),
        {"command": None},
        None,
    ):
        handler = started(store)
        before = handler.models.in_service
        assert restore_in_service(handler.models, restored) is None
        assert version_of(handler) == "1"
        assert handler.models.in_service == before


def test_a_promotion_in_the_registry_after_the_swap_wins(tmp_path):
    store = write_registry(tmp_path)
    entry = swapped_entry(store)  # swapped to 2 while the registry's production was 1
    (tmp_path / MODEL / STAGES_FILE).write_text(Stages(production="4").model_dump_json())
    models = source(store)
    served = models.read(MODEL, "4")
    handler = SignalHandler(served.policy, SCHEMA, source=models, in_service=startup_entry(served))

    assert restore_in_service(handler.models, entry) is None
    assert version_of(handler) == "4"
    handler.models.keep_read_position(entry)  # the swap is behind the entry now
    current = handler.models.in_service
    assert current is not None
    assert (current.model_version, current.swap_id) == ("4", None)
    assert applied_offsets(current) == {(CONTROL.name, 0): 8}


def test_the_read_position_of_another_model_or_an_entry_with_one_is_not_taken(tmp_path):
    store = write_registry(tmp_path)
    entry = swapped_entry(store)
    handler = started(store)
    handler.models.keep_read_position(entry.model_copy(update={"model_name": "other-policy"}))
    assert applied_offsets(handler.models.in_service) == {}
    handler.models.keep_read_position(entry)
    handler.models.keep_read_position(entry.model_copy(update={"offset": 99}))
    assert applied_offsets(handler.models.in_service) == {(CONTROL.name, 0): 8}


def test_a_swap_after_a_promotion_records_the_new_production(tmp_path):
    store = write_registry(tmp_path)
    handler = started(store)
    (tmp_path / MODEL / STAGES_FILE).write_text(Stages(production="4").model_dump_json())
    handler.on_swap(swap("2"))

    entry = handler.models.in_service
    assert entry is not None
    assert entry.registry_production == "4"


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda folder: (folder / MODEL_FILE).unlink(), "REGISTRY_ERROR"),
        (lambda folder: (folder / MODEL_FILE).write_bytes(b"not a model"), "INVALID_MODEL"),
    ],
    ids=["gone", "unreadable"],
)
def test_a_swapped_version_that_cannot_serve_is_refused_and_production_serves(
    tmp_path, damage, reason
):
    store = write_registry(tmp_path)
    entry = swapped_entry(store)
    damage(tmp_path / MODEL / "2")
    registry = CollectorRegistry()
    handler = started(store, SignalMetrics(registry))
    before = handler.models.in_service

    error = restore_in_service(handler.models, entry)

    assert error is not None
    assert (error.model_version, error.reason) == ("2", reason)
    assert version_of(handler) == "1"
    assert handler.models.in_service == before
    assert sample(registry, "jules_signal_models_rejected_total", reason=reason) == 1
    alert = restore_refused_alert(error, 1_700_000_000_000_000_000)
    assert alert.code == "MODEL_REJECTED"
    assert "'2'" in alert.message
    assert reason in alert.message
    assert "the registry's production version serves instead" in alert.message


def test_other_bytes_under_the_swapped_version_are_refused(tmp_path):
    store = write_registry(tmp_path)
    entry = swapped_entry(store)
    card = onnx_models.make_card(
        model_name=MODEL,
        model_version="2",
        feature_names=list(NAMES),
        feature_schema_id=SCHEMA_ID,
        normalisation=NORMALISATION,
    )
    other = onnx_models.policy_model(np.array([[1.0], [-1.0]]), card=card)
    (tmp_path / MODEL / "2" / MODEL_FILE).write_bytes(other)
    handler = started(store)

    error = restore_in_service(handler.models, entry)

    assert error is not None
    assert (error.model_version, error.reason) == ("2", "DIGEST_MISMATCH")
    assert entry.sha256 in error.detail
    assert version_of(handler) == "1"


def test_a_replica_reads_control_in_a_group_of_its_own(monkeypatch):
    monkeypatch.setenv("JULES_SIGNAL__FEATURES", json.dumps(list(NAMES)))
    monkeypatch.setenv("JULES_SIGNAL__FEATURE_SCHEMA_ID", SCHEMA_ID)
    monkeypatch.setenv("JULES_SIGNAL__STRATEGY", '{"kind":"sma_cross","fast":3,"slow":8}')
    groups = []
    for replica in ("0", "b-1"):
        monkeypatch.setenv("JULES_SIGNAL__REPLICA", replica)
        groups.append(control_group(SignalSettings()))

    assert groups == ["jules-signal-control-0", "jules-signal-control-b-1"]


async def test_the_control_consumer_commits_in_its_own_group(tmp_path):
    handler = started(write_registry(tmp_path))
    bus = InMemoryBus("signal")
    subscribe(bus, handler, control_group="jules-signal-control-a")
    async with bus:
        await bus.publish(swap("2"))
        await bus.drain()

    assert version_of(handler) == "2"
    assert bus.committed("jules-signal-control-a", CONTROL.name) == 1
    assert bus.committed(bus.default_group, CONTROL.name) == 0
