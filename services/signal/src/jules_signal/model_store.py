"""Read-only view of a model registry folder: which version serves, and its ONNX bytes.

The trainer writes the registry (``jules_trainer.registry``); the signal service only reads it.
Layout under the registry root::

    <root>/<model_name>/<version>/model.onnx        the ONNX policy (required)
    <root>/<model_name>/<version>/model.pt          TorchScript twin (optional)
    <root>/<model_name>/<version>/card.json         the model card as JSON
    <root>/<model_name>/<version>/experiment.json   the experiment record
    <root>/<model_name>/<version>/gate.json         the out-of-sample gate result, once run
    <root>/<model_name>/stages.json                 production and shadow versions, and history

``stages.json`` is replaced atomically by the writer (a temporary file then a rename), so a
reader sees either the old or the new file, never a partial one. A model without
``stages.json`` has neither a production nor a shadow version.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from jules_contracts import JulesError
from jules_contracts.enums import ModelStage
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jules_signal.engine import ModelCard

__all__ = [
    "CARD_FILE",
    "EXPERIMENT_FILE",
    "GATE_FILE",
    "MODEL_FILE",
    "STAGES_FILE",
    "TORCHSCRIPT_FILE",
    "ModelStore",
    "ModelStoreError",
    "StageRecord",
    "Stages",
    "check_path_part",
]

MODEL_FILE = "model.onnx"
"""The ONNX policy of a version."""
TORCHSCRIPT_FILE = "model.pt"
"""The TorchScript twin of the policy (optional)."""
CARD_FILE = "card.json"
"""The model card of a version, as JSON."""
EXPERIMENT_FILE = "experiment.json"
"""The experiment record of a version."""
GATE_FILE = "gate.json"
"""The out-of-sample gate result of a version."""
STAGES_FILE = "stages.json"
"""Stages of a model (one file per model name)."""

_PATH_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


class ModelStoreError(JulesError):
    """A registry entry is missing or unreadable; the message names the path at fault."""


def check_path_part(kind: str, value: str) -> str:
    """Check that a model name or version is one safe folder name.

    Args:
        kind: What the value is (``"model name"``, ``"version"``), for the message.
        value: The name or version.

    Returns:
        ``value`` unchanged.

    Raises:
        ModelStoreError: ``value`` is empty, has a path separator, ``..``, or other characters
            than letters, digits and ``._+-``.
    """
    if not _PATH_PART.match(value) or ".." in value:
        raise ModelStoreError(
            f"invalid {kind} {value!r}: use letters, digits and ._+- (starting with a letter "
            "or digit, no '..', at most 128 characters)"
        )
    return value


class StageRecord(BaseModel):
    """One stage change of a model.

    Attributes:
        at: When, ISO-8601 UTC.
        action: ``promote`` (a version entered the stage) or ``rollback`` (production went
            back to the version it replaced).
        stage: The stage that changed (``SHADOW`` or ``PRODUCTION``).
        version: The version now in the stage.
        previous: The version that was in the stage before (``None`` if empty).
        operator: Who made the change.
        reason: Why.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: str
    action: Literal["promote", "rollback"] = "promote"
    stage: ModelStage
    version: str | None
    previous: str | None = None
    operator: str
    reason: str


class Stages(BaseModel):
    """Content of ``stages.json``: the production and shadow versions of one model.

    Attributes:
        production: The version serving live signals (``None``: none).
        shadow: The version running in shadow mode (``None``: none).
        history: Every stage change, oldest first.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    production: str | None = None
    shadow: str | None = None
    history: tuple[StageRecord, ...] = Field(default_factory=tuple)

    def stage_of(self, version: str) -> ModelStage:
        """The stage of ``version``: production, shadow, or candidate for any other version."""
        if version == self.production:
            return ModelStage.PRODUCTION
        if version == self.shadow:
            return ModelStage.SHADOW
        return ModelStage.CANDIDATE


class ModelStore:
    """Read access to a registry folder.

    Args:
        root: The registry root (one folder per model name).
    """

    def __init__(self, root: Path) -> None:
        self._root = Path(root)

    @property
    def root(self) -> Path:
        """The registry root."""
        return self._root

    def model_dir(self, name: str) -> Path:
        """Folder of a model name (it may not exist).

        Raises:
            ModelStoreError: ``name`` is not a safe folder name.
        """
        return self._root / check_path_part("model name", name)

    def version_dir(self, name: str, version: str) -> Path:
        """Folder of a model version (it may not exist).

        Raises:
            ModelStoreError: ``name`` or ``version`` is not a safe folder name.
        """
        return self.model_dir(name) / check_path_part("version", version)

    def stages(self, name: str) -> Stages:
        """The stages of a model (empty when it has no ``stages.json``).

        Raises:
            ModelStoreError: ``stages.json`` is unreadable or invalid (the message names it).
        """
        path = self.model_dir(name) / STAGES_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Stages()
        except OSError as error:
            raise ModelStoreError(f"cannot read {path}: {error}") from error
        try:
            return Stages.model_validate_json(text)
        except ValidationError as error:
            raise ModelStoreError(f"invalid {path}: {error}") from error

    def production_version(self, name: str) -> str | None:
        """The production version of a model (``None`` if none)."""
        return self.stages(name).production

    def shadow_version(self, name: str) -> str | None:
        """The shadow version of a model (``None`` if none)."""
        return self.stages(name).shadow

    def model_path(self, name: str, version: str) -> Path:
        """Path of a version's ONNX file.

        Raises:
            ModelStoreError: The file does not exist (the message names the path).
        """
        path = self.version_dir(name, version) / MODEL_FILE
        if not path.is_file():
            raise ModelStoreError(f"model {name} version {version}: no {MODEL_FILE} at {path}")
        return path

    def read_model(self, name: str, version: str) -> bytes:
        """The ONNX bytes of a version.

        Raises:
            ModelStoreError: The file is missing or unreadable.
        """
        path = self.model_path(name, version)
        try:
            return path.read_bytes()
        except OSError as error:
            raise ModelStoreError(f"cannot read {path}: {error}") from error

    def read_card(self, name: str, version: str) -> ModelCard:
        """The model card of a version, from its ``card.json``.

        Raises:
            ModelStoreError: The file is missing, unreadable or not a valid card.
        """
        path = self.version_dir(name, version) / CARD_FILE
        try:
            return ModelCard.model_validate_json(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ModelStoreError(
                f"model {name} version {version}: cannot read {path}: {error.strerror}"
            ) from error
        except ValidationError as error:
            raise ModelStoreError(f"invalid model card {path}: {error}") from error
