"""Configuration of the signal engine: rule strategies, users' strategies, the ONNX policy.

Strategy configs form a union discriminated by ``kind``, so one table of a YAML/TOML file or a
set of command-line flags selects and configures a strategy::

    [strategy]
    kind = "sma_cross"
    fast = 10
    slow = 30
    mode = "long_short"

    jules-signal run --strategy sma_cross --param fast=10 --param slow=30

The ``kind`` and the ``mode`` are read in any case (``kind: SMA_Cross`` is ``sma_cross``).

A rule strategy's config is its ``Params`` (``rules``) with a ``kind`` and a ``strategy_id``:
``{kind: sma_cross, fast: 10, slow: 30}`` builds the same strategy as ``{kind: python,
entry_point: sma_cross, params: {fast: 10, slow: 30}}``, with the id ``sma_cross_10_30``.

Every model is frozen and refuses unknown fields; a bad value fails at construction with a
message naming the field and the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, Self

from jules_contracts.any_case import AnyCase, canonical_choice
from jules_contracts.base import Identifier
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from jules_signal.engine.rules import (
    CrossoverParams,
    EmaCross,
    MovingAverageCrossover,
    RsiReversion,
    RsiReversionParams,
    SmaCross,
    TradingMode,
)
from jules_signal.engine.sdk import Strategy

__all__ = [
    "STRATEGY_KINDS",
    "AnyStrategyConfig",
    "EmaCrossConfig",
    "OnnxPolicyConfig",
    "PythonStrategyConfig",
    "RsiReversionConfig",
    "RuleConfig",
    "SmaCrossConfig",
    "StrategyConfig",
    "TradingMode",
    "parse_strategy_flags",
    "strategy_config_from_mapping",
]


class _EngineConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _RuleConfig(_EngineConfig):
    """What a rule strategy's config adds to its ``Params``: the id of its signals."""

    strategy_class: ClassVar[type[Strategy[Any]]]
    """The rule strategy the config builds."""
    strategy_id: Identifier | None = Field(
        default=None, description="Id written into signals; defaults to one built from the kind."
    )

    @property
    def effective_strategy_id(self) -> str:
        """The configured ``strategy_id``, or one built from the kind and parameters."""
        return self.strategy_id or self._default_strategy_id()

    def _default_strategy_id(self) -> str:
        raise NotImplementedError


class _MovingAverageCrossConfig(CrossoverParams, _RuleConfig):
    """A crossover of a fast and a slow moving average of the close."""

    strategy_class: ClassVar[type[MovingAverageCrossover]]

    def _default_strategy_id(self) -> str:
        return f"{self.strategy_class.indicator}_cross_{self.fast}_{self.slow}"


class SmaCrossConfig(_MovingAverageCrossConfig):
    """``kind: sma_cross``: ``rules.SmaCross``, a crossover of two simple moving averages."""

    strategy_class: ClassVar[type[MovingAverageCrossover]] = SmaCross
    kind: Literal["sma_cross"] = "sma_cross"


class EmaCrossConfig(_MovingAverageCrossConfig):
    """``kind: ema_cross``: ``rules.EmaCross``, a crossover of two exponential moving averages."""

    strategy_class: ClassVar[type[MovingAverageCrossover]] = EmaCross
    kind: Literal["ema_cross"] = "ema_cross"


class RsiReversionConfig(RsiReversionParams, _RuleConfig):
    """``kind: rsi_reversion``: ``rules.RsiReversion``, mean reversion on the RSI."""

    strategy_class: ClassVar[type[Strategy[Any]]] = RsiReversion
    kind: Literal["rsi_reversion"] = "rsi_reversion"

    def _default_strategy_id(self) -> str:
        return f"rsi_reversion_{self.period}_{self.lower:g}_{self.exit_level:g}_{self.upper:g}"


