"""The local model registry: versions, stages (candidate, shadow, production) and history.

Layout under the registry root (shared with the signal service's read-only
``jules_signal.model_store.ModelStore``)::

    <root>/<name>/<version>/model.onnx        the ONNX policy, its card in the metadata
    <root>/<name>/<version>/model.pt          TorchScript twin (optional)
    <root>/<name>/<version>/card.json         the model card as JSON
    <root>/<name>/<version>/experiment.json   the experiment record
    <root>/<name>/<version>/gate.json         the out-of-sample gate result, once run
    <root>/<name>/stages.json                 production and shadow versions, and history

Versions are ``"1"``, ``"2"``, ... per model name. A registered version is a candidate; it
enters the shadow or production stage only by ``promote``, which requires a stored gate result
that passed (see ``jules_trainer.gate``). A version promoted to production replaces the current
one, recorded in the history as ``previous``, so ``rollback`` puts it back. ``stages.json`` is
written to a temporary file in the same folder and renamed over the old one, so a reader (the
signal service) sees the old or the new file, never a partial one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import onnx
from jules_contracts import JulesError
from jules_contracts.enums import ModelStage
from jules_signal.engine import ModelCard
from jules_signal.model_store import (
    CARD_FILE,
    EXPERIMENT_FILE,
    GATE_FILE,
    MODEL_FILE,
    STAGES_FILE,
    TORCHSCRIPT_FILE,
    ModelStore,
    ModelStoreError,
    StageRecord,
    Stages,
)

__all__ = ["ModelRegistry", "RegisteredModel", "RegistryError"]


class RegistryError(JulesError):
    """A registry operation was refused; the message names the model and version."""


@dataclass(frozen=True)
class RegisteredModel:
    """One registered model version.

    Attributes:
        name: Model name.
        version: Version (``"1"``, ``"2"``, ...).
        stage: Its stage now.
        path: Its folder.
        card: Its model card.
        experiment: Its experiment record (``experiment.json``).
        gate: Its gate result (``gate.json``), ``None`` before a gate ran.
    """

    name: str
    version: str
    stage: ModelStage
    path: Path
    card: ModelCard
    experiment: dict[str, Any]
    gate: dict[str, Any] | None

    @property
    def onnx_path(self) -> Path:
        """The ONNX file."""
        return self.path / MODEL_FILE

    @property
    def gate_passed(self) -> bool | None:
        """Whether the stored gate passed (``None``: no gate ran)."""
        return None if self.gate is None else bool(self.gate.get("passed"))


def _now() -> datetime:
    return datetime.now(UTC)


def _version_key(version: str) -> tuple[int, int, str]:
    return (0, int(version), "") if version.isdigit() else (1, 0, version)


def _json_default(value: object) -> str:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def write_json_atomic(path: Path, data: object) -> None:
    """Write JSON to ``path`` through a temporary file in the same folder and a rename.

    Args:
        path: The file to replace.
        data: JSON-ready data (``Path`` and ``datetime`` values are written as strings).
    """
    text = json.dumps(data, indent=2, default=_json_default) + "\n"
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise RegistryError(f"cannot read {path}: {error}") from error
    if not isinstance(data, dict):
        raise RegistryError(f"{path} does not hold a JSON object")
    return data


def _card_in(onnx_path: Path) -> ModelCard:
    model = onnx.load(str(onnx_path), load_external_data=False)
    return ModelCard.from_metadata({prop.key: prop.value for prop in model.metadata_props})


class ModelRegistry:
    """Read and write access to a registry folder.

    Args:
        root: The registry root (created on the first registration).
        clock: Time source for stage history records (UTC now by default).
    """

    def __init__(self, root: Path, *, clock: Callable[[], datetime] = _now) -> None:
        self._root = Path(root)
        self._store = ModelStore(self._root)
        self._clock = clock

    @property
    def root(self) -> Path:
        """The registry root."""
        return self._root

    @property
    def store(self) -> ModelStore:
        """The read-only view the signal service uses on the same folder."""
        return self._store

    def _model_dir(self, name: str) -> Path:
        try:
            return self._store.model_dir(name)
        except ModelStoreError as error:
            raise RegistryError(str(error)) from error

    def version_dir(self, name: str, version: str) -> Path:
        """Folder of a version (it may not exist).

        Raises:
            RegistryError: ``name`` or ``version`` is not a plain folder name.
        """
        try:
            return self._store.version_dir(name, version)
        except ModelStoreError as error:
            raise RegistryError(str(error)) from error

    def names(self) -> list[str]:
        """Model names with at least one version, sorted."""
        if not self._root.is_dir():
            return []
        return sorted(
            entry.name
            for entry in self._root.iterdir()
            if entry.is_dir() and not entry.name.startswith(".") and self.versions(entry.name)
        )

    def versions(self, name: str) -> list[str]:
        """Registered versions of a model (folders holding a ``model.onnx``), in order."""
        folder = self._model_dir(name)
        if not folder.is_dir():
            return []
        found = [
            entry.name
            for entry in folder.iterdir()
            if entry.is_dir() and not entry.name.startswith(".") and (entry / MODEL_FILE).is_file()
        ]
        return sorted(found, key=_version_key)

    def next_version(self, name: str) -> str:
        """The version a new registration of ``name`` gets: one after the highest number."""
        folder = self._model_dir(name)
        numbers = (
            [int(entry.name) for entry in folder.iterdir() if entry.name.isdigit()]
            if folder.is_dir()
            else []
        )
        return str(max(numbers, default=0) + 1)

    def register(
        self,
        *,
        card: ModelCard,
        onnx_path: Path,
        torchscript_path: Path | None,
        experiment: Mapping[str, Any],
    ) -> RegisteredModel:
        """Copy a model into the registry as a candidate.

        The name and version are the card's ``model_name`` and ``model_version`` (use
        ``next_version`` for the version). The files are written into a hidden folder, then
        renamed into place, so a version folder is complete once visible.

        Args:
            card: The model card; it must equal the card in the ONNX file's metadata.
            onnx_path: The ONNX policy.
            torchscript_path: Its TorchScript twin, if any.
            experiment: The experiment record, written as ``experiment.json``.

        Returns:
            The registered version.

        Raises:
            RegistryError: The version exists already, a file is missing, or the ONNX file's
                card differs from ``card``.
        """
        name, version = card.model_name, card.model_version
        target = self.version_dir(name, version)
        label = f"model {name} version {version}"
        if target.exists():
            raise RegistryError(f"{label} is already registered at {target}")
        for source in (onnx_path, torchscript_path):
            if source is not None and not Path(source).is_file():
                raise RegistryError(f"{label}: no file {source}")
        try:
            embedded = _card_in(Path(onnx_path))
        except Exception as error:  # not ONNX, no card (ModelLoadError), unreadable
            raise RegistryError(f"{label}: cannot read the card of {onnx_path}: {error}") from error
        if embedded != card:
            raise RegistryError(
                f"{label}: the card in {onnx_path} differs from the card given "
                f"(it names model {embedded.model_name} version {embedded.model_version})"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=target.parent))
        try:
            shutil.copyfile(onnx_path, staging / MODEL_FILE)
            if torchscript_path is not None:
                shutil.copyfile(torchscript_path, staging / TORCHSCRIPT_FILE)
            (staging / CARD_FILE).write_text(card.model_dump_json(indent=2) + "\n", "utf-8")
            text = json.dumps(dict(experiment), indent=2, default=_json_default)
            (staging / EXPERIMENT_FILE).write_text(text + "\n", "utf-8")
            if target.exists():
                raise RegistryError(f"{label} is already registered at {target}")
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return self.get(name, version)

    def stages(self, name: str) -> Stages:
        """The stages of a model (empty before any promotion).

        Raises:
            RegistryError: ``stages.json`` is invalid.
        """
        try:
            return self._store.stages(name)
        except ModelStoreError as error:
            raise RegistryError(str(error)) from error

    def get(self, name: str, version: str) -> RegisteredModel:
        """One registered version.

        Raises:
            RegistryError: No such version (the message names the model and version and
                lists the versions there are), or its files are unreadable.
        """
        folder = self.version_dir(name, version)
        if not (folder / MODEL_FILE).is_file():
            known = self.versions(name)
            there = f"versions: {', '.join(known)}" if known else "no versions"
            raise RegistryError(
                f"model {name} version {version} is not registered in {self._root} ({there})"
            )
        try:
            card = ModelCard.model_validate_json((folder / CARD_FILE).read_text("utf-8"))
        except (OSError, ValueError) as error:
            raise RegistryError(
                f"model {name} version {version}: bad {CARD_FILE}: {error}"
            ) from error
        experiment_path = folder / EXPERIMENT_FILE
        experiment = _read_json(experiment_path) if experiment_path.is_file() else {}
        gate_path = folder / GATE_FILE
        gate = _read_json(gate_path) if gate_path.is_file() else None
        return RegisteredModel(
            name=name,
            version=version,
            stage=self.stages(name).stage_of(version),
            path=folder,
            card=card,
            experiment=experiment,
            gate=gate,
        )

    def list(self, name: str | None = None) -> list[RegisteredModel]:
        """Registered versions of one model (or of all models), by name then version."""
        names = [name] if name is not None else self.names()
        return [self.get(each, version) for each in names for version in self.versions(each)]

    def write_gate(self, name: str, version: str, result: Mapping[str, Any]) -> Path:
        """Store a gate result as the version's ``gate.json`` (replacing an older one).

        Raises:
            RegistryError: No such version.
        """
        folder = self.get(name, version).path
        path = folder / GATE_FILE
        write_json_atomic(path, dict(result))
        return path

    def _write_stages(self, name: str, stages: Stages) -> Stages:
        write_json_atomic(self._model_dir(name) / STAGES_FILE, stages.model_dump(mode="json"))
        return stages

    def _record(
        self,
        *,
        action: str,
        stage: ModelStage,
        version: str | None,
        previous: str | None,
        operator: str,
        reason: str,
    ) -> StageRecord:
        return StageRecord.model_validate(
            {
                "at": self._clock().astimezone(UTC).isoformat(),
                "action": action,
                "stage": stage,
                "version": version,
                "previous": previous,
                "operator": operator,
                "reason": reason,
            }
        )

    def promote(
        self, name: str, version: str, stage: ModelStage, *, operator: str, reason: str
    ) -> Stages:
        """Put a version into the shadow or production stage.

        The version needs a stored gate result that passed. Into production, it replaces the
        current production version (kept in the history as ``previous`` for ``rollback``) and
        leaves the shadow stage if it was there. A candidate may go straight to production.

        Args:
            name: Model name.
            version: Version to promote.
            stage: ``SHADOW`` or ``PRODUCTION``.
            operator: Who promotes (recorded).
            reason: Why (recorded).

        Returns:
            The new stages, written to ``stages.json``.

        Raises:
            RegistryError: No such version, no passed gate, a ``CANDIDATE`` target, or the
                version is already in that stage.
        """
        model = self.get(name, version)
        label = f"model {name} version {version}"
        if stage is ModelStage.CANDIDATE:
            raise RegistryError(
                f"{label}: cannot promote to {stage.value}; promote to SHADOW or PRODUCTION"
            )
        if model.gate is None:
            raise RegistryError(
                f"{label} has no gate result: run the out-of-sample gate before promoting it "
                f"to {stage.value}"
            )
        if not model.gate.get("passed"):
            reasons = "; ".join(str(item) for item in model.gate.get("reasons", [])) or "failed"
            raise RegistryError(f"{label} failed its gate ({reasons}): not promoted")
        current = self.stages(name)
        if model.stage is stage:
            raise RegistryError(f"{label} is already in {stage.value}")
        if stage is ModelStage.SHADOW and model.stage is ModelStage.PRODUCTION:
            raise RegistryError(f"{label} is in PRODUCTION; it cannot also run in SHADOW")
        if stage is ModelStage.SHADOW:
            record = self._record(
                action="promote",
                stage=stage,
                version=version,
                previous=current.shadow,
                operator=operator,
                reason=reason,
            )
            updated = current.model_copy(
                update={"shadow": version, "history": (*current.history, record)}
            )
        else:
            record = self._record(
                action="promote",
                stage=stage,
                version=version,
                previous=current.production,
                operator=operator,
                reason=reason,
            )
            updated = current.model_copy(
                update={
                    "production": version,
                    "shadow": None if current.shadow == version else current.shadow,
                    "history": (*current.history, record),
                }
            )
        return self._write_stages(name, updated)

    def rollback(self, name: str, *, operator: str, reason: str) -> Stages:
        """Put back the production version the current one replaced.

        The version restored is the ``previous`` of the latest promotion of the current
        production version, so rolling back twice goes two promotions back.

        Args:
            name: Model name.
            operator: Who rolls back (recorded).
            reason: Why (recorded).

        Returns:
            The new stages, written to ``stages.json``.

        Raises:
            RegistryError: The model has no production version, or none before it.
        """
        current = self.stages(name)
        if current.production is None:
            raise RegistryError(f"model {name} has no production version to roll back")
        promotions = [
            record
            for record in current.history
            if record.action == "promote"
            and record.stage is ModelStage.PRODUCTION
            and record.version == current.production
        ]
        previous = promotions[-1].previous if promotions else None
        if previous is None:
            raise RegistryError(
                f"model {name} version {current.production}: no previous production version "
                "to roll back to"
            )
        self.get(name, previous)  # the restored version must still be there
        record = self._record(
            action="rollback",
            stage=ModelStage.PRODUCTION,
            version=previous,
            previous=current.production,
            operator=operator,
            reason=reason,
        )
        updated = current.model_copy(
            update={
                "production": previous,
                "shadow": None if current.shadow == previous else current.shadow,
                "history": (*current.history, record),
            }
        )
        return self._write_stages(name, updated)
