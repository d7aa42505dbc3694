"""Benchmark: what a strategy costs per bar: the built-in ema_cross and a user's own.

On the FTX BTC-PERP file of ``bench/ftx_ema.py`` (45,031 one-minute bars), the feature vectors
(EMA 9 and 21) computed once, then the same EMA 9/21 crossover decided on every bar by:

1. the built-in rule strategy by its kind (``kind: ema_cross``), an SDK strategy
   (``jules_signal.engine.rules.EmaCross``) run by ``PythonStrategy``;
2. the same class by its entry point (``kind: python, entry_point: ema_cross``);
3. the rule as a user writes it by hand with ``jules_signal.sdk`` (``kind: python, path:``);
4. that user's strategy with a timer every hour (timers checked on every bar).

Printed: µs per bar (the ``on_features`` call; median of ``--repeat``) and the signals, which
must be the same for all four (1 and 2 identical, event ids included, given the same
``strategy_id``). And the whole embedded run (``run_backtest``) with 1 and 3, best of 2 run
alternately. Usage::

    .venv/bin/python bench/strategy_costs.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from jules_backtest.config import BacktestConfig
from jules_backtest.run import build_strategy_and_schema, run_backtest
from jules_contracts import Bar, FeatureVector, SignalGenerated
from jules_features.engine import FeatureEngine
from jules_market_data.loaders import load
from jules_signal.engine import PythonStrategy, Strategy
from jules_signal.sdk import Features, Params
from jules_signal.sdk import Strategy as UserStrategy
from machine import describe  # bench/machine.py (scripts run from bench/)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BARS = DATA / "nautilus_trader/tests/test_data/btc-perp-20211231-20220201_1m.csv"


class HandWrittenEmaCross(UserStrategy[Params]):
    """EMA 9/21 crossover, long/short: the rule strategy's logic as a user writes it."""

    previous: dict[str, tuple[float | None, float | None]]

    def features(self) -> list[str]:
        return ["ema_9", "ema_21"]

    def on_start(self) -> None:
        self.previous = {}

    def on_bar(self, bar: Bar, features: Features) -> None:
        fast, slow = features["ema_9"], features["ema_21"]
        last_fast, last_slow = self.previous.get(bar.instrument_id, (None, None))
        self.previous[bar.instrument_id] = (fast, slow)
        if fast is None or slow is None or last_fast is None or last_slow is None:
            return
        if last_fast < last_slow and fast > slow:
            self.target(bar.instrument_id, 1.0)
        elif last_fast > last_slow and fast < slow:
            self.target(bar.instrument_id, -1.0)


class EmaCrossWithTimer(HandWrittenEmaCross):
    """The same, with an hourly timer that does nothing."""

    def on_start(self) -> None:
        super().on_start()
        self.every("hourly", timedelta(hours=1))


def config(strategy: dict[str, object], output_dir: Path) -> BacktestConfig:
    return BacktestConfig.model_validate(
        {
            "name": "strategy-costs",
            "data": [{"path": str(BARS), "instrument_id": "BTC-PERP.FTX", "assume_utc": True}],
            "strategy": strategy,
            "risk": {"sizing": {"kind": "all_equity"}},
            "execution": {"fill_model": {"kind": "next_bar_open"}},
            "audit": {"level": "off"},
            "monte_carlo": {"samples": 0},
            "output_dir": str(output_dir),
        }
    )


RULE: dict[str, object] = {"kind": "ema_cross", "fast": 9, "slow": 21, "mode": "long_short"}
ENTRY_POINT: dict[str, object] = {
    "kind": "python",
    "entry_point": "ema_cross",
    "params": {"fast": 9, "slow": 21, "mode": "long_short"},
    "strategy_id": "ema_cross_9_21",  # the kind's default id, so that the signals are identical
}
USER: dict[str, object] = {"kind": "python", "path": f"{__file__}:HandWrittenEmaCross"}


def per_bar(
    make: Callable[[], Strategy], pairs: list[tuple[FeatureVector, Bar]], repeat: int
) -> tuple[float, list[SignalGenerated]]:
    """Median µs per ``on_features`` call of a fresh strategy over every pair, and its signals."""
    times: list[float] = []
    signals: list[SignalGenerated] = []
    for _ in range(repeat):
        strategy = make()
        started = time.process_time()
        signals = [s for vector, bar in pairs for s in strategy.on_features(vector, bar)]
        times.append((time.process_time() - started) / len(pairs) * 1e6)
    return statistics.median(times), signals


def _moves(signals: list[SignalGenerated]) -> list[tuple[int, float]]:
    """What a strategy decided, whatever its id: the time and target of each signal."""
    return [(signal.event_time, signal.target_weight) for signal in signals]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    with tempfile.TemporaryDirectory() as folder:
        rule_config = config(RULE, Path(folder) / "rule")
        entry_point_config = config(ENTRY_POINT, Path(folder) / "entry_point")
        user_config = config(USER, Path(folder) / "user")
        _, schema = build_strategy_and_schema(rule_config)
        engine = FeatureEngine(schema)
        loaded = load(BARS, instrument_id="BTC-PERP.FTX", assume_utc=True)
        bars = [bar for bar in loaded if isinstance(bar, Bar)]
        pairs = [(engine.on_bar(bar), bar) for bar in bars]
        cases: dict[str, Callable[[], Strategy]] = {
            "built-in, kind: ema_cross": lambda: build_strategy_and_schema(rule_config)[0],
            "built-in, by entry point": lambda: build_strategy_and_schema(entry_point_config)[0],
            "a user's, hand-written": lambda: build_strategy_and_schema(user_config)[0],
            "a user's, hourly timer": lambda: PythonStrategy(
                EmaCrossWithTimer(Params()), "ema_cross_timer"
            ),
        }
        print(f"{len(pairs):,} bars, EMA 9/21 crossover, on_features per bar (CPU, median):")
        found = []
        for name, make in cases.items():
            micros, signals = per_bar(make, pairs, args.repeat)
            found.append(signals)
            print(f"  {name:<28} {micros:6.2f} µs/bar  {len(signals):,} signals")
        by_kind, by_entry_point = ([s.model_dump() for s in f] for f in found[:2])
        print(f"  identical signals, kind and entry point: {by_kind == by_entry_point}")
        print(f"  same decisions, all four: {all(_moves(f) == _moves(found[0]) for f in found)}")
        runs = {"built-in": rule_config, "hand-written": user_config}
        best = dict.fromkeys(runs, float("inf"))
        trades = dict.fromkeys(runs, 0)
        for _ in range(2):  # alternately, so that neither pays the first run's warm-up alone
            for name, run_config in runs.items():
                started = time.perf_counter()
                summary = run_backtest(run_config)
                best[name] = min(best[name], time.perf_counter() - started)
                trades[name] = int(summary.metrics["trade_count"])
        for name, seconds in best.items():
            print(
                f"  whole embedded run, {name}: {seconds:.2f} s "
                f"({len(pairs) / seconds:,.0f} bars/s), {trades[name]:,} trades (best of 2)"
            )


if __name__ == "__main__":
    main()
