"""The trading environment: a gymnasium ``Env`` on the platform's own simulator.

Each episode replays a window of one instrument's bars through an ``EmbeddedNode`` built by
``jules_backtest.run.build_node``: the same features engine, risk sizing and limits, fill
model, fees and latency as a backtest. The agent takes the strategy's place, and its action
becomes a signal exactly as the served ONNX policy (``jules_signal.engine.OnnxPolicy``) turns a
model output into one:

* a discrete action ``i`` is the one-hot score vector of class ``i`` and a continuous action
  ``a`` the output ``[a]``, mapped by ``output_to_target`` (with ``env.dead_band``) to a target
  weight;
* ``TargetMemory(env.min_weight_change)`` decides whether that target is news; only then is a
  signal (``make_signal``, the bar as reference) sent to risk.

Observation: the features in ``config.features`` order standardised with the normalisation,
``(x - mean) / std`` (0.0 where a feature is undefined), clipped to
``[-observation_clip, observation_clip]``, then the current target weight (the last target
emitted, 0.0 before the first): what the served policy feeds a model with ``position_input``.

Timing of an episode over bars ``b[0] .. b[n-1]`` (``n = episode_bars``):

* ``reset`` runs the market half of each bar (bars, venue, features) and lets the strategy
  stay silent until the first bar whose features are all defined (the warm-up, as the served
  policy does not act before), whose observation it returns;
* ``step(action)`` decides on the current bar (signal, risk; an approved order fills at the
  next bar's open with ``next_bar_open``), then runs the next bar's market half. The reward is
  ``reward_scale * (equity change) / starting_cash`` from the portfolio snapshots (so net of
  fees), minus ``reward_scale * risk_penalty * |w| * |r|`` where ``w`` is the target weight
  after the decision and ``r`` the next bar's close-to-close return;
* when the next bar is the episode's last, the strategy stays silent on it, the node finishes
  with ``close_at_end=True`` (positions closed at the last bar's open, as a backtest does) and
  the close-out is in that final reward; ``terminated`` is then true.

If a feature becomes undefined after the warm-up, the action of that step is ignored (the
served policy does not act on such a vector either). With ``risk_penalty = 0`` the rewards of
an episode sum to ``reward_scale * (final equity - starting cash) / starting_cash``, and
``episode_targets`` replayed through a backtest over the same bars gives the same PnL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium
import numpy as np
from gymnasium import spaces
from jules_backtest.run import build_node
from jules_contracts import Bar, Event, FeatureVector, SignalGenerated
from jules_features.engine import FeatureSchema
from jules_signal.engine import (
    ActionSemantics,
    DiscreteAction,
    TargetWeightAction,
    output_to_target,
)
from jules_signal.engine.strategy import StrategyIdentity, TargetMemory, make_signal
from numpy.typing import NDArray

from jules_trainer.config import DiscreteActions, TrainConfig
from jules_trainer.data import Segment

__all__ = ["ActionStrategy", "TradingEnv"]

Action = np.int64 | NDArray[np.float32]


class ActionStrategy(StrategyIdentity):
    """A ``jules_signal.engine.Strategy`` that emits the target the environment sets.

    Between decisions it is silent; ``decide`` arms it with one target for the next call of
    ``on_features``, which emits a signal when ``TargetMemory`` finds the target news.

    Args:
        strategy_id: Id written into signals.
        features: The features it reads (the model's inputs).
        min_weight_change: As ``OnnxPolicyConfig.min_weight_change``.
    """

    def __init__(
        self, strategy_id: str, features: tuple[str, ...], min_weight_change: float
    ) -> None:
        super().__init__(strategy_id, features)
        self.memory = TargetMemory(min_weight_change)
        self._pending: tuple[float, float] | None = None

    def decide(self, target_weight: float, strength: float) -> None:
        """Arm the strategy with the target of the next ``on_features`` call."""
        self._pending = (target_weight, strength)

    def on_features(self, features: FeatureVector, bar: Bar) -> list[SignalGenerated]:
        """Emit the armed target if it is news (then disarm), else nothing."""
        pending = self._pending
        if pending is None:
            return []
        self._pending = None
        target, strength = pending
        if not self.memory.update(features.instrument_id, target):
            return []
        signal = make_signal(
            features, bar, strategy_id=self._strategy_id, target_weight=target, strength=strength
        )
        return [signal]


def _ignore(_: Event) -> None:
    """The environment keeps no event log."""


class TradingEnv(gymnasium.Env[NDArray[np.float32], Action]):
    """One instrument's bars traded through the embedded node (see the module docstring).

    Args:
        config: The training configuration (features, env, risk, execution, account).
        segments: The bars episodes are drawn from (one instrument each).
        normalisation: ``{feature: (mean, std)}`` covering every feature.
        random_start: Draw each episode's segment and start with the env's seeded generator
            (uniformly over every window of ``episode_bars`` bars); otherwise start at the
            beginning of segment 0 (or ``reset(options={"segment": i, "start": j})``).
        episode_bars: Bars per episode, warm-up included. Default: ``config.env.episode_bars``
            with ``random_start``, else the rest of the segment from the start. A segment
            shorter than that gives a shorter episode.

    Attributes:
        feature_names: The observed features, in observation order.
        normalisation: ``{feature: (mean, std)}`` used to standardise them.
        action_semantics: The model card action matching the action space.
        episode_targets: The target weight of every decision of the episode, in order.
        episode: The bars of the current episode.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium's own attribute)

    def __init__(
        self,
        config: TrainConfig,
        segments: Sequence[Segment],
        normalisation: Mapping[str, tuple[float, float]],
        *,
        random_start: bool = True,
        episode_bars: int | None = None,
    ) -> None:
        if not segments:
            raise ValueError("the environment needs at least one segment of bars")
        missing = [name for name in config.features if name not in normalisation]
        if missing:
            raise ValueError(f"normalisation lacks features {missing}")
        if episode_bars is not None and episode_bars < 3:
            raise ValueError(f"episode_bars must be at least 3, got {episode_bars}")
        self.config = config
        self.segments = tuple(segments)
        self.feature_names: tuple[str, ...] = config.features
        self.normalisation: dict[str, tuple[float, float]] = {
            name: (float(normalisation[name][0]), float(normalisation[name][1]))
            for name in config.features
        }
        if any(not std > 0 for _, std in self.normalisation.values()):
            raise ValueError(f"normalisation std must be positive: {self.normalisation}")
        self.random_start = random_start
        self.episode_bars = (
            episode_bars
            if episode_bars is not None
            else (config.env.episode_bars if random_start else None)
        )
        self._mean = np.array([self.normalisation[n][0] for n in self.feature_names])
        self._std = np.array([self.normalisation[n][1] for n in self.feature_names])
        self._clip = config.env.observation_clip
        self._starting_cash = config.account.starting_cash
        self._scale = config.env.reward_scale
        self._penalty = config.env.risk_penalty
        self._dead_band = config.env.dead_band
        self._schema = FeatureSchema.from_names(config.features)
        self._backtest = config.backtest_config(model=Path(f"{config.name}.onnx"))

        width = len(self.feature_names)
        low = np.full(width + 1, -self._clip, dtype=np.float32)
        high = np.full(width + 1, self._clip, dtype=np.float32)
        low[-1], high[-1] = -1.0, 1.0
        self.observation_space = spaces.Box(low=low, high=high, dtype=np.float32)

        action = config.env.action
        self.action_semantics: ActionSemantics
        self._discrete: tuple[tuple[float, float], ...] = ()
        if isinstance(action, DiscreteActions):
            self.action_semantics = DiscreteAction(target_weights=action.target_weights)
            self.action_space = spaces.Discrete(len(action.target_weights))
            self._discrete = tuple(
                output_to_target(self.action_semantics, scores, self._dead_band)
                for scores in np.eye(len(action.target_weights))
            )
        else:
            self.action_semantics = TargetWeightAction()
            self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self._output = np.zeros(1)

        self.episode_targets: list[float] = []
        self.episode: Segment | None = None
        self._raw = np.empty(width)
        self._scaled = np.empty(width)
        self._bars: tuple[Bar, ...] = ()
        self._index = 0
        self._market: tuple[list[Event], list[FeatureVector]] = ([], [])
        self._defined = False
        self._equity = self._starting_cash
        self._done = True
        self._strategy = ActionStrategy(config.name, config.features, config.env.min_weight_change)
        self._node = build_node(self._backtest, self._strategy, self._schema, _ignore)

    # -- episode ---------------------------------------------------------------------------

    def _choose_window(self, options: Mapping[str, Any] | None) -> tuple[int, int]:
        options = options or {}
        if "segment" in options or "start" in options or not self.random_start:
            segment = int(options.get("segment", 0))
            start = int(options.get("start", 0))
            if not 0 <= segment < len(self.segments):
                raise ValueError(f"segment {segment} out of range 0..{len(self.segments) - 1}")
            if not 0 <= start < len(self.segments[segment].bars):
                raise ValueError(f"start {start} out of range for segment {segment}")
            return segment, start
        length = self.episode_bars or 0
        starts = np.array([max(len(s.bars) - length + 1, 1) for s in self.segments])
        flat = int(self.np_random.integers(int(starts.sum())))
        segment = int(np.searchsorted(np.cumsum(starts), flat, side="right"))
        return segment, flat - int(starts[:segment].sum())

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Start an episode: a window of one segment, run up to the end of the warm-up.

        Args:
            seed: Seeds the generator of random starts.
            options: ``{"segment": i, "start": j}`` to choose the window's first bar.

        Returns:
            The first observation and its info.

        Raises:
            ValueError: The options are out of range, or the window is too short for the
                features' warm-up plus one decision.
        """
        super().reset(seed=seed)
        index, start = self._choose_window(options)
        segment = self.segments[index]
        end = len(segment.bars) if self.episode_bars is None else start + self.episode_bars
        self._bars = segment.bars[start:end]
        self.episode = Segment(segment.instrument_id, self._bars)
        self.episode_targets = []
        self._strategy = ActionStrategy(
            self.config.name, self.config.features, self.config.env.min_weight_change
        )
        self._node = build_node(self._backtest, self._strategy, self._schema, _ignore)
        self._done = False
        for position, bar in enumerate(self._bars[:-1]):
            self._index = position
            self._market = self._node.market([bar])
            if self._observe():
                break
            self._node.decide([bar], *self._market)
        else:
            self._done = True
            raise ValueError(
                f"episode of {len(self._bars)} bars of {segment.instrument_id} (segment "
                f"{index}, start {start}) is too short: every feature must be defined before "
                f"its last bar"
            )
        self._equity = self._snapshot_equity()
        return self._observation(), self._info()

    def step(
        self, action: Action
    ) -> tuple[NDArray[np.float32], SupportsFloat, bool, bool, dict[str, Any]]:
        """Decide on the current bar with ``action``, then move to the next bar.

        Returns:
            Observation, reward, terminated (the episode's last bar was reached and positions
            were closed), truncated (always false) and info.

        Raises:
            RuntimeError: The episode is over (call ``reset``).
            ValueError: The action is not finite or out of the action space.
        """
        if self._done:
            raise RuntimeError("the episode is over: call reset()")
        node = self._node
        bars = self._bars
        bar = bars[self._index]
        if self._defined:
            target, strength = self._target(action)
            self._strategy.decide(target, strength)
            self.episode_targets.append(target)
        node.decide([bar], *self._market)
        self._index += 1
        following = bars[self._index]
        self._market = node.market([following])
        self._observe()
        terminated = self._index == len(bars) - 1
        if terminated:
            node.decide([following], *self._market)
            node.finish(close_at_end=True)
            self._done = True
        equity = self._snapshot_equity()
        reward = (equity - self._equity) / self._starting_cash
        self._equity = equity
        if self._penalty:
            weight = self._position()
            reward -= self._penalty * abs(weight) * abs(following.close / bar.close - 1.0)
        return self._observation(), self._scale * reward, terminated, False, self._info()

    # -- helpers ---------------------------------------------------------------------------

    def _target(self, action: Action) -> tuple[float, float]:
        if self._discrete:
            choice = int(action)
            if not 0 <= choice < len(self._discrete):
                raise ValueError(f"action {choice} out of range 0..{len(self._discrete) - 1}")
            return self._discrete[choice]
        value = float(np.asarray(action, dtype=np.float64).reshape(-1)[0])
        if not np.isfinite(value):
            raise ValueError(f"action {value} is not finite")
        self._output[0] = value
        return output_to_target(self.action_semantics, self._output, self._dead_band)

    def _observe(self) -> bool:
        """Read the current feature vector into the raw buffer; say whether all are defined."""
        values = self._market[1][0].features
        raw = self._raw
        defined = True
        for column, name in enumerate(self.feature_names):
            value = values[name]
            if value is None:
                raw[column] = self._mean[column]  # standardises to 0.0
                defined = False
            else:
                raw[column] = value
        self._defined = defined
        return defined

    def _observation(self) -> NDArray[np.float32]:
        scaled = self._scaled
        np.subtract(self._raw, self._mean, out=scaled)
        np.divide(scaled, self._std, out=scaled)
        np.minimum(scaled, self._clip, out=scaled)
        np.maximum(scaled, -self._clip, out=scaled)
        observation = np.empty(len(scaled) + 1, dtype=np.float32)
        observation[:-1] = scaled
        observation[-1] = self._position()
        return observation

    def _position(self) -> float:
        instrument = self._bars[0].instrument_id
        return self._strategy.memory.last(instrument) or 0.0

    def _snapshot_equity(self) -> float:
        snapshot = self._node.last_snapshot
        return self._starting_cash if snapshot is None else snapshot.equity

    def _info(self) -> dict[str, Any]:
        bar = self._bars[self._index]
        equity = self._equity
        return {
            "equity": equity,
            "pnl": equity - self._starting_cash,
            "target_weight": self._position(),
            "instrument_id": bar.instrument_id,
            "event_time": bar.event_time,
        }
