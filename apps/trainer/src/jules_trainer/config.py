"""Training configuration: the YAML file given to ``jules-train <algorithm> --config FILE``.

Example (``examples/train.yaml``)::

    name: btc-perp-dqn
    data_dir: ../shared/data
    data:
      - {path: nautilus_trader/tests/test_data/btc-perp-20211231-20220201_1m.csv,
         instrument_id: BTC-PERP.FTX, assume_utc: true}
    features: [logret_1, logret_5, rsi_14, natr_14, rvol_30]
    env: {action: {kind: discrete, target_weights: [-1, 0, 1]}, episode_bars: 720}
    folds: {folds: 1, train: 0.6, validation: 0.2, test: 0.2}
    risk: {sizing: {kind: fixed_fraction, fraction: 0.5}}
    execution: {fill_model: {kind: next_bar_open}, fees: {taker_bps: 5}}
    account: {starting_cash: 100000}

The data, risk, execution and account sections are those of a backtest
(``jules_backtest.config``), so the environment trades on the same simulator, and
``TrainConfig.backtest_config`` turns the same settings into the backtest of a trained model.
Choices such as ``kind`` are read in any case (``kind: Discrete`` is ``discrete``).
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from jules_backtest.config import (
    AccountConfig,
    BacktestConfig,
    DataSource,
    OnnxStrategyConfig,
    apply_overrides,
)
from jules_contracts.any_case import AnyCase
from jules_features.engine import FeatureSpec
from jules_order_router.engine import VenueConfig
from jules_risk.engine import RiskControls
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "ContinuousActions",
    "DiscreteActions",
    "DqnConfig",
    "EnvConfig",
    "FoldsConfig",
    "PpoConfig",
    "SupervisedConfig",
    "TrainConfig",
    "load_train_config",
]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
"""A model name: usable as a backtest name, a model-card name and a folder name."""

_Weight = Annotated[float, Field(ge=-1, le=1, allow_inf_nan=False)]
_Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
_Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
_Layers = Annotated[tuple[Annotated[int, Field(ge=1, le=4096)], ...], Field(min_length=1)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DiscreteActions(_Frozen):
    """The agent picks one of a few target weights (a ``discrete`` model card action).

    Attributes:
        target_weights: The target weight of each action, in action order (distinct, in
            [-1, 1]).
    """

    kind: Literal["discrete"] = "discrete"
    target_weights: Annotated[tuple[_Weight, ...], Field(min_length=2)] = (-1.0, 0.0, 1.0)

    @field_validator("target_weights")
    @classmethod
    def _distinct(cls, weights: tuple[float, ...]) -> tuple[float, ...]:
        if len(set(weights)) != len(weights):
            raise ValueError(f"target weights must be distinct, got {list(weights)}")
        return tuple(float(weight) for weight in weights)


class ContinuousActions(_Frozen):
    """The agent outputs the target weight itself, in [-1, 1] (a ``target_weight`` card)."""

    kind: Literal["continuous"] = "continuous"


class EnvConfig(_Frozen):
    """The trading environment.

    Attributes:
        action: Discrete target weights or a continuous target weight.
        episode_bars: Bars per episode, warm-up included (a random start within a segment
            when training).
        risk_penalty: Per step, ``reward -= reward_scale * risk_penalty * |w| * |r|`` where
            ``w`` is the target weight held over the step and ``r`` the bar's close-to-close
            return.
        reward_scale: ``reward = reward_scale * (equity change) / starting_cash`` (before the
            risk penalty).
        dead_band: A continuous action with ``|a| <= dead_band`` means flat (as
            ``OnnxPolicyConfig.dead_band``; the served policy uses the same value).
        min_weight_change: A new target in the same direction as the last one is acted on only
            when it moves by at least this much (as ``OnnxPolicyConfig.min_weight_change``).
        observation_clip: Standardised features are clipped to ``[-clip, clip]``; an exported
            model applies the same clip to its feature inputs.
    """

    action: Annotated[
        DiscreteActions | ContinuousActions, Field(discriminator="kind"), AnyCase()
    ] = DiscreteActions()
    episode_bars: Annotated[int, Field(ge=3)] = 720
    risk_penalty: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    reward_scale: _Positive = 1.0
    dead_band: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 0.05
    min_weight_change: Annotated[float, Field(gt=0, le=2, allow_inf_nan=False)] = 0.1
    observation_clip: _Positive = 10.0


class FoldsConfig(_Frozen):
    """Walk-forward folds (see ``jules_trainer.data.walk_forward_folds``).

    Attributes:
        folds: Number of consecutive, non-overlapping folds.
        train: Fraction of each fold's bars (the earliest) for training.
        validation: Fraction of each fold's bars after training, for early stopping.
        test: Fraction of each fold's bars (the latest) for the out-of-sample test.
    """

    folds: Annotated[int, Field(ge=1, le=100)] = 1
    train: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] = 0.6
    validation: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] = 0.2
    test: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] = 0.2

    @model_validator(mode="after")
    def _sum_to_one(self) -> Self:
        total = self.train + self.validation + self.test
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(
                f"folds.train + folds.validation + folds.test must sum to 1, got "
                f"{self.train} + {self.validation} + {self.test} = {total:g}"
            )
        return self


class DqnConfig(_Frozen):
    """Deep Q-network (stable-baselines3 ``DQN``) settings; discrete actions only.

    Attributes:
        total_timesteps: Environment steps of training at most.
        learning_rate: Adam learning rate.
        batch_size: Transitions per gradient step.
        buffer_size: Replay buffer size.
        learning_starts: Steps collected before learning starts.
        train_freq: Environment steps per gradient update.
        target_update_interval: Steps between target-network updates.
        exploration_fraction: Fraction of training over which epsilon decays.
        exploration_final_eps: Final epsilon.
        gamma: Discount factor.
        net_arch: Hidden layer sizes.
        eval_every: Steps between evaluations on the validation window.
        patience: Evaluations without improvement before stopping early.
    """

    total_timesteps: Annotated[int, Field(ge=1)] = 50_000
    learning_rate: _Positive = 1e-4
    batch_size: Annotated[int, Field(ge=1)] = 64
    buffer_size: Annotated[int, Field(ge=1)] = 50_000
    learning_starts: Annotated[int, Field(ge=0)] = 1_000
    train_freq: Annotated[int, Field(ge=1)] = 4
    target_update_interval: Annotated[int, Field(ge=1)] = 1_000
    exploration_fraction: _Fraction = 0.2
    exploration_final_eps: _Fraction = 0.05
    gamma: _Fraction = 0.99
    net_arch: _Layers = (64, 64)
    eval_every: Annotated[int, Field(ge=1)] = 5_000
    patience: Annotated[int, Field(ge=1)] = 3


class PpoConfig(_Frozen):
    """Proximal policy optimisation (stable-baselines3 ``PPO``) settings.

    Attributes:
        total_timesteps: Environment steps of training at most.
        learning_rate: Adam learning rate.
        n_steps: Steps per rollout.
        batch_size: Minibatch size.
        n_epochs: Passes over each rollout.
        gamma: Discount factor.
        gae_lambda: GAE lambda.
        clip_range: PPO clip range.
        ent_coef: Entropy bonus.
        net_arch: Hidden layer sizes (policy and value networks).
        eval_every: Steps between evaluations on the validation window.
        patience: Evaluations without improvement before stopping early.
    """

    total_timesteps: Annotated[int, Field(ge=1)] = 50_000
    learning_rate: _Positive = 3e-4
    n_steps: Annotated[int, Field(ge=2)] = 1_024
    batch_size: Annotated[int, Field(ge=1)] = 64
    n_epochs: Annotated[int, Field(ge=1)] = 10
    gamma: _Fraction = 0.99
    gae_lambda: _Fraction = 0.95
    clip_range: _Positive = 0.2
    ent_coef: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    net_arch: _Layers = (64, 64)
    eval_every: Annotated[int, Field(ge=1)] = 5_000
    patience: Annotated[int, Field(ge=1)] = 3


class SupervisedConfig(_Frozen):
    """Supervised training on the forward return over ``horizon`` bars.

    Attributes:
        horizon: Bars ahead of the label's forward return.
        label_threshold: Forward log returns within ``±label_threshold`` label the flat
            (smallest absolute) target; beyond it the most extreme long or short one.
        net_arch: Hidden layer sizes.
        epochs: Passes over the training rows at most.
        learning_rate: Adam learning rate.
        batch_size: Rows per gradient step.
        patience: Epochs without validation improvement before stopping early.
    """

    horizon: Annotated[int, Field(ge=1)] = 5
    label_threshold: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    net_arch: _Layers = (64, 64)
    epochs: Annotated[int, Field(ge=1)] = 20
    learning_rate: _Positive = 1e-3
    batch_size: Annotated[int, Field(ge=1)] = 256
    patience: Annotated[int, Field(ge=1)] = 3


class TrainConfig(_Frozen):
    """Everything a training run needs.

    Attributes:
        name: The model name (model card, registry folder, backtest name).
        data_dir: Folder the data paths are relative to (relative to the working directory).
        data: The recorded data files, as in a backtest.
        features: Canonical feature names, in model input order.
        env: The trading environment.
        folds: Walk-forward folds.
        risk: Risk limits, sizing and stops (as in a backtest).
        execution: The simulated venue (as in a backtest).
        account: The account (as in a backtest).
        seed: Seed of every random choice (environment starts, networks, exploration).
        registry_dir: The model registry's root folder.
        tensorboard: Write TensorBoard logs.
        dqn: ``jules-train dqn`` settings.
        ppo: ``jules-train ppo`` settings.
        supervised: ``jules-train supervised`` settings.
    """

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    data_dir: Path = Path("..") / "shared" / "data"
    data: Annotated[tuple[DataSource, ...], Field(min_length=1)]
    features: Annotated[tuple[str, ...], Field(min_length=1)]
    env: EnvConfig = EnvConfig()
    folds: FoldsConfig = FoldsConfig()
    risk: RiskControls = RiskControls()
    execution: VenueConfig = VenueConfig()
    account: AccountConfig = AccountConfig()
    seed: Annotated[int, Field(ge=0)] = 0
    registry_dir: Path = Path("models")
    tensorboard: bool = True
    dqn: DqnConfig = DqnConfig()
    ppo: PpoConfig = PpoConfig()
    supervised: SupervisedConfig = SupervisedConfig()

    @field_validator("features")
    @classmethod
    def _canonical_features(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            spec = FeatureSpec.parse(name)  # FeatureError (a ValueError) names the feature
            if spec.name != name:
                raise ValueError(f"feature {name!r}: write it canonically as {spec.name!r}")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"features listed twice: {duplicates}")
        return names

    def backtest_config(
        self,
        *,
        model: Path,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        output_dir: Path | None = None,
    ) -> BacktestConfig:
        """The backtest of a trained model on this configuration's data, risk and venue.

        The strategy is the ONNX ``model`` with this configuration's ``dead_band`` and
        ``min_weight_change``; positions are closed at the end, as in the environment.

        Args:
            model: The ``.onnx`` file.
            start: Only bars closing at or after this time (ISO-8601 with an offset).
            end: Only bars closing before this time.
            output_dir: The run folder (default ``runs/<name>``).

        Raises:
            pydantic.ValidationError: ``start``/``end`` are invalid or out of order.
        """
        return BacktestConfig.model_validate(
            {
                "name": self.name,
                "data_dir": self.data_dir,
                "data": self.data,
                "strategy": OnnxStrategyConfig(
                    model=str(model),
                    dead_band=self.env.dead_band,
                    min_weight_change=self.env.min_weight_change,
                ),
                "risk": self.risk,
                "execution": self.execution,
                "account": self.account,
                "seed": self.seed,
                "output_dir": output_dir,
                "close_at_end": True,
                "start": start,
                "end": end,
            }
        )


def load_train_config(path: Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read a training configuration (YAML), apply ``dotted.key=value`` overrides, validate.

    Relative ``data_dir`` and ``registry_dir`` stay relative to the working directory, as
    in ``jules_backtest.config.load_config``.

    Raises:
        pydantic.ValidationError: A field is invalid (the message names it).
        ValueError: The file is not a mapping, or an override is malformed.
        OSError: The file cannot be read.
    """
    data: Any = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a training configuration must be a mapping at the top level")
    return TrainConfig.model_validate(apply_overrides(data, overrides or []))
