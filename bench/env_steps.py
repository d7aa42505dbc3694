"""Benchmark: trading-environment steps per second, alone and while training.

Builds the environment of a training configuration (default ``examples/train.yaml``: real
1-minute bars, the features engine, the strategy's signal path, risk sizing and the simulated
venue) on the first fold's training window, then measures

* random actions: ``env.step`` calls per second (the environment alone);
* DQN and PPO (stable-baselines3, CPU, one thread): environment steps per second during
  ``learn``, which includes the networks' forward and backward passes.

Usage::

    .venv/bin/python bench/env_steps.py [--config examples/train.yaml] [--steps 20000]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
from jules_trainer.config import load_train_config
from jules_trainer.data import compute_normalisation, load_dataset, walk_forward_folds
from jules_trainer.env import TradingEnv
from machine import describe  # bench/machine.py (scripts run from bench/)
from stable_baselines3 import DQN, PPO

ROOT = Path(__file__).resolve().parents[1]


def random_steps(env: TradingEnv, steps: int, seed: int) -> float:
    """Environment steps per second with seeded random actions."""
    env.action_space.seed(seed)
    env.reset(seed=seed)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def learning_steps(algorithm: str, env: TradingEnv, steps: int, seed: int) -> float:
    """Environment steps per second while stable-baselines3 learns."""
    if algorithm == "dqn":
        model: DQN | PPO = DQN("MlpPolicy", env, seed=seed, learning_starts=500, verbose=0)
    else:
        model = PPO("MlpPolicy", env, seed=seed, n_steps=1024, batch_size=128, verbose=0)
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "examples" / "train.yaml")
    parser.add_argument("--steps", type=int, default=20_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.chdir(ROOT)  # the configuration's data_dir is relative to the repository root
    config = load_train_config(args.config.resolve())
    dataset = load_dataset(config)
    fold = walk_forward_folds(dataset, config.folds)[0]
    segments = dataset.segments(fold.train)
    normalisation = compute_normalisation(config, segments)
    env = TradingEnv(config, segments, normalisation)
    bars = sum(len(segment.bars) for segment in segments)
    print(f"machine: {describe()}; torch {torch.__version__} ({torch.get_num_threads()} thread)")
    print(
        f"environment: {args.config.name}, {len(config.features)} features, "
        f"{bars} training bars, action {config.env.action.kind}, "
        f"observation {env.observation_space.shape}"
    )
    rates = {"random actions": random_steps(env, args.steps, config.seed)}
    for algorithm in ("dqn", "ppo"):
        rates[f"{algorithm.upper()} learning"] = learning_steps(
            algorithm, TradingEnv(config, segments, normalisation), args.steps, config.seed
        )
    for name, rate in rates.items():
        print(f"{name}: {rate:,.0f} env steps/s ({args.steps} steps)")


if __name__ == "__main__":
    main()
