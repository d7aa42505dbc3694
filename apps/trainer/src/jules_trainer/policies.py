"""Torch modules the trainer exports: plain ``float32 [batch, input_width] -> output`` maps.

Every exported module reads what the served ``OnnxPolicy`` feeds it: the standardised features
in card order, followed by the current target weight when the card's ``position_input`` is set.
It outputs what the card's action says:

* ``discrete``: one score per class, the best class wins (``argmax``). For DQN the scores are
  the Q-values, for a discrete PPO actor and the supervised classifier the logits.
* ``target_weight``: one number, the deterministic action (the mean of PPO's Gaussian), clipped
  to [-1, 1] exactly as stable-baselines3 clips it before acting.

The training environment clips standardised features to ``[-observation_clip,
observation_clip]``; ``FeatureClip`` puts the same clip in front of an exported module (the
served policy feeds unclipped standardised values).

So a served model decides exactly what ``model.predict(obs, deterministic=True)`` decides.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.policies import ActorCriticPolicy
from torch import nn

__all__ = ["ActorPolicy", "FeatureClip", "MlpClassifier", "QNetPolicy", "policy_module"]


class MlpClassifier(nn.Module):
    """A multilayer perceptron mapping inputs to one logit per class (ReLU hidden layers).

    Args:
        input_width: Number of inputs.
        hidden: Hidden layer sizes (may be empty: a linear model).
        classes: Number of outputs.
    """

    def __init__(self, input_width: int, hidden: Sequence[int], classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = input_width
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits, ``[batch, classes]``."""
        return self.net(x)  # type: ignore[no-any-return]


class QNetPolicy(nn.Module):
    """A DQN's Q-network as a module: input -> one Q-value per action.

    Args:
        model: The trained DQN (its online ``q_net`` is copied, so later training does not
            change this module).
    """

    def __init__(self, model: DQN) -> None:
        super().__init__()
        q_net = model.q_net
        self.features_extractor = _copy(q_net.features_extractor)
        self.q_net = _copy(q_net.q_net)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the Q-values, ``[batch, actions]``."""
        return self.q_net(self.features_extractor(x))  # type: ignore[no-any-return]


class ActorPolicy(nn.Module):
    """A PPO actor as a module: input -> logits (discrete) or the clipped mean action.

    Args:
        model: The trained PPO (its actor path is copied).

    Raises:
        ValueError: The action space is neither discrete nor a one-dimensional box.
    """

    def __init__(self, model: PPO) -> None:
        super().__init__()
        policy = model.policy
        if not isinstance(policy, ActorCriticPolicy):
            raise ValueError(f"expected an actor-critic policy, got {type(policy).__name__}")
        space = model.action_space
        if isinstance(space, spaces.Discrete):
            self.continuous = False
            low, high = 0.0, 0.0
        elif isinstance(space, spaces.Box) and space.shape == (1,):
            if policy.squash_output:
                raise ValueError("squashed (gSDE) PPO policies are not exported")
            self.continuous = True
            low, high = float(space.low[0]), float(space.high[0])
        else:
            raise ValueError(f"unsupported action space {space}")
        self.low = low
        self.high = high
        self.features_extractor = _copy(policy.pi_features_extractor)
        self.policy_net = _copy(policy.mlp_extractor.policy_net)
        self.action_net = _copy(policy.action_net)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits ``[batch, actions]`` or the clipped mean ``[batch, 1]``."""
        out = self.action_net(self.policy_net(self.features_extractor(x)))
        if self.continuous:
            out = torch.clamp(out, self.low, self.high)
        return out  # type: ignore[no-any-return]


class FeatureClip(nn.Module):
    """Clip the feature inputs to ``[-clip, clip]`` (not a trailing position input), then run.

    Args:
        inner: The module to run on the clipped inputs.
        features: Number of feature inputs (the first columns).
        clip: The clip bound (``env.observation_clip``).
    """

    def __init__(self, inner: nn.Module, features: int, clip: float) -> None:
        super().__init__()
        self.inner = inner
        self.features = features
        self.clip = float(clip)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``inner`` of the inputs with the features clipped."""
        clipped = torch.clamp(x[:, : self.features], -self.clip, self.clip)
        rest = x[:, self.features :]
        return self.inner(torch.cat([clipped, rest], dim=1))  # type: ignore[no-any-return]


def policy_module(model: DQN | PPO) -> nn.Module:
    """Return the exportable module of a trained stable-baselines3 model, in eval mode.

    Args:
        model: A DQN or PPO model.

    Returns:
        ``QNetPolicy`` for DQN, ``ActorPolicy`` for PPO.
    """
    module: nn.Module = QNetPolicy(model) if isinstance(model, DQN) else ActorPolicy(model)
    return module.eval()


def _copy(module: Any) -> nn.Module:
    """Return a detached CPU copy of a module (same weights, no shared storage)."""
    copied = copy.deepcopy(module)
    if not isinstance(copied, nn.Module):
        raise TypeError(f"expected a torch module, got {type(copied).__name__}")
    return copied.to("cpu").eval()
