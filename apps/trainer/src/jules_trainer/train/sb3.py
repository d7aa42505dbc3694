"""Deep Q-network (DQN) and PPO training with stable-baselines3 on the trading environment.

Per fold: the agent learns on episodes drawn at random from the train window (``TradingEnv``
with random starts, seeded), is evaluated on the whole validation window every ``eval_every``
steps for early stopping (``callbacks``), and the best validation state is measured on the
train, validation and test windows. The exported module (``policies.policy_module`` behind a
``FeatureClip``) reads the standardised features and the current target weight.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import torch
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm

from jules_trainer.config import DiscreteActions, TrainConfig
from jules_trainer.data import Dataset, Fold
from jules_trainer.env import TradingEnv
from jules_trainer.policies import FeatureClip, policy_module
from jules_trainer.train.callbacks import EarlyStopping, ValidationCallback
from jules_trainer.train.common import FoldOutcome, evaluate, module_actor

__all__ = ["build_model", "exported_module", "train_fold"]


def build_model(
    algorithm: Literal["dqn", "ppo"],
    config: TrainConfig,
    env: TradingEnv,
    tensorboard_dir: Path | None,
) -> DQN | PPO:
    """Build the stable-baselines3 model with the configuration's settings (CPU, seeded).

    Raises:
        ValueError: DQN asked with continuous actions.
    """
    log = None if tensorboard_dir is None else str(tensorboard_dir)
    if algorithm == "dqn":
        if not isinstance(config.env.action, DiscreteActions):
            raise ValueError("dqn needs discrete actions (env.action.kind: discrete)")
        dqn = config.dqn
        return DQN(
            "MlpPolicy",
            env,
            learning_rate=dqn.learning_rate,
            batch_size=dqn.batch_size,
            buffer_size=dqn.buffer_size,
            learning_starts=dqn.learning_starts,
            train_freq=dqn.train_freq,
            target_update_interval=dqn.target_update_interval,
            exploration_fraction=dqn.exploration_fraction,
            exploration_final_eps=dqn.exploration_final_eps,
            gamma=dqn.gamma,
            policy_kwargs={"net_arch": list(dqn.net_arch)},
            tensorboard_log=log,
            seed=config.seed,
            device="cpu",
            verbose=0,
        )
    ppo = config.ppo
    return PPO(
        "MlpPolicy",
        env,
        learning_rate=ppo.learning_rate,
        n_steps=ppo.n_steps,
        batch_size=ppo.batch_size,
        n_epochs=ppo.n_epochs,
        gamma=ppo.gamma,
        gae_lambda=ppo.gae_lambda,
        clip_range=ppo.clip_range,
        ent_coef=ppo.ent_coef,
        policy_kwargs={"net_arch": list(ppo.net_arch)},
        tensorboard_log=log,
        seed=config.seed,
        device="cpu",
        verbose=0,
    )


def exported_module(model: DQN | PPO, config: TrainConfig) -> torch.nn.Module:
    """The model's policy as an exportable module clipping features like the environment."""
    inner = policy_module(model)
    return FeatureClip(inner, len(config.features), config.env.observation_clip).eval()


def train_fold(
    algorithm: Literal["dqn", "ppo"],
    config: TrainConfig,
    dataset: Dataset,
    fold: Fold,
    normalisation: Mapping[str, tuple[float, float]],
    *,
    progress: bool,
    tensorboard_dir: Path | None,
    validation_only: bool = False,
) -> FoldOutcome:
    """Train one fold with early stopping and measure the best state on its three windows.

    With ``validation_only`` (a search's trial) only the validation window is measured
    and the test window's bars are not read (see ``jules_trainer.train.train_fold``).

    Raises:
        ValueError: A window has no usable bars, or DQN with continuous actions.
    """
    settings = config.dqn if algorithm == "dqn" else config.ppo
    train_env = TradingEnv(config, dataset.segments(fold.train), normalisation)
    validation_env = TradingEnv(
        config, dataset.segments(fold.validation), normalisation, random_start=False
    )
    model = build_model(algorithm, config, train_env, tensorboard_dir)

    def validate(current: BaseAlgorithm) -> dict[str, float]:
        assert isinstance(current, DQN | PPO)
        module = exported_module(current, config)
        return evaluate(validation_env, module_actor(module, validation_env, position_input=True))

    stopping = EarlyStopping(settings.patience)
    callback = ValidationCallback(validate, settings.eval_every, stopping)
    model.learn(
        total_timesteps=settings.total_timesteps,
        callback=callback,
        progress_bar=progress,
        tb_log_name=f"{algorithm}_fold{fold.index}",
    )
    if not stopping.stopped_early and callback.last_evaluated != model.num_timesteps:
        callback.evaluate_now()  # the final state competes too
    if stopping.best_state is not None:
        model.policy.load_state_dict(stopping.best_state)
    module = exported_module(model, config)
    if stopping.best_metrics is None:
        raise RuntimeError("no validation evaluation recorded")
    metrics = {"validation": stopping.best_metrics}
    splits = () if validation_only else (("train", fold.train), ("test", fold.test))
    for split, window in splits:
        env = TradingEnv(config, dataset.segments(window), normalisation, random_start=False)
        metrics[split] = evaluate(env, module_actor(module, env, position_input=True))
    training = {"timesteps": int(model.num_timesteps), **stopping.summary()}
    return FoldOutcome(
        module=module,
        position_input=True,
        metrics={key: metrics[key] for key in ("train", "validation", "test") if key in metrics},
        training=training,
    )
