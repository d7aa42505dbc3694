"""The model in service survives ``kill -9`` of the signal service: on the real broker, a swap
is written to ``control-state.v1`` and the restarted service serves the swapped version (its
signals carry it); a swapped version gone from the registry is refused at the next restart,
with an alert, and the registry's production version serves again."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

from jules.shadow_cmd import read_signals
from jules.swap_cmd import StageOption, publish_swap, swap_command
from jules_contracts import RiskAlert, decode_event
from jules_contracts.control import ModelInService
from jules_contracts.topics import CONTROL_STATE, RISK_ALERTS, SIGNALS
from jules_risk.engine import RiskEngine
from jules_risk.handlers import RiskService
from jules_risk.state import restore_control_state
from jules_runtime.bus import KafkaBus
from jules_runtime.bus.changelog import decoded, read_state
from jules_runtime.settings import KafkaSettings
from jules_signal.model_store import MODEL_FILE

from . import test_risk_service as risk_it
from .bus_helpers import read_topic
from .service_process import ServiceProcess
from .test_model_swap import (
    MODEL,
    decide,
    model_run,
    policy,
    publish_pairs,
    start_model_service,
    wait_processed,
)
from .test_signal_service import metric, wait_for_metric

KEY = f"signal/model/{MODEL}/production"
BAR_COUNT = 300
RESTART_AT = 150


async def control_state(settings: KafkaSettings, scope: str) -> dict[str, Any]:
    return decoded(
        await read_state(settings, CONTROL_STATE.scoped(scope), client_id="it-model-restore")
    )


async def wait_in_service(
    settings: KafkaSettings, scope: str, version: str, swap_id: str | None
) -> ModelInService:
    """Wait until the control state holds ``version`` in service, put there by ``swap_id``."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        entry = (await control_state(settings, scope)).get(KEY)
        if (
            isinstance(entry, ModelInService)
            and (entry.model_version, entry.swap_id) == (version, swap_id)
            and (swap_id is None or entry.offset is not None)
        ):
            return entry
        assert asyncio.get_running_loop().time() < deadline, f"not in service: {entry}"
        await asyncio.sleep(0.2)


def production_info(metrics: str, version: str) -> float | None:
    """``jules_signal_model_info`` of ``version`` in production (``None``: not serving)."""
    labels = {"model_name": MODEL, "model_version": version, "stage": "PRODUCTION"}
    return metric(metrics, "jules_signal_model_info", **labels)


async def serving(service: ServiceProcess, version: str) -> str:
    return await wait_for_metric(
        service,
        "jules_signal_model_info",
        1,
        model_name=MODEL,
        model_version=version,
        stage="PRODUCTION",
    )


async def test_a_swapped_model_serves_again_after_kill_9(kafka, tmp_path):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    run = await model_run(settings, tmp_path, BAR_COUNT)
    scope, schema, pairs, registry = run.scope, run.schema, run.pairs, run.registry
    # After the restart version 2 decides from a fresh start (it warms up again).
    expected = decide(policy(registry, "2", schema), pairs[:RESTART_AT])
    assert len(expected) >= 3
    assert decide(policy(registry, "1", schema), pairs[:RESTART_AT]) != expected

    def start() -> ServiceProcess:
        service = start_model_service(kafka.bootstrap, run, tmp_path, REPLICA="a")
        service.wait_ready()
        return service

    service = start()
    try:
        await serving(service, "1")
        await wait_in_service(settings, scope, "1", None)  # written at start-up
        swap = swap_command(MODEL, "2", stage=StageOption.production, operator="ops")
        await publish_swap(kafka.bootstrap, scope, swap)
        await serving(service, "2")
        written = await wait_in_service(settings, scope, "2", swap.event_id)
        assert service.kill() == -9

        service = start()
        # Restored before consuming: version 2 serves as soon as the service is ready, and
        # the swap was not applied a second time.
        metrics = await serving(service, "2")
        assert production_info(metrics, "1") is None
        assert (
            metric(metrics, "jules_signal_model_swaps_total", stage="PRODUCTION", result="swapped")
            is None
        )
        async with KafkaBus("test-feed", settings, scope) as feed:
            await publish_pairs(feed, pairs[:RESTART_AT])
            await wait_processed(service, scope, RESTART_AT)
        signals = await read_signals(kafka.bootstrap, SIGNALS.scoped(scope))
        state = await control_state(settings, scope)
        restored = state[KEY]

        # Version 2 leaves the registry: refused at the next restart, version 1 serves.
        assert service.kill() == -9
        (registry / MODEL / "2" / MODEL_FILE).rename(tmp_path / "v2.onnx")
        service = start()
        metrics = await serving(service, "1")
        fallback = await wait_in_service(settings, scope, "1", None)
        [alert_record] = await read_topic(kafka.bootstrap, RISK_ALERTS.scoped(scope), 1)
    finally:
        status = service.terminate()

    log = service.log.read_text()
    assert status == 0, log[-3000:]
    assert signals == expected
    assert {(s.strategy_id, s.model_version) for s in signals} == {(MODEL, "2")}

    # The control state holds the swapped version in service: the file and bytes that served.
    path = registry / MODEL / "2" / MODEL_FILE
    assert restored == written
    assert written.model_version == "2"
    assert written.swap_id == swap.event_id
    assert written.operator == "ops"
    assert written.registry_production == "1"
    assert Path(written.path) == path
    assert written.sha256 == hashlib.sha256((tmp_path / "v2.onnx").read_bytes()).hexdigest()
    assert written.topic is not None
    assert written.topic.endswith("control.v1")
    # Risk restores its own entries of the topic and leaves the signal service's alone.
    risk = RiskService(RiskEngine(risk_it.CONFIG))
    assert restore_control_state(risk, state) == (0, {})
    assert risk.control_applied == {}

    assert (
        fallback.sha256
        == hashlib.sha256((registry / MODEL / "1" / MODEL_FILE).read_bytes()).hexdigest()
    )
    alert = decode_event(alert_record.value)
    assert isinstance(alert, RiskAlert)
    assert alert.code == "MODEL_REJECTED"
    assert "'2'" in alert.message
    assert "REGISTRY_ERROR" in alert.message
    assert "the model in service before the restart cannot serve" in log
    assert metric(metrics, "jules_signal_models_rejected_total", reason="REGISTRY_ERROR") == 1
