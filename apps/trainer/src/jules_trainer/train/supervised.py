"""The supervised baseline: an MLP classifying the sign of the forward return.

Inputs are the standardised features only (no position: the card's ``position_input`` is
false), clipped like the environment's observations. Labels come from the forward log return
over ``supervised.horizon`` bars, ``r = log(close[t + horizon] / close[t])``, and the
configured discrete target weights (``env.action``, which must be discrete):

* ``r > label_threshold``: the class of the largest (most long) target weight;
* ``r < -label_threshold``: the class of the smallest (most short) one;
* otherwise: the class of the weight nearest to zero (flat).

So with the default ``(-1, 0, 1)`` the classes are short, flat and long, and the served model
takes the target weight of its best class. Rows whose features are not all defined, or
without a bar ``horizon`` ahead in the same segment, are left out.

Training: Adam on the cross-entropy, minibatches in a seeded random order, at most ``epochs``
passes. After each epoch the classifier trades the validation window in the environment; its
mean episode PnL drives early stopping (``callbacks.EarlyStopping``), and the classification
accuracy is recorded alongside.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from rich.progress import Progress
from torch.utils.tensorboard import SummaryWriter

from jules_trainer.config import DiscreteActions, TrainConfig
from jules_trainer.data import Dataset, Fold, Segment
from jules_trainer.env import TradingEnv
from jules_trainer.policies import FeatureClip, MlpClassifier
from jules_trainer.train.callbacks import EarlyStopping
from jules_trainer.train.common import FoldOutcome, evaluate, module_actor, standardised_rows

__all__ = ["label_rows", "train_fold"]


def _classes(config: TrainConfig) -> tuple[int, int, int]:
    action = config.env.action
    if not isinstance(action, DiscreteActions):
        raise ValueError("supervised training needs discrete actions (env.action.kind: discrete)")
    weights = action.target_weights
    long = int(np.argmax(weights))
    short = int(np.argmin(weights))
    flat = int(np.argmin(np.abs(weights)))
    return short, flat, long


def label_rows(
    config: TrainConfig,
    segments: Sequence[Segment],
    normalisation: Mapping[str, tuple[float, float]],
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Inputs (clipped standardised features) and class labels of every usable row.

    Raises:
        ValueError: The actions are not discrete.
    """
    short, flat, long = _classes(config)
    horizon = config.supervised.horizon
    threshold = config.supervised.label_threshold
    clip = config.env.observation_clip
    inputs: list[NDArray[np.float32]] = []
    labels: list[NDArray[np.int64]] = []
    for segment in segments:
        scaled, defined, closes = standardised_rows(config, segment, normalisation)
        if len(closes) <= horizon:
            continue
        forward = np.log(closes[horizon:] / closes[:-horizon])
        usable = defined[:-horizon]
        label = np.full(forward.shape, flat, dtype=np.int64)
        label[forward > threshold] = long
        label[forward < -threshold] = short
        inputs.append(np.clip(scaled[:-horizon][usable], -clip, clip))
        labels.append(label[usable])
    width = len(config.features)
    if not inputs:
        return np.empty((0, width), np.float32), np.empty(0, np.int64)
    return np.concatenate(inputs), np.concatenate(labels)


def _accuracy(module: torch.nn.Module, x: NDArray[np.float32], y: NDArray[np.int64]) -> float:
    if y.size == 0:
        return 0.0
    with torch.no_grad():
        predicted = module(torch.from_numpy(x)).argmax(dim=1).numpy()
    return float(np.mean(predicted == y))


def train_fold(
    config: TrainConfig,
    dataset: Dataset,
    fold: Fold,
    normalisation: Mapping[str, tuple[float, float]],
    *,
    progress: bool,
    tensorboard_dir: Path | None,
    validation_only: bool = False,
) -> FoldOutcome:
    """Train the classifier on one fold with early stopping; measure the best state.

    With ``validation_only`` (a search's trial) only the validation window is measured
    and the test window's bars are not read (see ``jules_trainer.train.train_fold``).

    Raises:
        ValueError: The actions are not discrete, or the train window has no usable row.
    """
    settings = config.supervised
    _classes(config)
    action = config.env.action
    assert isinstance(action, DiscreteActions)
    classes = len(action.target_weights)
    splits = {"train": fold.train, "validation": fold.validation}
    if not validation_only:
        splits["test"] = fold.test
    rows = {
        split: label_rows(config, dataset.segments(window), normalisation)
        for split, window in splits.items()
    }
    train_x, train_y = rows["train"]
    if train_y.size == 0:
        raise ValueError(
            f"fold {fold.index}: no training row (features defined and a bar "
            f"{settings.horizon} ahead) in the train window"
        )
    envs = {
        split: TradingEnv(config, dataset.segments(window), normalisation, random_start=False)
        for split, window in splits.items()
        if split == "validation" or not validation_only
    }
    generator = torch.Generator().manual_seed(config.seed)
    net = MlpClassifier(len(config.features), settings.net_arch, classes)
    module = FeatureClip(net, len(config.features), config.env.observation_clip)
    optimiser = torch.optim.Adam(net.parameters(), lr=settings.learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss()
    x_all = torch.from_numpy(train_x)
    y_all = torch.from_numpy(train_y)
    stopping = EarlyStopping(settings.patience)
    writer: Any = None
    if tensorboard_dir is not None:
        log_dir = str(tensorboard_dir / f"supervised_fold{fold.index}")
        writer = SummaryWriter(log_dir)  # type: ignore[no-untyped-call]
    epochs = 0
    try:
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task(f"fold {fold.index} epochs", total=settings.epochs)
            for epoch in range(1, settings.epochs + 1):
                net.train()
                order = torch.randperm(len(y_all), generator=generator)
                total = 0.0
                for start in range(0, len(order), settings.batch_size):
                    batch = order[start : start + settings.batch_size]
                    optimiser.zero_grad()
                    loss = loss_fn(net(x_all[batch]), y_all[batch])
                    loss.backward()
                    optimiser.step()
                    total += float(loss.detach()) * len(batch)
                net.eval()
                epochs = epoch
                metrics = _measure(module, envs["validation"], rows["validation"])
                if writer is not None:
                    writer.add_scalar("train/loss", total / len(order), epoch)
                    for key, value in metrics.items():
                        writer.add_scalar(f"validation/{key}", value, epoch)
                bar.advance(task)
                if stopping.update(epoch, metrics, net.state_dict):
                    break
    finally:
        if writer is not None:
            writer.close()
    net.load_state_dict(stopping.best_state)
    module.eval()
    assert stopping.best_metrics is not None  # at least one epoch ran
    measured = {"validation": stopping.best_metrics}
    if not validation_only:
        measured = {
            "train": _measure(module, envs["train"], rows["train"]),
            **measured,
            "test": _measure(module, envs["test"], rows["test"]),
        }
    training: dict[str, Any] = {
        "epochs": epochs,
        "rows": {split: int(rows[split][1].size) for split in splits},
        **stopping.summary(),
    }
    return FoldOutcome(module=module, position_input=False, metrics=measured, training=training)


def _measure(
    module: torch.nn.Module, env: TradingEnv, rows: tuple[NDArray[np.float32], NDArray[np.int64]]
) -> dict[str, float]:
    metrics = evaluate(env, module_actor(module, env, position_input=False))
    metrics["accuracy"] = _accuracy(module, *rows)
    return metrics
