"""Early stopping on the validation window.

Every ``eval_every`` environment steps (reinforcement learning) or every epoch (supervised) the
policy is evaluated on the validation window (``common.evaluate``); the score is the mean
episode PnL. The best state so far is kept (a copy of the weights); after ``patience``
evaluations in a row without a strictly better score, training stops and the best state is
restored.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

__all__ = ["EarlyStopping", "ValidationCallback"]


class EarlyStopping:
    """Tracks validation scores, keeps the best state, says when to stop.

    Args:
        patience: Evaluations without improvement before stopping.
    """

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best_score = float("-inf")
        self.best_at: int | None = None
        self.best_state: Any = None
        self.best_metrics: dict[str, float] | None = None
        self.since_best = 0
        self.stopped_early = False
        self.history: list[dict[str, float]] = []

    def update(self, at: int, metrics: dict[str, float], state: Callable[[], Any]) -> bool:
        """Record an evaluation at step/epoch ``at``; return whether to stop now.

        Args:
            at: The step or epoch of the evaluation.
            metrics: Validation metrics (``mean_episode_pnl`` is the score).
            state: Returns the current weights (called only on improvement; copied).
        """
        score = metrics["mean_episode_pnl"]
        self.history.append({"at": float(at), **metrics})
        if score > self.best_score:
            self.best_score = score
            self.best_at = at
            self.best_metrics = dict(metrics)
            self.best_state = copy.deepcopy(state())
            self.since_best = 0
            return False
        self.since_best += 1
        if self.since_best >= self.patience:
            self.stopped_early = True
        return self.stopped_early

    def summary(self) -> dict[str, Any]:
        """What happened, for the experiment record."""
        return {
            "patience": self.patience,
            "stopped_early": self.stopped_early,
            "best_at": self.best_at,
            "best_validation_mean_episode_pnl": self.best_score
            if self.best_at is not None
            else None,
            "evaluations": self.history,
        }


class ValidationCallback(BaseCallback):
    """A stable-baselines3 callback evaluating every ``eval_every`` steps; stops early.

    Args:
        evaluate: Evaluates the model's current policy on the validation window.
        eval_every: Environment steps between evaluations.
        stopping: The early-stopping tracker.
    """

    def __init__(
        self,
        evaluate: Callable[[BaseAlgorithm], dict[str, float]],
        eval_every: int,
        stopping: EarlyStopping,
    ) -> None:
        super().__init__(verbose=0)
        self._evaluate = evaluate
        self._eval_every = eval_every
        self.stopping = stopping
        self.last_evaluated: int | None = None

    def evaluate_now(self) -> bool:
        """Evaluate at the current step, log it, and return whether to stop."""
        model = self.model
        metrics = self._evaluate(model)
        for key, value in metrics.items():
            self.logger.record(f"validation/{key}", value)
        self.logger.dump(model.num_timesteps)
        self.last_evaluated = model.num_timesteps
        return self.stopping.update(model.num_timesteps, metrics, lambda: model.policy.state_dict())

    def _on_step(self) -> bool:
        if self.model.num_timesteps % self._eval_every != 0:
            return True
        return not self.evaluate_now()
