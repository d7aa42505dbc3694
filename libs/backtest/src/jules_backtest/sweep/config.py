"""A sweep file: the backtest it varies, the parameters, the search, the objective, the folds.

::

    base: demo.yaml                      # a backtest config; relative to this file
    parameters:
      strategy.fast: [5, 10, 20]
      strategy.slow: {low: 20, high: 60, step: 10}
    search: {method: optuna, trials: 40, seed: 7}
    objective: {metric: sharpe, direction: maximize}
    walk_forward: {folds: 3, in_sample: 0.6, anchored: false}   # optional
    dask: {scheduler: null, workers: 2}                         # optional
    output_dir: ../runs/sweep-demo

A point whose backtest config does not validate (``fast`` not below ``slow``) is a failed
trial with pydantic's message, not a failed sweep.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from jules_backtest.config import _read, apply_overrides, load_config
from jules_backtest.sweep.search import (
    Direction,
    Evaluate,
    Method,
    TrialRecord,
    run_search,
)
from jules_backtest.sweep.space import Space

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "DaskOptions",
    "Objective",
    "ObjectiveLike",
    "SearchOptions",
    "SweepConfig",
    "WalkForward",
    "load_sweep",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class ObjectiveLike(Protocol):
    """What a search ranks by: a figure's name and whether higher is better."""

    @property
    def metric(self) -> str: ...  # noqa: D102

    @property
    def direction(self) -> Direction: ...  # noqa: D102


class SearchOptions(_Frozen):
    """How points are chosen."""

    method: Method = "grid"
    """``grid``: every combination; ``optuna``: Optuna's TPE sampler."""
    trials: Annotated[int, Field(ge=1, le=100_000)] = 50
    """Optuna: points evaluated per search (per fold in a walk-forward)."""
    seed: int = 0
    """Optuna: the sampler's seed (the same seed and batch give the same trials)."""
    batch: Annotated[int | None, Field(ge=1)] = None
    """Optuna: points evaluated in parallel between sampler updates (default: the workers)."""

    _method = field_validator("method", mode="before")(lambda v: _lower(v))

    def run(
        self,
        evaluate: Evaluate,
        space: Space,
        objective: Objective | ObjectiveLike,
        client: Client | None,
        *,
        on_trial: Callable[[TrialRecord], None] | None = None,
        seed_offset: int = 0,
    ) -> list[TrialRecord]:
        """``run_search`` with these options (the seed moved on by ``seed_offset``)."""
        return run_search(
            evaluate,
            space,
            objective=objective.metric,
            direction=objective.direction,
            method=self.method,
            trials=self.trials,
            seed=self.seed + seed_offset,
            batch=self.batch,
            client=client,
            on_trial=on_trial,
        )


class Objective(_Frozen):
    """The figure a search ranks points by."""

    metric: str = "sharpe"
    """A key of a run's ``metrics.json`` (``sharpe``, ``total_return``, ``calmar``, ...)."""
    direction: Direction = "maximize"
    """Whether higher (``maximize``) or lower (``minimize``) is better."""

    _direction = field_validator("direction", mode="before")(lambda v: _lower(v))


class WalkForward(_Frozen):
    """Walk-forward optimisation: search in sample, evaluate the best out of sample, per fold.

    The period (the base config's ``start``/``end``, else the data's) is cut so that every
    in-sample window spans ``in_sample`` of it and the ``folds`` out-of-sample windows that
    follow tile the rest: with ``L = (1 - in_sample)·T / folds``, fold k searches
    ``[s + k·L, s + k·L + in_sample·T)`` (from ``s`` when ``anchored``) and is evaluated on
    the next ``L``.
    """

    folds: Annotated[int, Field(ge=1, le=100)] = 3
    in_sample: Annotated[float, Field(gt=0, lt=1)] = 0.6
    """The in-sample window's share of the whole period."""
    anchored: bool = False
    """In-sample windows all start at the period's start (expanding), not rolling."""


class DaskOptions(_Frozen):
    """Where trials run."""

    scheduler: str | None = None
    """A running Dask scheduler's address (``tcp://host:8786``); none: a local cluster."""
    workers: Annotated[int | None, Field(ge=1, le=512)] = None
    """Local cluster: worker processes (default: one per core)."""


class SweepConfig(_Frozen):
    """Everything ``jules sweep`` needs."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")] = "sweep"
    """The sweep's name; the default output folder's."""
    base: dict[str, Any]
    """The backtest varied: a config file's path (relative to the sweep file) or inline."""
    parameters: Space
    """The parameters by dotted config key (``strategy.fast``): a list or a range each."""
    search: SearchOptions = SearchOptions()
    objective: Objective = Objective()
    walk_forward: WalkForward | None = None
    """Walk-forward folds; none: one search over the whole period."""
    dask: DaskOptions = DaskOptions()
    output_dir: Path | None = None
    """The sweep folder (relative to the sweep file); default ``runs/<name>``."""

    @field_validator("parameters", mode="before")
    @classmethod
    def _space(cls, value: Any) -> Any:
        return Space.parse(value) if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _grid_is_finite(self) -> Self:
        if self.search.method == "grid":
            self.parameters.grid()  # a real range without a step fails here, named
        return self

    @property
    def folder(self) -> Path:
        """Where the sweep's files go."""
        return self.output_dir or Path("runs") / self.name


def load_sweep(path: Path, overrides: list[str] | None = None) -> SweepConfig:
    """Read a sweep file (YAML or TOML) and validate it, with its base backtest config.

    The base config is loaded as ``jules backtest`` loads it (its relative paths start at its
    own file's folder) and validated once, so a broken base stops the sweep before any trial.

    Raises:
        pydantic.ValidationError: A field is invalid (the message names it).
        ValueError: The file or its base is malformed.
    """
    data = apply_overrides(_read(path), overrides or [])
    base = data.get("base")
    if isinstance(base, str):
        base_path = Path(base) if Path(base).is_absolute() else path.parent / base
        if not base_path.is_file():
            raise ValueError(f"{path}: base {base!r} is not a file ({base_path})")
        resolved = load_config(base_path)
    elif isinstance(base, dict):
        resolved = load_config(None, [], **base)
    else:
        raise ValueError(f"{path}: base must name a backtest config file or hold one inline")
    data["base"] = resolved.model_dump(mode="json", exclude_none=True)
    output = data.get("output_dir")
    if isinstance(output, str) and not Path(output).is_absolute():
        data["output_dir"] = os.path.normpath(path.parent / output)
    return SweepConfig.model_validate(data)
