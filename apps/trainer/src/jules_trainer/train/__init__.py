"""Training runs: DQN, PPO (stable-baselines3) and a supervised MLP baseline, end to end.

``train(algorithm, config)``

1. seeds everything (``common.set_determinism``: Python, NumPy, torch, one torch thread,
   deterministic algorithms; stable-baselines3 gets ``config.seed``), so the same
   configuration and seed give the same weights;
2. loads the data (``data.load_dataset``) and cuts the walk-forward folds;
3. per fold: the normalisation of the fold's train window, training on the train window with
   early stopping on the validation window, and the best state measured on the train,
   validation and test windows (``common.evaluate``);
4. exports the *last* fold's model (trained on the most recent data) with its card
   (``export.export_policy``: ONNX + TorchScript, validated), the card's metrics being that
   fold's test metrics (``test.mean_episode_pnl``, ``test.sharpe``, ...);
5. registers it as a candidate in ``config.registry_dir`` (``registry.ModelRegistry``) with
   the experiment record (``record``), and moves the TensorBoard logs (when
   ``config.tensorboard``) into the version folder, under ``tensorboard/``.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal, get_args

from jules_features.engine import FeatureSchema
from jules_signal.engine import (
    ActionSemantics,
    DiscreteAction,
    FeatureNormalisation,
    ModelCard,
    TargetWeightAction,
)

from jules_trainer.config import DiscreteActions, TrainConfig
from jules_trainer.data import (
    Dataset,
    Fold,
    compute_normalisation,
    load_dataset,
    walk_forward_folds,
)
from jules_trainer.export import PARITY_TOLERANCE, export_policy
from jules_trainer.registry import ModelRegistry
from jules_trainer.train import sb3, supervised
from jules_trainer.train.common import FoldOutcome, export_sample, set_determinism
from jules_trainer.train.record import build_record, code_version

__all__ = ["ALGORITHMS", "Algorithm", "TrainResult", "check_algorithm", "train", "train_fold"]

Algorithm = Literal["dqn", "ppo", "supervised"]
ALGORITHMS: tuple[str, ...] = get_args(Algorithm)
TENSORBOARD_DIR = "tensorboard"


@dataclass(frozen=True)
class TrainResult:
    """A finished, registered training run.

    Attributes:
        model_name: The registered model name.
        model_version: Its new version (a candidate).
        model_dir: The version's registry folder.
        metrics: The model card's metrics (the last fold's test window).
        experiment: The experiment record written as ``experiment.json``.
    """

    model_name: str
    model_version: str
    model_dir: Path
    metrics: dict[str, float]
    experiment: dict[str, Any]


def check_algorithm(algorithm: str, config: TrainConfig) -> None:
    """Check that the algorithm exists and fits the configured actions.

    Raises:
        ValueError: Unknown algorithm, or DQN/supervised with continuous actions.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}, expected one of {ALGORITHMS}")
    if algorithm in ("dqn", "supervised") and not isinstance(config.env.action, DiscreteActions):
        raise ValueError(
            f"{algorithm} needs discrete actions (env.action.kind: discrete); "
            "continuous actions train with ppo"
        )


def _action(config: TrainConfig) -> ActionSemantics:
    action = config.env.action
    if isinstance(action, DiscreteActions):
        return DiscreteAction(target_weights=action.target_weights)
    return TargetWeightAction()


