"""Benchmark: what a user's strategy costs per bar, beside the built-in rule strategy.

On the FTX BTC-PERP file of ``bench/ftx_ema.py`` (45,031 one-minute bars), the feature vectors
(EMA 9 and 21) computed once, then the same EMA 9/21 crossover decided on every bar by:

1. the rule strategy (``kind: ema_cross``);
2. the same rule written with ``jules_signal.sdk`` (``kind: python``), the way a user writes it;
3. the SDK strategy with a timer every hour (timers checked on every bar).

Printed: µs per bar (the ``on_features`` call; median of ``--repeat``) and the signals, which
must be the same count for 1 and 2. And the whole embedded run (``run_backtest``) with 1 and 2.
Usage::

    .venv/bin/python bench/strategy_costs.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from jules_backtest.config import BacktestConfig
from jules_backtest.run import build_strategy_and_schema, run_backtest
from jules_contracts import Bar, FeatureVector
from jules_features.engine import FeatureEngine
from jules_market_data.loaders import load
from jules_signal.engine import PythonStrategy, Strategy
from jules_signal.sdk import Features, Params
from jules_signal.sdk import Strategy as UserStrategy
from machine import describe  # bench/machine.py (scripts run from bench/)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BARS = DATA / "nautilus_trader/tests/test_data/btc-perp-20211231-20220201_1m.csv"


class EmaCross(UserStrategy[Params]):
    """EMA 9/21 crossover, long/short: the rule strategy's logic with the SDK."""

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


class EmaCrossWithTimer(EmaCross):
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


RULE = {"kind": "ema_cross", "fast": 9, "slow": 21, "mode": "long_short"}
USER = {"kind": "python", "path": f"{__file__}:EmaCross"}


def per_bar(make: object, pairs: list[tuple[FeatureVector, Bar]], repeat: int) -> tuple[float, int]:
    """Median µs per ``on_features`` call of a fresh strategy over every pair, and its signals."""
    times, signals = [], 0
    for _ in range(repeat):
        strategy: Strategy = make()  # type: ignore[operator]
        started = time.process_time()
        signals = sum(len(strategy.on_features(vector, bar)) for vector, bar in pairs)
        times.append((time.process_time() - started) / len(pairs) * 1e6)
    return statistics.median(times), signals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    with tempfile.TemporaryDirectory() as folder:
        rule_config = config(RULE, Path(folder) / "rule")
        user_config = config(USER, Path(folder) / "user")
        _, schema = build_strategy_and_schema(rule_config)
        engine = FeatureEngine(schema)
        loaded = load(BARS, instrument_id="BTC-PERP.FTX", assume_utc=True)
        bars = [bar for bar in loaded if isinstance(bar, Bar)]
        pairs = [(engine.on_bar(bar), bar) for bar in bars]
        cases = {
            "rule strategy (ema_cross)": lambda: build_strategy_and_schema(rule_config)[0],
            "the same with the SDK": lambda: build_strategy_and_schema(user_config)[0],
            "SDK, with an hourly timer": lambda: PythonStrategy(
                EmaCrossWithTimer(Params()), "ema_cross_timer"
            ),
        }
        print(f"{len(pairs):,} bars, EMA 9/21 crossover, on_features per bar (CPU, median):")
        counts = []
        for name, make in cases.items():
            micros, signals = per_bar(make, pairs, args.repeat)
            counts.append(signals)
            print(f"  {name:<28} {micros:6.2f} µs/bar  {signals:,} signals")
        print(f"  same signals, rule and SDK: {counts[0] == counts[1]}")
        for name, run_config in (("rule", rule_config), ("SDK", user_config)):
            started = time.perf_counter()
            summary = run_backtest(run_config)
            seconds = time.perf_counter() - started
            print(
                f"  whole embedded run, {name}: {seconds:.2f} s "
                f"({len(pairs) / seconds:,.0f} bars/s), {summary.metrics['trade_count']:,} trades"
            )


if __name__ == "__main__":
    main()
