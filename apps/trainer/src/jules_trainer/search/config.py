"""A search file: the training config it varies, the algorithm, the parameters, the objective.

::

    name: btc-perp-supervised-search
    base: train.yaml                  # a training config; relative to this file
    algorithm: supervised
    parameters:                       # dotted keys into the training config
      supervised.learning_rate: {low: 0.0001, high: 0.01, log: true}
      supervised.net_arch: [[16], [32, 32]]      # a choice between lists
      env.min_weight_change: [0.5, 1.0]
    search: {method: optuna, trials: 12, seed: 7}
    objective: {metric: validation.sharpe, direction: maximize}
    dask: {scheduler: null, workers: 2}          # optional
    output_dir: ../runs/train-search             # relative to this file

Parameters take a list of values or a range, as in ``jules sweep``
(``jules_backtest.sweep.space``). A list whose values are lists or mappings (``net_arch``, an
``env.action``) is searched as a choice between those values. The fold windows, the data,
the model name, the registry and TensorBoard cannot be searched: every trial is scored on the
same validation windows, and the test windows stay out of sample.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Self

import yaml
from jules_backtest.config import apply_overrides
from jules_backtest.sweep.config import DaskOptions, SearchOptions
from jules_backtest.sweep.search import Direction
from jules_backtest.sweep.space import Choice, FloatRange, IntRange, Space
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from jules_trainer.config import NAME_PATTERN, TrainConfig, load_train_config
from jules_trainer.search.trial import point_config
from jules_trainer.train import ALGORITHMS, Algorithm, check_algorithm

__all__ = ["FIXED_SECTIONS", "Objective", "TrainSearchConfig", "load_search"]

FIXED_SECTIONS = frozenset({"name", "data", "data_dir", "folds", "registry_dir", "tensorboard"})
"""Top-level training settings a search cannot vary."""

_BASE_PREFIX = "base."


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Objective(_Frozen):
    """The validation figure a search ranks points by."""

    metric: str = "validation.mean_episode_pnl"
    """A trial's figure: ``validation.<metric>`` with ``<metric>`` one of the training's
    evaluation metrics (``mean_episode_pnl``, ``sharpe``, ``max_drawdown``,
    ``target_changes``; ``accuracy`` for ``supervised``), the mean over the folds. A name
    without a dot means its ``validation.`` figure."""
    direction: Direction = "maximize"
    """Whether higher (``maximize``) or lower (``minimize``) is better."""

    @field_validator("metric")
    @classmethod
    def _validation_figure(cls, value: str) -> str:
        return value if "." in value else f"validation.{value}"

    @field_validator("direction", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class TrainSearchConfig(_Frozen):
    """Everything ``jules-train search`` needs."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)] = "train-search"
    """The search's name; the default output folder's (``runs/<name>``)."""
    algorithm: Algorithm
    """The algorithm trained: ``dqn``, ``ppo`` or ``supervised``."""
    base: dict[str, Any]
    """The training configuration varied, resolved (a file's path in the search file)."""
    parameters: Space
    """The hyperparameters by dotted training-config key: a list or a range each."""
    search: SearchOptions = SearchOptions()
    objective: Objective = Objective()
    dask: DaskOptions = DaskOptions()
    output_dir: Path | None = None
    """The search folder (relative to the search file); default ``runs/<name>``."""

    @model_validator(mode="before")
    @classmethod
    def _parse_parameters(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("parameters"), dict):
            data = {**data, "parameters": Space.parse(data["parameters"])}
        if isinstance(data, dict) and isinstance(data.get("algorithm"), str):
            data = {**data, "algorithm": data["algorithm"].lower()}
        return data

    @model_validator(mode="after")
    def _searchable(self) -> Self:
        for name in self.parameters.parameters:
            section = name.split(".", 1)[0]
            if section in FIXED_SECTIONS:
                raise ValueError(
                    f"parameter {name}: {section} cannot be searched (every trial trains and "
                    f"validates on the same data and windows); fixed: {sorted(FIXED_SECTIONS)}"
                )
            if section in ALGORITHMS and section != self.algorithm:
                raise ValueError(
                    f"parameter {name}: {section} settings do not affect {self.algorithm} "
                    f"training (search {self.algorithm}.* instead)"
                )
        if self.search.method == "grid":
            self.parameters.grid()  # a real range without a step fails here, named
        sample = {name: _sample(p) for name, p in self.parameters.parameters.items()}
        check_algorithm(self.algorithm, self.point_config(sample))
        return self

    def point_config(self, params: dict[str, Any]) -> TrainConfig:
        """The base training config with a point's hyperparameters.

        Raises:
            pydantic.ValidationError: The point makes an invalid config (the message names it).
        """
        return point_config(self.base, params)

    @property
    def folder(self) -> Path:
        """Where the search's files go."""
        return self.output_dir or Path("runs") / self.name


def _sample(parameter: Choice | IntRange | FloatRange) -> Any:
    """A value of the parameter (its first), to check the keys before any trial."""
    return parameter.values[0] if isinstance(parameter, Choice) else parameter.low


def load_search(path: Path, overrides: list[str] | None = None) -> TrainSearchConfig:
    """Read a search file (YAML) and validate it with its base training config.

    Overrides are ``dotted.key=value``: keys starting ``base.`` set the training config
    (``base.supervised.epochs=5``), the others the search file (``search.trials=8``). The
    base is loaded as ``jules-train`` loads a training config (its ``data_dir`` and
    ``registry_dir`` relative to the working directory) and validated once, so a broken
    base stops the search before any trial.

    Raises:
        pydantic.ValidationError: A field is invalid (the message names it).
        ValueError: The file or its base is malformed, or a parameter cannot be searched.
        OSError: A file cannot be read.
    """
    overrides = overrides or []
    base_overrides = [o.removeprefix(_BASE_PREFIX) for o in overrides if o.startswith(_BASE_PREFIX)]
    own = [o for o in overrides if not o.startswith(_BASE_PREFIX)]
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a search file must be a mapping at the top level")
    data = apply_overrides(data, own)
    base = data.get("base")
    if isinstance(base, str):
        base_path = Path(base) if Path(base).is_absolute() else path.parent / base
        if not base_path.is_file():
            raise ValueError(f"{path}: base {base!r} is not a file ({base_path})")
        resolved = load_train_config(base_path, base_overrides)
    elif isinstance(base, dict):
        resolved = TrainConfig.model_validate(apply_overrides(base, base_overrides))
    else:
        raise ValueError(f"{path}: base must name a training config file or hold one inline")
    data["base"] = resolved.model_dump(mode="json")
    output = data.get("output_dir")
    if isinstance(output, str) and not Path(output).is_absolute():
        data["output_dir"] = os.path.normpath(path.parent / output)
    return TrainSearchConfig.model_validate(data)
