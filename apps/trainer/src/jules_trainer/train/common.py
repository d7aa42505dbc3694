"""Shared pieces of training: determinism, observations, evaluation and a fold's outcome.

Evaluation replays every segment of a window from its first bar to its last through a
``TradingEnv`` without random starts, the policy deciding deterministically (the best class,
or the clipped mean action), and reports

* ``mean_episode_pnl``: mean over the window's episodes (one per instrument) of the final
  equity minus the starting cash, positions closed at the end;
* ``sharpe``: annualised Sharpe ratio of the per-bar equity returns of all episodes (bars per
  year from the episodes' own elapsed event time: ``jules_backtest.metrics.bar_sharpe``, what
  the gate reads on a test window too short for the backtest's daily Sharpe; 0 when
  undefined);
* ``max_drawdown``: the worst peak-to-trough fall of an episode's equity, a negative fraction
  (as in a backtest's metrics);
* ``target_changes``: how many times the policy's target weight changed (signals sent to
  risk; not the backtest's ``trade_count`` of closed round trips, which the gate checks);
* ``episodes``: episodes run (segments too short for the features' warm-up are skipped).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from jules_backtest.metrics import bar_sharpe, max_drawdown
from jules_signal.engine import DiscreteAction
from numpy.typing import NDArray

from jules_trainer.config import TrainConfig
from jules_trainer.data import Segment, feature_rows
from jules_trainer.env import TradingEnv

__all__ = [
    "Actor",
    "FoldOutcome",
    "evaluate",
    "module_actor",
    "set_determinism",
    "standardised_rows",
]

Actor = Callable[[NDArray[np.float32]], Any]
"""Maps one observation to an environment action."""


@dataclass
class FoldOutcome:
    """What training on one fold produced.

    Attributes:
        module: The exportable policy module (best validation state).
        position_input: Whether the module reads the position after the features.
        metrics: ``{"train"|"validation"|"test": {metric: value}}`` of the best state.
        training: How training went: steps or epochs, early stopping, evaluations.
    """

    module: torch.nn.Module
    position_input: bool
    metrics: dict[str, dict[str, float]]
    training: dict[str, Any] = field(default_factory=dict)


def set_determinism(seed: int) -> None:
    """Seed Python, NumPy and torch; one torch thread; deterministic algorithms where possible."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)


def module_actor(module: torch.nn.Module, env: TradingEnv, *, position_input: bool) -> Actor:
    """An actor deciding with a policy module, as the served model would.

    Args:
        module: Maps ``[1, input_width]`` to the card's output.
        env: The environment (its action space says discrete or continuous).
        position_input: Feed the observation's trailing position too.
    """
    discrete = isinstance(env.action_semantics, DiscreteAction)

    def act(observation: NDArray[np.float32]) -> Any:
        inputs = observation if position_input else observation[:-1]
        with torch.no_grad():
            output = module(torch.from_numpy(inputs.reshape(1, -1))).numpy().reshape(-1)
        if discrete:
            return np.int64(np.argmax(output))
        return output.astype(np.float32)

    return act


def evaluate(env: TradingEnv, act: Actor) -> dict[str, float]:
    """Run one deterministic episode per segment of ``env`` and measure it (module docstring).

    Raises:
        ValueError: No segment is long enough for an episode.
    """
    pnls: list[float] = []
    returns: list[NDArray[np.float64]] = []
    drawdowns: list[float] = []
    elapsed_ns = 0
    target_changes = 0
    for index in range(len(env.segments)):
        try:
            observation, info = env.reset(options={"segment": index, "start": 0})
        except ValueError:
            continue  # too short for the warm-up
        equity = [float(info["equity"])]
        first_time = int(info["event_time"])
        last_target = float(info["target_weight"])
        done = False
        while not done:
            observation, _, terminated, truncated, info = env.step(act(observation))
            done = terminated or truncated
            equity.append(float(info["equity"]))
            if info["target_weight"] != last_target:
                target_changes += 1
                last_target = float(info["target_weight"])
        curve = np.asarray(equity)
        pnls.append(float(info["pnl"]))
        returns.append(curve[1:] / curve[:-1] - 1.0)
        drawdowns.append(max_drawdown(curve))
        elapsed_ns += int(info["event_time"]) - first_time
    if not pnls:
        raise ValueError(
            f"no segment of {[s.instrument_id for s in env.segments]} is long enough for an "
            "evaluation episode"
        )
    sharpe = bar_sharpe(np.concatenate(returns), elapsed_ns)
    return {
        "mean_episode_pnl": float(np.mean(pnls)),
        "sharpe": 0.0 if sharpe is None else sharpe,
        "max_drawdown": min(drawdowns),
        "target_changes": float(target_changes),
        "episodes": float(len(pnls)),
    }


def standardised_rows(
    config: TrainConfig, segment: Segment, normalisation: Mapping[str, tuple[float, float]]
) -> tuple[NDArray[np.float32], NDArray[np.bool_], NDArray[np.float64]]:
    """Standardised feature rows of a segment, which rows are fully defined, and the closes.

    Values are ``(x - mean) / std`` (0 where undefined), not clipped: what the served policy
    feeds a model (the exported module clips like the environment).
    """
    raw, closes = feature_rows(config, segment)
    mean = np.array([normalisation[name][0] for name in config.features])
    std = np.array([normalisation[name][1] for name in config.features])
    defined = np.all(np.isfinite(raw), axis=1)
    scaled = np.nan_to_num((raw - mean) / std, nan=0.0).astype(np.float32)
    return scaled, defined, closes


def export_sample(
    config: TrainConfig,
    segments: Sequence[Segment],
    normalisation: Mapping[str, tuple[float, float]],
    *,
    position_input: bool,
    rows: int = 512,
) -> NDArray[np.float32]:
    """A batch of typical model inputs for the export checks: defined rows, evenly spaced.

    With ``position_input`` a position column cycles through the configured target weights
    (or evenly spaced weights in [-1, 1] for continuous actions).
    """
    parts = []
    for segment in segments:
        scaled, defined, _ = standardised_rows(config, segment, normalisation)
        parts.append(scaled[defined])
    stacked = np.concatenate(parts) if parts else np.empty((0, len(config.features)), np.float32)
    if stacked.shape[0] == 0:
        stacked = np.zeros((1, len(config.features)), dtype=np.float32)
    picks = np.unique(np.linspace(0, stacked.shape[0] - 1, num=rows).astype(int))
    batch = stacked[picks]
    if not position_input:
        return np.ascontiguousarray(batch)
    action = config.env.action
    weights = (
        np.asarray(action.target_weights)
        if action.kind == "discrete"
        else np.linspace(-1.0, 1.0, num=9)
    )
    positions = np.resize(weights, batch.shape[0]).astype(np.float32).reshape(-1, 1)
    return np.ascontiguousarray(np.hstack([batch, positions]))
