"""Benchmark: a topic-replay backtest through Kafka, in bar-events per second, and service RSS.

Runs the demo backtest (examples/demo.yaml: three Coinbase instruments, two days of minute
bars) and a one-instrument day (``bench/configs/one-instrument.yaml``: every event time is one
risk↔router lockstep step), each with ``jules backtest --mode kafka`` semantics in process:
the run's topics on a Kafka broker (the local one from ``deploy/local/kafka``, or
``--bootstrap``), features, signal, risk and the order-router as separate processes in
backtest mode, the replay and the collector here. Prints the bars per second of the whole
run (topic creation and service start-up excluded, from the first bar published to the run
folder written), the lockstep steps per second, the goal that applies (steps/s on one
instrument, bar-events/s on several), the embedded run of the same backtest for comparison,
the peak RSS of every service process, and the machine. ``--universe 100`` (the default)
adds the FTX BTC-PERP file under 100 instrument ids with a 10-hour window (60,000 bars).
``--client`` picks the Kafka client of the replay and the services (``aiokafka`` by
default, or ``confluent``). Usage::

    .venv/bin/python bench/replay_throughput.py [--config A.yaml ...] [--partitions 1]
        [--client aiokafka|confluent]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import get_args

from jules.backtest_kafka import KafkaRunOptions, run_backtest_kafka
from jules.session import SessionState
from jules_backtest.config import load_config
from jules_backtest.run import run_backtest
from jules_runtime.settings import KafkaClientName
from machine import describe, peak_rss_mib  # bench/machine.py (scripts run from bench/)
from universe import universe_config  # bench/universe.py

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", ROOT.parent / "shared" / "data"))


class RssSampler:
    """Samples the peak RSS (VmHWM) of a run's service processes until stopped."""

    def __init__(self) -> None:
        self.peaks: dict[str, float] = {}
        self.ready_at: float | None = None
        self._state: SessionState | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def on_ready(self, state: SessionState) -> None:
        """The run's processes are ready: note the time, start sampling them."""
        self.ready_at = time.perf_counter()
        self._state = state
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(0.25)

    def sample(self) -> None:
        """Read VmHWM of every service process once."""
        assert self._state is not None
        counts: dict[str, int] = {}
        for service in self._state.services:
            index = counts.get(service.name, 0)
            counts[service.name] = index + 1
            peak = peak_rss_mib(service.pid)
            if peak is not None:
                key = f"{service.name}-{index}"
                self.peaks[key] = max(self.peaks.get(key, 0.0), peak)


def one_run(config_path: Path, args: argparse.Namespace) -> None:
    """Replay one configuration through Kafka and embedded; print its figures and goals."""
    folder = Path(tempfile.mkdtemp(prefix="jules-replay-bench-"))
    embedded_config = load_config(config_path, data_dir=DATA_DIR, output_dir=folder / "embedded")
    embedded = run_backtest(embedded_config)
    config = load_config(config_path, data_dir=DATA_DIR, output_dir=folder / "kafka")
    sampler = RssSampler()
    options = KafkaRunOptions(
        bootstrap=args.bootstrap, partitions=args.partitions, client=args.client
    )
    try:
        run = run_backtest_kafka(config, options, on_ready=sampler.on_ready)
    finally:
        sampler.stop()
    assert sampler.ready_at is not None
    seconds = time.perf_counter() - sampler.ready_at
    steps = sum(1 for _ in (folder / "kafka" / "equity.csv").open()) - 1
    same = all(
        (folder / "kafka" / name).read_bytes() == (folder / "embedded" / name).read_bytes()
        for name in ("orders.csv", "fills.csv", "equity.csv", "metrics.json")
    )
    instruments = len({source.instrument_id for source in config.data})
    goal = (
        f"goal >= 400 steps/s on one instrument: {steps / seconds:,.0f}"
        if instruments == 1
        else f"goal >= 20,000 bar-events/s on a 100-instrument universe: {run.bars / seconds:,.0f} "
        f"on {instruments} instruments"
    )
    print(
        f"\nrun: {config_path.name}, {instruments} instruments, {run.bars:,} bars, "
        f"{steps:,} event times, {args.partitions} partitions, Kafka client {args.client}; "
        f"run folder equal to embedded: {same}"
    )
    print(
        f"topic replay: {seconds:,.1f} s, {run.bars / seconds:,.0f} bar-events/s, "
        f"{steps / seconds:,.0f} lockstep steps/s ({goal})"
    )
    print(
        f"embedded:     {embedded.seconds:,.1f} s, {embedded.bars / embedded.seconds:,.0f} "
        "bar-events/s (same run, one process)"
    )
    print("peak RSS per service process (MiB; goal <= 150):")
    for name, value in sorted(sampler.peaks.items()):
        print(f"  {name:<16}{value:>8,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--config",
        type=Path,
        nargs="*",
        default=[ROOT / "examples" / "demo.yaml", ROOT / "bench/configs/one-instrument.yaml"],
    )
    parser.add_argument(
        "--universe",
        type=int,
        default=100,
        help="also replay the FTX bars under this many instrument ids (0: not)",
    )
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--client", choices=get_args(KafkaClientName), default="aiokafka")
    parser.add_argument("--bootstrap", default=os.environ.get("JULES_KAFKA_BOOTSTRAP"))
    args = parser.parse_args()
    print(f"machine: {describe()}")
    configs = list(args.config)
    if args.universe:
        configs.append(universe_config(args.universe, Path(tempfile.mkdtemp()), DATA_DIR))
    for config_path in configs:
        one_run(config_path, args)


if __name__ == "__main__":
    main()
