"""Build the strategy a config describes: a rule strategy or a user's, both SDK strategies."""

from __future__ import annotations

from typing import Any

from jules_signal.engine.config import AnyStrategyConfig, PythonStrategyConfig
from jules_signal.engine.python_strategy import PythonStrategy, load_strategy
from jules_signal.engine.sdk import Strategy

__all__ = ["build_strategy"]


def build_strategy(config: AnyStrategyConfig) -> PythonStrategy:
    """Build the strategy a config describes, run by ``PythonStrategy``.

    A rule strategy's config (``kind: sma_cross``, ...) gives its class's ``Params`` and its
    ``effective_strategy_id``; a user's (``kind: python``) names the class and its parameters.

    Args:
        config: A ``StrategyConfig`` (any member of the union).

    Returns:
        A fresh strategy with empty per-instrument state.

    Raises:
        StrategyLoadError: A Python strategy cannot be loaded or its parameters are invalid.
    """
    if isinstance(config, PythonStrategyConfig):
        return load_strategy(config)
    cls: type[Strategy[Any]] = config.strategy_class
    params = cls.Params.model_validate(config.model_dump(include=set(cls.Params.model_fields)))
    return PythonStrategy(cls(params), strategy_id=config.effective_strategy_id)
