"""A user's strategy runs unchanged in the three modes and gives the same signals.

The strategy is a user's file (written by the test, loaded by path, with a timer and a
parameter), and the example spread strategy (loaded by its entry point, two instruments):

* embedded: ``run_backtest``;
* topic replay: ``jules backtest --mode kafka``, every service its own process, the same run
  folder byte for byte (the audit log holds every signal); also for the RSI bracket example,
  whose ``on_fill`` makes the signal service wait for the venue's fills of each step, and
  the limit-dip example, which answers with orders;
* live: the features and signal services as processes on recorded bars, the signals on
  ``signals.v1`` equal to the strategy's run in process on the same bars.

A user's strategy that raises is quarantined in the live service: a ``STRATEGY_QUARANTINED``
alert, no more signals, the service healthy.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jules.backtest_kafka import KafkaRunOptions, run_backtest_kafka
from jules_backtest.config import BacktestConfig, load_config
from jules_backtest.run import build_strategy_and_schema, run_backtest
from jules_contracts import (
    AlertCode,
    Bar,
    OrderFilled,
    OrderSide,
    RiskAlert,
    SignalGenerated,
    backtest_scope,
    decode_event,
    derive_event_id,
)
from jules_contracts.ids import client_order_id
from jules_contracts.topics import ORDERS_EVENTS, RISK_ALERTS, SIGNALS
from jules_features.engine import FeatureEngine
from jules_runtime.bus import KafkaBus
from jules_runtime.settings import KafkaSettings
from jules_signal.engine import PythonStrategy

from .bus_helpers import create_scoped_topics, new_scope, read_topic
from .kafka_helpers import KafkaEndpoint
from .service_process import http_status, start_service
from .test_signal_service import real_bars, wait_for_metric
from .test_topic_replay_parity import DATA_DIR, REPO_ROOT, assert_same_run

pytestmark = pytest.mark.integration

USER_STRATEGY = '''
from datetime import timedelta

from jules_signal.sdk import Field, Params, Strategy


class MomentumParams(Params):
    lookback: int = Field(default=15, ge=2)
    fail_after: int = Field(default=0, ge=0, description="Raise on this bar (0: never).")


class Momentum(Strategy[MomentumParams]):
    """Long while the close is above the close ``lookback`` bars ago, short below; flat for
    the minute after each hourly timer (to use a timer)."""

    def on_start(self):
        self.closes, self.pause_until, self.bars = [], 0, 0
        self.every("hourly", timedelta(hours=1))

    def on_timer(self, timer):
        self.pause_until = timer.time + 60_000_000_000

    def features(self):
        return ["sma_5"]

    def on_bar(self, bar, features):
        self.bars += 1
        if self.bars == self.params.fail_after:
            raise RuntimeError("a bug in the user's code")
        self.closes.append(bar.close)
        if len(self.closes) <= self.params.lookback or features["sma_5"] is None:
            return
        past = self.closes[-1 - self.params.lookback]
        weight = 0.0 if self.time <= self.pause_until else (1.0 if bar.close > past else -1.0)
        self.target(bar.instrument_id, weight)
'''


CROSSED_STRATEGY = '''
from jules_signal.sdk import Params, Strategy


class Crossed(Strategy[Params]):
    """Sets the other instrument's target on each bar: the signals of a step are not made in
    instrument order."""

    def on_bar(self, bar, features):
        other = "BTCUSD.COINBASE" if bar.instrument_id == "ETHUSD.COINBASE" else "ETHUSD.COINBASE"
        if self.last_bar(other) is not None and (self.time // 60_000_000_000) % 7 == 0:
            self.target(other, 0.5 if self.position(other) <= 0 else -0.5)  # both, each minute
'''


def user_file(folder: Path) -> Path:
    path = folder / "momentum.py"
    path.write_text(USER_STRATEGY)
    return path


def example_config(output_dir: Path, name: str = "pair_spread") -> BacktestConfig:
    """An example strategy's config (the spread by default), first day only."""
    return load_config(
        REPO_ROOT / "examples" / "strategies" / f"{name}.yaml",
        data_dir=DATA_DIR,
        output_dir=output_dir,
        end=datetime(2018, 4, 5, tzinfo=UTC),
    )


