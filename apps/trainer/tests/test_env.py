"""The trading environment: gymnasium's checks, and trading exactly as a backtest does."""

from __future__ import annotations

import itertools
import warnings
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env
from jules_backtest.data import DataQuality, load_bars
from jules_backtest.run import build_node, build_strategy_and_schema
from jules_contracts import Bar, FeatureVector, SignalGenerated
from jules_features.engine import FeatureSchema
from jules_signal.engine import MODEL_CARD_KEY, DiscreteAction, ModelCard, TargetWeightAction
from jules_signal.engine.strategy import TargetMemory, make_signal
from jules_trainer.config import TrainConfig
from jules_trainer.data import Segment, Window, compute_normalisation, load_dataset
from jules_trainer.env import TradingEnv
from jules_trainer.train.common import evaluate
from onnx import TensorProto, helper, numpy_helper

from .env_helpers import FEATURES, btc_perp_head, train_config

DISCRETE = {"kind": "discrete", "target_weights": [-1.0, -0.5, 0.0, 0.5, 1.0]}
CONTINUOUS = {"kind": "continuous"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    btc_perp_head(folder, 1500)
    return Path(folder)


def make_config(data_dir: Path, **env: object) -> TrainConfig:
    return train_config(data_dir, path="btc-perp-head.csv", env=env)


@pytest.fixture(scope="module")
def segments(data_dir) -> list[Segment]:
    dataset = load_dataset(make_config(data_dir))
    return [Segment(key, bars) for key, bars in dataset.bars.items()]


@pytest.fixture(scope="module")
def normalisation(data_dir, segments):
    return compute_normalisation(make_config(data_dir), segments)


def run_episode(env: TradingEnv, seed: int, **options: int):
    """Seeded random actions until the end; observations, rewards and the last info."""
    observation, info = env.reset(seed=seed, options=options or None)
    env.action_space.seed(seed)
    observations, rewards = [observation], []
    terminated = False
    while not terminated:
        observation, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert not truncated
        observations.append(observation)
        rewards.append(float(reward))
    return np.array(observations), np.array(rewards), info


class Replay:
    """Replays target weights, one per fully defined feature vector, through the signal path."""

    strategy_id = "replay"
    required_features = FEATURES

    def __init__(self, targets: list[float], min_weight_change: float) -> None:
        self._targets = iter(targets)
        self._memory = TargetMemory(min_weight_change)

    def on_features(self, features: FeatureVector, bar: Bar) -> list[SignalGenerated]:
        if any(value is None for value in features.features.values()):
            return []
        target = next(self._targets, None)
        if target is None or not self._memory.update(features.instrument_id, target):
            return []
        return [make_signal(features, bar, strategy_id=self.strategy_id, target_weight=target)]


def window_bars(config: TrainConfig, episode: Segment, tmp_path: Path) -> list[Bar]:
    """The episode's bars, loaded again by a backtest over the episode's time window."""
    start, end = Window(episode.bars[0].event_time, episode.bars[-1].event_time + 1).iso()
    backtest = config.backtest_config(model=tmp_path / "unused.onnx", start=start, end=end)
    return list(load_bars(backtest, DataQuality()))


@pytest.mark.parametrize("action", [DISCRETE, CONTINUOUS])
def test_env_passes_gymnasium_checks(data_dir, segments, normalisation, action):
    env = TradingEnv(make_config(data_dir, action=action), segments, normalisation)

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*render modes.*")  # no rendering here
        check_env(env, skip_render_check=True)


def test_spaces_and_action_semantics(data_dir, segments, normalisation):
    discrete = TradingEnv(make_config(data_dir, action=DISCRETE), segments, normalisation)
    continuous = TradingEnv(make_config(data_dir, action=CONTINUOUS), segments, normalisation)

    assert discrete.observation_space.shape == (len(FEATURES) + 1,)
    assert isinstance(discrete.action_space, spaces.Discrete)
    assert discrete.action_space.n == 5
    assert discrete.action_semantics == DiscreteAction(target_weights=(-1, -0.5, 0, 0.5, 1.0))
    assert continuous.action_space.shape == (1,)
    assert continuous.action_semantics == TargetWeightAction()
    assert discrete.feature_names == FEATURES
    assert discrete.normalisation == normalisation


@pytest.mark.parametrize(
    ("action", "scale"), [(DISCRETE, 1.0), (CONTINUOUS, 100.0)], ids=["discrete", "continuous"]
)
def test_episode_pnl_equals_a_backtest_of_the_same_actions(
    data_dir, segments, normalisation, tmp_path, action, scale
):
    config = make_config(data_dir, action=action, reward_scale=scale, min_weight_change=0.3)
    env = TradingEnv(config, segments, normalisation, random_start=False, episode_bars=400)

    _, rewards, info = run_episode(env, seed=11, start=200)

    episode = env.episode
    assert episode is not None
    assert len(episode.bars) == 400
    assert len(env.episode_targets) > 100
    assert len(set(env.episode_targets)) > 2
    bars = window_bars(config, episode, tmp_path)
    assert bars == list(episode.bars)
    replay = Replay(env.episode_targets, config.env.min_weight_change)
    backtest = config.backtest_config(model=tmp_path / "unused.onnx")
    node = build_node(backtest, replay, FeatureSchema.from_names(FEATURES), lambda _: None)
    final = node.run(bars, close_at_end=True)
    assert final is not None
    assert next(replay._targets, None) is None  # every decision was replayed
    pnl = final.equity - config.account.starting_cash
    assert info["equity"] == final.equity
    assert info["pnl"] == pnl
    assert pnl != 0
    assert final.fees_paid > 0
    assert all(position.quantity == 0 for position in final.positions)
    assert rewards.sum() == pytest.approx(scale * pnl / config.account.starting_cash, abs=1e-9)


def onnx_policy(path: Path, normalisation, weights: list[float]) -> Path:
    """A linear target-weight policy reading its position: ``tanh([z, position] @ W)``."""
    card = ModelCard.model_validate(
        {
            "model_name": "linear-test",
            "model_version": "1",
            "feature_names": list(FEATURES),
            "feature_schema_id": FeatureSchema.from_names(FEATURES).schema_id,
            "normalisation": {n: {"mean": m, "std": s} for n, (m, s) in normalisation.items()},
            "action": {"kind": "target_weight"},
            "training_data_hash": "0" * 64,
            "code_version": "test",
            "metrics": {"test": 0.0},
            "created_at": "2026-01-01T00:00:00Z",
            "position_input": True,
        }
    )
    matrix = np.asarray(weights, dtype=np.float32).reshape(-1, 1)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Tanh", ["h"], ["y"])],
        "policy",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", len(weights)])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])],
        [numpy_helper.from_array(matrix, name="W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    helper.set_model_props(model, {MODEL_CARD_KEY: card.model_dump_json()})
    path.write_bytes(model.SerializeToString())
    return path


def test_an_agent_reading_observations_trades_like_the_served_policy(
    data_dir, segments, normalisation, tmp_path
):
    import onnxruntime as ort

    config = make_config(data_dir, action=CONTINUOUS, observation_clip=1e6)
    weights = [2.0, -1.0, 0.5, 0.0, 0.0, 1.0, 0.8]
    model = onnx_policy(tmp_path / "policy.onnx", normalisation, weights)
    session = ort.InferenceSession(model.read_bytes())
    env = TradingEnv(config, segments, normalisation, random_start=False, episode_bars=500)

    observation, info = env.reset(options={"start": 100})
    terminated = False
    while not terminated:
        (output,) = session.run(None, {"x": observation.reshape(1, -1)})
        observation, _, terminated, _, info = env.step(output.reshape(1))

    episode = env.episode
    assert episode is not None
    backtest = config.backtest_config(model=model)
    policy, schema = build_strategy_and_schema(backtest)
    node = build_node(backtest, policy, schema, lambda _: None)
    final = node.run(window_bars(config, episode, tmp_path), close_at_end=True)
    assert final is not None
    assert final.fees_paid > 0
    assert info["equity"] == final.equity


def test_risk_penalty_lowers_the_reward_as_documented(data_dir, segments, normalisation):
    plain = TradingEnv(make_config(data_dir), segments, normalisation, random_start=False)
    config = make_config(data_dir, risk_penalty=0.5, reward_scale=10.0)
    penalised = TradingEnv(config, segments, normalisation, random_start=False)

    _, base, _ = run_episode(plain, seed=3, start=0)
    observations, rewards, _ = run_episode(penalised, seed=3, start=0)

    episode = penalised.episode
    assert episode is not None
    closes = np.array([bar.close for bar in episode.bars])
    first = len(closes) - len(rewards) - 1  # the bar of the first decision (after warm-up)
    returns = np.abs(closes[first + 1 :] / closes[first:-1] - 1.0)
    weights = np.abs(observations[1:, -1])  # the target weight held after each decision
    expected = 10.0 * base - 10.0 * 0.5 * weights * returns
    assert rewards == pytest.approx(expected, abs=1e-12)
    assert (rewards <= 10.0 * base + 1e-15).all()
    assert (rewards < 10.0 * base).sum() > 100


def test_same_seed_same_episode(data_dir, segments, normalisation):
    config = make_config(data_dir, action=CONTINUOUS, episode_bars=300)
    one = TradingEnv(config, segments, normalisation)
    two = TradingEnv(config, segments, normalisation)

    observations_1, rewards_1, info_1 = run_episode(one, seed=5)
    observations_2, rewards_2, info_2 = run_episode(two, seed=5)
    observations_3, _, _ = run_episode(two, seed=6)

    assert np.array_equal(observations_1, observations_2)
    assert np.array_equal(rewards_1, rewards_2)
    assert info_1 == info_2
    assert observations_1.shape == observations_3.shape
    assert not np.array_equal(observations_1, observations_3)


def test_random_starts_stay_inside_the_segment(data_dir, segments, normalisation):
    config = make_config(data_dir, episode_bars=200)
    env = TradingEnv(config, segments, normalisation)
    bars = segments[0].bars

    starts = set()
    for seed in range(8):
        env.reset(seed=seed)
        episode = env.episode
        assert episode is not None
        assert len(episode.bars) == 200
        start = bars.index(episode.bars[0])
        assert bars[start : start + 200] == episode.bars
        starts.add(start)
    assert len(starts) == 8


def test_observation_is_standardised_features_and_position(data_dir, segments, normalisation):
    config = make_config(data_dir, action=DISCRETE, observation_clip=2.0)
    env = TradingEnv(config, segments, normalisation, random_start=False, episode_bars=100)

    observation, info = env.reset()

    assert observation.dtype == np.float32
    assert observation[-1] == 0.0  # no target before the first decision
    assert np.abs(observation[:-1]).max() <= 2.0
    observation, _, _, _, info = env.step(np.int64(4))  # long
    assert observation[-1] == 1.0
    assert info["target_weight"] == 1.0
    assert env.episode_targets == [1.0]
    observation, _, _, _, info = env.step(np.int64(4))
    assert env.episode_targets == [1.0, 1.0]
    assert info["equity"] != config.account.starting_cash  # long since the bar's open


def test_too_short_an_episode_is_refused(data_dir, segments, normalisation):
    env = TradingEnv(make_config(data_dir), segments, normalisation, episode_bars=20)

    with pytest.raises(ValueError, match="too short"):
        env.reset(seed=0)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.int64(0))


def test_evaluation_counts_target_changes(data_dir, segments, normalisation):
    config = make_config(data_dir, action=DISCRETE)
    env = TradingEnv(config, segments, normalisation, random_start=False)
    long, short, flat = np.int64(4), np.int64(0), np.int64(2)
    decisions = itertools.cycle([long, short])

    flipping = evaluate(env, lambda _: next(decisions))

    targets = [0.0, *env.episode_targets]
    assert len(targets) > 1000  # the whole segment, one episode
    assert flipping["episodes"] == 1
    assert flipping["target_changes"] == sum(a != b for a, b in pairwise(targets))
    assert flipping["target_changes"] == len(env.episode_targets)
    assert evaluate(env, lambda _: long)["target_changes"] == 1
    idle = evaluate(env, lambda _: flat)
    assert idle["target_changes"] == 0
    assert idle["mean_episode_pnl"] == 0.0
    assert idle["max_drawdown"] == 0.0
    assert idle["sharpe"] == 0.0
