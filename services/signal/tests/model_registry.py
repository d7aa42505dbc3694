"""A model registry with versions that serve and versions that do not, and swap commands."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
from jules_contracts.base import new_event_id
from jules_contracts.control import SwapModel
from jules_contracts.enums import ModelStage
from jules_signal.engine import OnnxPolicy, OnnxPolicyConfig
from jules_signal.model_store import MODEL_FILE, STAGES_FILE, ModelStore, Stages
from jules_signal.serving import ModelSource, shadow_strategy_id
from prometheus_client import CollectorRegistry

from . import onnx_models
from .builders import OTHER_SCHEMA_ID, SCHEMA_ID
from .streams import NAMES

MODEL = "ma-policy"
POLICY = OnnxPolicyConfig(dead_band=0.0, min_weight_change=0.001)
NORMALISATION = {"sma_3": {"mean": 100.0, "std": 2.0}, "sma_8": {"mean": 100.0, "std": 2.0}}
WEIGHTS = {
    "1": [[3.0], [-3.0]],  # long when the fast average is above the slow one
    "2": [[-2.0], [2.5]],  # the other way round, other magnitudes
    "4": [[3.0], [-3.0]],  # version 1's weights under another version
}


def model_bytes(version: str, *, name: str = MODEL, schema_id: str = SCHEMA_ID) -> bytes:
    """The ONNX policy of a version, with its model card."""
    card = onnx_models.make_card(
        model_name=name,
        model_version=version,
        feature_names=list(NAMES),
        feature_schema_id=schema_id,
        normalisation=NORMALISATION,
    )
    return onnx_models.policy_model(np.array(WEIGHTS.get(version, [[1.0], [1.0]])), card=card)


def write_registry(
    root: Path, *, production: str | None = "1", shadow: str | None = None
) -> ModelStore:
    """A registry with versions 1, 2 and 4 (usable), 3 (another schema), 5 (not ONNX)."""
    for version in ("1", "2", "4"):
        folder = root / MODEL / version
        folder.mkdir(parents=True)
        (folder / MODEL_FILE).write_bytes(model_bytes(version))
    (root / MODEL / "3").mkdir()
    (root / MODEL / "3" / MODEL_FILE).write_bytes(model_bytes("3", schema_id=OTHER_SCHEMA_ID))
    (root / MODEL / "5").mkdir()
    (root / MODEL / "5" / MODEL_FILE).write_bytes(b"not a model")
    stages = Stages(production=production, shadow=shadow)
    (root / MODEL / STAGES_FILE).write_text(stages.model_dump_json())
    return ModelStore(root)


def source(store: ModelStore) -> ModelSource:
    """The registry model the service serves, as it is configured in these tests."""
    return ModelSource(store, MODEL, SCHEMA_ID, NAMES, POLICY)


def policy(
    version: str, *, shadow: bool = False, targets: Mapping[str, float] | None = None
) -> OnnxPolicy:
    """The policy of a version as the service builds it, for reference runs."""
    return OnnxPolicy.from_bytes(
        model_bytes(version),
        live_schema_id=SCHEMA_ID,
        live_feature_names=NAMES,
        strategy_id=shadow_strategy_id(MODEL) if shadow else MODEL,
        config=POLICY,
        targets=targets,
    )


def swap(
    version: str,
    stage: Literal[ModelStage.SHADOW, ModelStage.PRODUCTION] = ModelStage.PRODUCTION,
    *,
    model_name: str = MODEL,
    target: str = "signal",
) -> SwapModel:
    """A new ``SwapModel`` command (a fresh event id) for ``version`` of ``model_name``."""
    return SwapModel(
        event_id=new_event_id(),
        source="operator",
        event_time=1,
        model_name=model_name,
        model_version=version,
        stage=stage,
        operator="ops",
        target=target,
    )


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """A metric sample's value, 0 when it was never set."""
    return registry.get_sample_value(name, labels) or 0.0