def momentum_config(output_dir: Path, strategy_file: Path) -> BacktestConfig:
    config = example_config(output_dir).model_dump(mode="json")
    config["strategy"] = {
        "kind": "python",
        "path": f"{strategy_file}:Momentum",
        "params": {"lookback": 15},
    }
    config["name"] = "momentum"
    return BacktestConfig.model_validate(config)


@pytest.mark.parametrize("which", ["file", "entry_point", "crossed", "fills", "orders"])
def test_a_users_strategy_replayed_through_kafka_equals_the_embedded_run(
    which: str, kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    def config(folder: Path) -> BacktestConfig:
        if which == "file":
            return momentum_config(folder, user_file(tmp_path))
        if which == "crossed":
            (tmp_path / "crossed.py").write_text(CROSSED_STRATEGY)
            crossed = example_config(folder).model_dump(mode="json")
            crossed["strategy"] = {"kind": "python", "path": f"{tmp_path / 'crossed.py'}:Crossed"}
            return BacktestConfig.model_validate(crossed)
        if which == "fills":
            return example_config(folder, "rsi_bracket")  # exits priced from its fills
        if which == "orders":
            return example_config(folder, "limit_dip")  # limit orders, not targets
        return example_config(folder)

    embedded = run_backtest(config(tmp_path / "embedded"))
    audited = "".join(p.read_text() for p in sorted((embedded.run_dir / "audit").glob("*.jsonl")))
    assert audited.count('"signal.generated"') >= 20  # the strategy decided, many times
    scope = backtest_scope(f"user-{which.replace('_', '-')}-{time.time_ns()}")
    options = KafkaRunOptions(bootstrap=kafka.bootstrap, scope=scope, partitions=2)
    replayed = run_backtest_kafka(config(tmp_path / "kafka"), options)
    assert_same_run(embedded, replayed)


async def test_a_users_strategy_live_gives_the_signals_of_its_run_in_process(
    kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    path = user_file(tmp_path)
    config = momentum_config(tmp_path / "unused", path)
    strategy, schema = build_strategy_and_schema(config)
    bars = real_bars(300)
    engine = FeatureEngine(schema)
    expected = [s for bar in bars for s in strategy.on_features(engine.on_bar(bar), bar)]
    assert len(expected) >= 5

    signals, alerts, healthy = await _live(kafka, tmp_path, config, path, bars, len(expected))
    assert signals == expected
    assert alerts == []
    assert healthy


async def test_a_users_strategy_that_raises_live_is_quarantined_and_the_service_goes_on(
    kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    path = user_file(tmp_path)
    config = momentum_config(tmp_path / "unused", path)
    failing = config.model_dump(mode="json")
    failing["strategy"]["params"]["fail_after"] = 150
    config = BacktestConfig.model_validate(failing)
    strategy, schema = build_strategy_and_schema(config)
    bars = real_bars(300)
    engine = FeatureEngine(schema)
    expected: list[SignalGenerated] = []
    for bar in bars[:149]:
        expected += strategy.on_features(engine.on_bar(bar), bar)

    signals, alerts, healthy = await _live(kafka, tmp_path, config, path, bars, len(expected), 1)
    assert signals == expected  # what it decided before the bug, and nothing after
    [alert] = alerts
    assert alert.code == AlertCode.STRATEGY_QUARANTINED
    assert "a bug in the user's code" in alert.message
    assert healthy


FILL_STRATEGY = '''
from jules_signal.sdk import Params, Strategy


class Halving(Strategy[Params]):
    """Long on its first bar; halves its target on each fill of its own, flat on another's."""

    def features(self):
        return ["sma_5"]

    def on_bar(self, bar, features):
        if self.position(bar.instrument_id) == 0 and self.last_price(bar.instrument_id):
            self.target(bar.instrument_id, 1.0)

    def on_fill(self, fill):
        held = self.position(fill.instrument_id)
        self.target(fill.instrument_id, held / 2 if self.is_mine(fill) else 0.0)
'''


async def test_a_users_fill_hook_live_runs_on_the_routers_fills(
    kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    path = tmp_path / "halving.py"
    path.write_text(FILL_STRATEGY)
    raw = momentum_config(tmp_path / "unused", path).model_dump(mode="json")
    raw["strategy"] = {"kind": "python", "path": f"{path}:Halving"}
    config = BacktestConfig.model_validate(raw)
    strategy, schema = build_strategy_and_schema(config)
    assert isinstance(strategy, PythonStrategy)
    assert strategy.asks_fills
    bars = real_bars(60)
    engine = FeatureEngine(schema)
    expected = [s for bar in bars for s in strategy.on_features(engine.on_bar(bar), bar)]
    [entry] = expected
    later = bars[-1].event_time + 60_000_000_000
    fills = [
        _fill(later, client_order_id("halving", entry.event_id), OrderSide.BUY),
        _fill(later + 1, "stop-exit", OrderSide.SELL),  # an order risk made: not its own
    ]
    expected += [s for fill in fills for s in strategy.on_fill(fill)]
    assert [s.target_weight for s in expected] == [1.0, 0.5, 0.0]

    signals, alerts, healthy = await _live(
        kafka, tmp_path, config, path, bars, len(expected), fills=fills
    )
    assert signals == expected
    assert alerts == []
    assert healthy


def _fill(time_ns: int, order_id: str, side: OrderSide) -> OrderFilled:
    return OrderFilled(
        event_id=derive_event_id("live-fill", order_id, time_ns),
        source="order-router",
        event_time=time_ns,
        client_order_id=order_id,
        instrument_id="BTCUSD.COINBASE",
        side=side,
        fill_id=f"fill-{time_ns}",
        last_quantity=1.0,
        last_price=7000.0,
        cumulative_quantity=1.0,
        leaves_quantity=0.0,
        average_price=7000.0,
    )


async def _live(
    kafka: KafkaEndpoint,
    tmp_path: Path,
    config: BacktestConfig,
    path: Path,
    bars: list[Bar],
    signal_count: int,
    alert_count: int = 0,
    fills: Sequence[OrderFilled] = (),
) -> tuple[list[SignalGenerated], list[RiskAlert], bool]:
    """Run features and signal live on ``bars`` (then ``fills``, once every bar is decided);
    the signals and alerts they published."""
    _, schema = build_strategy_and_schema(config)
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    names = json.dumps(list(schema.names))
    strategy = config.strategy.model_dump(mode="json")
    features = start_service("features", kafka.bootstrap, scope, tmp_path, FEATURES=names)
    signal = start_service(
        "signal",
        kafka.bootstrap,
        scope,
        tmp_path,
        FEATURES=names,
        FEATURE_SCHEMA_ID=schema.schema_id,
        STRATEGY=json.dumps(strategy),
    )
    try:
        features.wait_ready()
        signal.wait_ready()
        async with KafkaBus("test-feed", settings, scope) as feed:
            await feed.publish(*bars)
        await wait_for_metric(
            signal, "jules_signal_events_in_total", len(bars), topic=f"{scope}.features.v1"
        )
        if fills:
            async with KafkaBus("test-router", settings, scope) as router:
                await router.publish(*fills)
            await wait_for_metric(
                signal,
                "jules_signal_events_in_total",
                len(fills),
                topic=ORDERS_EVENTS.scoped(scope),
            )
        records = await read_topic(kafka.bootstrap, SIGNALS.scoped(scope), signal_count)
        alerts = await read_topic(kafka.bootstrap, RISK_ALERTS.scoped(scope), alert_count)
        healthy = http_status(signal.base_url + "/health") == 204
    finally:
        assert signal.terminate() == 0, signal.log.read_text()[-2000:]
        assert features.terminate() == 0
    assert str(path) in strategy["path"]
    return (
        [decode_event(r.value) for r in records],  # type: ignore[misc]
        [decode_event(r.value) for r in alerts],  # type: ignore[misc]
        healthy,
    )
