"""Exported policy modules decide exactly what stable-baselines3's deterministic predict does."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from jules_trainer.policies import ActorPolicy, MlpClassifier, QNetPolicy, policy_module
from stable_baselines3 import DQN, PPO


class Toy(gym.Env[np.ndarray, np.ndarray | np.int64]):
    """Four inputs, random observations; the reward prefers action/obs agreement."""

    def __init__(self, action_space: spaces.Space[Any]) -> None:
        self.observation_space = spaces.Box(-5.0, 5.0, (4,), np.float32)
        self.action_space = action_space
        self._steps = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._steps = 0
        return self._obs(), {}

    def step(self, action):
        self._steps += 1
        obs = self._obs()
        reward = float(np.sign(obs[0]) * (np.asarray(action).reshape(-1)[0] - 0.5))
        return obs, reward, False, self._steps >= 16, {}

    def _obs(self) -> np.ndarray:
        return self.np_random.normal(size=4).astype(np.float32)


def observations() -> np.ndarray:
    return np.random.default_rng(5).normal(scale=2.0, size=(64, 4)).astype(np.float32)


def test_dqn_qnet_matches_predict():
    model = DQN("MlpPolicy", Toy(spaces.Discrete(3)), seed=1, learning_starts=10, device="cpu")
    model.learn(64)
    module = policy_module(model)
    assert isinstance(module, QNetPolicy)
    obs = observations()
    with torch.no_grad():
        scores = module(torch.from_numpy(obs)).numpy()
        q_values = model.q_net(torch.from_numpy(obs)).numpy()
    actions, _ = model.predict(obs, deterministic=True)
    np.testing.assert_array_equal(scores.argmax(axis=1), actions)
    np.testing.assert_allclose(scores, q_values, rtol=0, atol=0)


def test_ppo_discrete_logits_match_predict():
    model = PPO("MlpPolicy", Toy(spaces.Discrete(3)), seed=1, n_steps=32, batch_size=16)
    model.learn(64)
    module = policy_module(model)
    assert isinstance(module, ActorPolicy)
    obs = observations()
    with torch.no_grad():
        logits = module(torch.from_numpy(obs)).numpy()
        dist: Any = model.policy.get_distribution(torch.from_numpy(obs))
    actions, _ = model.predict(obs, deterministic=True)
    np.testing.assert_array_equal(logits.argmax(axis=1), actions)
    # the distribution holds the normalised logits (log-probabilities)
    normalised = torch.log_softmax(torch.from_numpy(logits), dim=1).numpy()
    np.testing.assert_allclose(normalised, dist.distribution.logits.numpy(), atol=1e-6)


def test_ppo_continuous_clipped_mean_matches_predict():
    model = PPO(
        "MlpPolicy",
        Toy(spaces.Box(-1.0, 1.0, (1,), np.float32)),
        seed=2,
        n_steps=32,
        batch_size=16,
        policy_kwargs={"net_arch": [8]},
    )
    model.learn(64)
    # scale the action head so that some means fall outside [-1, 1] and must be clipped
    with torch.no_grad():
        action_net: Any = model.policy.action_net
        action_net.weight.mul_(100.0)
    module = policy_module(model)
    obs = observations()
    with torch.no_grad():
        out = module(torch.from_numpy(obs)).numpy()
    actions, _ = model.predict(obs, deterministic=True)
    assert out.shape == (64, 1)
    np.testing.assert_allclose(out, actions, atol=1e-6)
    assert np.any(np.abs(out) == 1.0)
    assert np.any(np.abs(out) < 1.0)


def test_modules_are_copies():
    model = DQN("MlpPolicy", Toy(spaces.Discrete(2)), seed=0, device="cpu")
    module = policy_module(model)
    obs = torch.from_numpy(observations())
    with torch.no_grad():
        before = module(obs).clone()
        for parameter in model.q_net.parameters():
            parameter.add_(1.0)
        np.testing.assert_array_equal(module(obs).numpy(), before.numpy())


def test_mlp_classifier_shape():
    torch.manual_seed(0)
    net = MlpClassifier(5, (7, 3), 2)
    assert net(torch.zeros(4, 5)).shape == (4, 2)
    assert [layer.out_features for layer in net.net if isinstance(layer, torch.nn.Linear)] == [
        7,
        3,
        2,
    ]