class PythonStrategyConfig(_EngineConfig):
    """A user's strategy: a subclass of ``jules_signal.sdk.Strategy``, with its parameters.

    ``path`` names the class as ``package.module:Class`` (importable) or ``file.py:Class`` (a
    file, relative to the working directory unless the config's loader resolved it);
    ``entry_point`` names one registered under the ``jules.strategies`` entry-point group
    instead. ``params`` are validated by the class's ``Params`` when the strategy is built.
    """

    kind: Literal["python"] = "python"
    path: Annotated[str, Field(min_length=3, pattern=r"^[^:]+:[A-Za-z_][A-Za-z0-9_]*$")] | None = (
        Field(default=None, description="package.module:Class or path/to/file.py:Class.")
    )
    entry_point: Identifier | None = Field(
        default=None, description="Name of a strategy registered as a jules.strategies entry point."
    )
    params: dict[str, object] = Field(
        default_factory=dict, description="The strategy's parameters (its Params model)."
    )
    strategy_id: Identifier | None = Field(
        default=None, description="Id written into signals; defaults to the class's name."
    )

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.path is None) == (self.entry_point is None):
            raise ValueError("give exactly one of path (module:Class) and entry_point")
        return self


RuleConfig = SmaCrossConfig | EmaCrossConfig | RsiReversionConfig
"""Configuration of a rule strategy."""

AnyStrategyConfig = RuleConfig | PythonStrategyConfig
"""Configuration of a rule strategy or of a user's Python strategy."""

StrategyConfig = Annotated[AnyStrategyConfig, Field(discriminator="kind"), AnyCase()]
"""Configuration of any strategy but an ONNX policy, selected by its ``kind`` (in any case)."""

_STRATEGY_CONFIG: TypeAdapter[AnyStrategyConfig] = TypeAdapter(
    StrategyConfig, config=ConfigDict(title="StrategyConfig")
)
STRATEGY_KINDS: tuple[str, ...] = tuple(
    str(cls.model_fields["kind"].default)
    for cls in (SmaCrossConfig, EmaCrossConfig, RsiReversionConfig, PythonStrategyConfig)
)
"""The known strategy kinds, in the order of the union."""


def strategy_config_from_mapping(data: Mapping[str, object]) -> AnyStrategyConfig:
    """Validate a strategy config read from a file (a YAML or TOML table).

    Args:
        data: The table, with its ``kind`` and parameters.

    Returns:
        The config of the strategy named by ``kind``.

    Raises:
        pydantic.ValidationError: A field is missing, unknown or invalid (named in the message).
    """
    return _STRATEGY_CONFIG.validate_python(dict(data))


def parse_strategy_flags(kind: str, params: Mapping[str, str]) -> AnyStrategyConfig:
    """Build a strategy config from command-line flags (``--strategy KIND --param K=V ...``).

    Values arrive as text and are converted to each field's type (``"10"`` → 10). For
    ``python``, ``path``, ``entry_point`` and ``strategy_id`` are the config's own fields and
    every other parameter is one of the strategy's ``params``.

    Args:
        kind: The strategy kind (``sma_cross``, ``ema_cross``, ``rsi_reversion``, ``python``),
            in any case.
        params: Parameter values by name, as text.

    Returns:
        The validated config.

    Raises:
        ValueError: The kind is unknown or a ``kind`` parameter contradicts it.
        pydantic.ValidationError: A parameter is unknown or invalid (named in the message).
    """
    given = kind
    kind = str(canonical_choice(kind, STRATEGY_KINDS))
    if kind not in STRATEGY_KINDS:
        raise ValueError(f"unknown strategy {given!r}; choose one of {', '.join(STRATEGY_KINDS)}")
    if "kind" in params and canonical_choice(params["kind"], STRATEGY_KINDS) != kind:
        raise ValueError(f"parameter kind={params['kind']!r} contradicts strategy {kind!r}")
    if kind == "python":
        own = {"path", "entry_point", "strategy_id"}
        fields = {k: v for k, v in params.items() if k in own}
        nested = {k: v for k, v in params.items() if k not in own | {"kind"}}
        return strategy_config_from_mapping({**fields, "params": nested, "kind": kind})
    return strategy_config_from_mapping({**params, "kind": kind})


class OnnxPolicyConfig(_EngineConfig):
    """How an ONNX policy's output becomes signals.

    Attributes:
        dead_band: A continuous output with ``|y| <= dead_band`` means flat.
        min_weight_change: A new target in the same direction as the last one emitted is
            emitted only if it differs from it by at least this much.
    """

    dead_band: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 0.05
    min_weight_change: Annotated[float, Field(gt=0, le=2, allow_inf_nan=False)] = 0.1
