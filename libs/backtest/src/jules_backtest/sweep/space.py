"""A search space: named parameters, each a list of values or a numeric range.

In a sweep file a parameter is written under its dotted config key::

    parameters:
      strategy.fast: [5, 10, 20]                 # values (scalars, lists or mappings)
      strategy.slow: {low: 20, high: 60, step: 10}   # integers 20, 30, ..., 60
      risk.sizing.fraction: {low: 0.1, high: 0.5, step: 0.1}
      execution.fees.taker_bps: {low: 1.0, high: 20.0, log: true}   # Optuna only

A grid takes every combination (a float range needs a ``step``); an Optuna search asks its
sampler for values inside each range.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

if TYPE_CHECKING:
    import optuna

__all__ = ["Choice", "FloatRange", "IntRange", "Parameter", "Space", "parse_parameter"]

Scalar = str | int | float | bool


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Choice(_Frozen):
    """A parameter that takes one of listed values: scalars, or lists and mappings."""

    values: Annotated[tuple[JsonValue, ...], Field(min_length=1)]
    """The values, tried in this order by a grid."""

    def grid(self, name: str) -> list[Any]:
        """Every value, in order."""
        return list(self.values)

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        """The value the trial's sampler picks.

        Optuna's categories are scalars; a list or mapping value is offered as its JSON text
        and decoded, so the point holds the value itself.
        """
        if all(isinstance(v, Scalar) or v is None for v in self.values):
            return trial.suggest_categorical(name, list(self.values))  # type: ignore[arg-type]
        texts = [json.dumps(v, sort_keys=True) for v in self.values]
        return json.loads(trial.suggest_categorical(name, texts))


class IntRange(_Frozen):
    """An integer parameter from ``low`` to ``high`` inclusive."""

    low: int
    high: int
    step: Annotated[int, Field(ge=1)] = 1
    log: bool = False
    """Sample on a log scale (Optuna; needs ``low`` ≥ 1 and ``step`` 1)."""

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.high < self.low:
            raise ValueError(f"high {self.high} must be at least low {self.low}")
        if self.log and (self.low < 1 or self.step != 1):
            raise ValueError("a log range needs low >= 1 and step 1")
        return self

    def grid(self, name: str) -> list[Any]:
        """``low``, ``low + step``, ... up to ``high``."""
        return list(range(self.low, self.high + 1, self.step))

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        """The value the trial's sampler picks."""
        return trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log)


class FloatRange(_Frozen):
    """A real parameter from ``low`` to ``high`` inclusive."""

    low: Annotated[float, Field(allow_inf_nan=False)]
    high: Annotated[float, Field(allow_inf_nan=False)]
    step: Annotated[float | None, Field(gt=0, allow_inf_nan=False)] = None
    """The grid's spacing (a grid needs it; Optuna samples on it when given)."""
    log: bool = False
    """Sample on a log scale (Optuna; needs ``low`` > 0 and no ``step``)."""

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.high < self.low:
            raise ValueError(f"high {self.high:g} must be at least low {self.low:g}")
        if self.log and (self.low <= 0 or self.step is not None):
            raise ValueError("a log range needs low > 0 and no step")
        return self

    def grid(self, name: str) -> list[Any]:
        """``low``, ``low + step``, ... up to ``high`` (rounded to the step's decimals)."""
        if self.step is None:
            raise ValueError(f"parameter {name}: a grid needs a step for a real range (or values)")
        count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        decimals = max(0, -math.floor(math.log10(self.step)) + 6)
        return [round(self.low + i * self.step, decimals) for i in range(count)]

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        """The value the trial's sampler picks."""
        return trial.suggest_float(name, self.low, self.high, step=self.step, log=self.log)


Parameter = Choice | IntRange | FloatRange


def parse_parameter(name: str, spec: Any) -> Parameter:
    """A parameter from its sweep-file form: a list of values, or a ``low``/``high`` mapping.

    Raises:
        ValueError: The form is neither (the message names the parameter).
    """
    if isinstance(spec, list | tuple):
        return Choice(values=tuple(spec))
    if isinstance(spec, Mapping):
        if "values" in spec:
            return Choice.model_validate(spec)
        numbers = [spec.get(key) for key in ("low", "high", "step")]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in numbers if v is not None):
            return IntRange.model_validate(spec)
        return FloatRange.model_validate(spec)
    raise ValueError(
        f"parameter {name}: give a list of values or a range {{low: ..., high: ..., step: ...}}"
        f", not {spec!r}"
    )


class Space(_Frozen):
    """The parameters of a search, by dotted config key, in the order given."""

    parameters: Mapping[str, Parameter]

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Space:
        """The space of a sweep file's ``parameters`` mapping (see ``parse_parameter``)."""
        if not raw:
            raise ValueError("parameters: name at least one parameter to search")
        return cls(parameters={str(k): parse_parameter(str(k), v) for k, v in raw.items()})

    def grid(self) -> list[dict[str, Any]]:
        """Every combination, the first parameter varying slowest."""
        names = list(self.parameters)
        axes = [self.parameters[name].grid(name) for name in names]
        return [dict(zip(names, values, strict=True)) for values in itertools.product(*axes)]

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """One point picked by an Optuna trial."""
        return {name: p.suggest(trial, name) for name, p in self.parameters.items()}