def train_fold(
    algorithm: Algorithm,
    config: TrainConfig,
    dataset: Dataset,
    fold: Fold,
    *,
    progress: bool = False,
    tensorboard_dir: Path | None = None,
    validation_only: bool = False,
) -> tuple[FoldOutcome, dict[str, tuple[float, float]]]:
    """Train one fold as ``train`` does: seeded, normalised on the train window, early stopping.

    Args:
        algorithm: ``dqn``, ``ppo`` or ``supervised``.
        config: The training configuration.
        dataset: The bars.
        fold: The fold's windows.
        progress: Show progress bars.
        tensorboard_dir: Where TensorBoard logs go (``None``: none written).
        validation_only: Measure the validation window only (a hyperparameter search's
            trial): the test window's bars are not read, the outcome's metrics hold
            ``validation`` alone.

    Returns:
        The fold's outcome and its normalisation (the train window's feature statistics).

    Raises:
        ValueError: A window has no usable bars, or the algorithm does not fit the actions.
    """
    set_determinism(config.seed)
    normalisation = compute_normalisation(config, dataset.segments(fold.train))
    run = supervised.train_fold if algorithm == "supervised" else partial(sb3.train_fold, algorithm)
    outcome = run(
        config,
        dataset,
        fold,
        normalisation,
        progress=progress,
        tensorboard_dir=tensorboard_dir,
        validation_only=validation_only,
    )
    return outcome, normalisation


def train(algorithm: Algorithm, config: TrainConfig, *, progress: bool = True) -> TrainResult:
    """Train, export, validate and register a model (see the module docstring).

    Args:
        algorithm: ``dqn``, ``ppo`` or ``supervised``.
        config: The training configuration.
        progress: Show progress bars.

    Returns:
        The registered candidate.

    Raises:
        ValueError: The algorithm does not fit the configuration, or the data is too short.
        FileNotFoundError: A data file is missing.
        jules_trainer.export.ExportError: The export failed validation.
        jules_trainer.registry.RegistryError: The registry refused the model.
    """
    check_algorithm(algorithm, config)
    set_determinism(config.seed)
    registry = ModelRegistry(config.registry_dir)
    version = registry.next_version(config.name)
    dataset = load_dataset(config)
    folds = walk_forward_folds(dataset, config.folds)
    model_root = config.registry_dir / config.name
    model_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".training-{version}-", dir=model_root))
    try:
        tensorboard_dir = staging / TENSORBOARD_DIR if config.tensorboard else None
        outcomes: list[FoldOutcome] = []
        normalisation: dict[str, tuple[float, float]] = {}
        for fold in folds:
            outcome, normalisation = train_fold(
                algorithm, config, dataset, fold, progress=progress, tensorboard_dir=tensorboard_dir
            )
            outcomes.append(outcome)
        last, last_fold = outcomes[-1], folds[-1]
        code = code_version()
        created_at = datetime.now(UTC).isoformat(timespec="seconds")
        metrics = {f"test.{key}": value for key, value in last.metrics["test"].items()}
        card = ModelCard(
            model_name=config.name,
            model_version=version,
            feature_names=config.features,
            feature_schema_id=FeatureSchema.from_names(config.features).schema_id,
            normalisation={
                name: FeatureNormalisation(mean=mean, std=std)
                for name, (mean, std) in normalisation.items()
            },
            action=_action(config),
            training_data_hash=dataset.data_hash,
            code_version=code,
            metrics=metrics,
            created_at=created_at,
            position_input=last.position_input,
        )
        sample = export_sample(
            config,
            dataset.segments(last_fold.train),
            normalisation,
            position_input=last.position_input,
        )
        exported = export_policy(last.module, card=card, out_dir=staging / "export", sample=sample)
        record = build_record(
            algorithm=algorithm,
            config=config,
            model_version=version,
            data_hash=dataset.data_hash,
            code=code,
            folds=folds,
            outcomes=outcomes,
            metrics=metrics,
            created_at=created_at,
            export={"max_abs_diff": exported.max_abs_diff, "tolerance": PARITY_TOLERANCE},
            tensorboard=TENSORBOARD_DIR if tensorboard_dir is not None else None,
        )
        registered = registry.register(
            card=exported.card,
            onnx_path=exported.onnx_path,
            torchscript_path=exported.torchscript_path,
            experiment=record,
        )
        if tensorboard_dir is not None and tensorboard_dir.exists():
            shutil.move(str(tensorboard_dir), str(registered.path / TENSORBOARD_DIR))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return TrainResult(
        model_name=config.name,
        model_version=version,
        model_dir=registered.path,
        metrics=metrics,
        experiment=record,
    )
