"""`jules backtest --mode kafka` watches the services it starts and cleans up however it ends.

Each test runs the command as a user does (a paced replay, so that the run is still going when
the test acts): a service killed with SIGKILL fails the run within seconds, naming it;
SIGTERM and Ctrl-C stop the command within seconds with 143 and 130; ``--timeout`` fails the
run saying what it waited for. Whichever way it ends, no service process and no topic of the
run is left.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from aiokafka.admin import AIOKafkaAdminClient
from jules_backtest.examples import small_config
from jules_contracts import backtest_scope

from .kafka_helpers import KafkaEndpoint

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
JULES = Path(sys.executable).parent / "jules"
SPEED = "1200"
"""Event seconds per second: the two-instrument day takes over a minute, the tests far less."""


class Run:
    """A ``jules backtest --mode kafka`` process of one test, on its own scope."""

    def __init__(self, kafka: KafkaEndpoint, tmp_path: Path, *extra: str) -> None:
        config = tmp_path / "backtest.yaml"
        config.write_text(yaml.safe_dump(small_config(DATA_DIR, tmp_path / "run")))
        self.bootstrap = kafka.bootstrap
        self.scope = backtest_scope(f"sup-{time.time_ns()}")
        self.logs = tmp_path / "run" / "logs"
        env = {k: v for k, v in os.environ.items() if not k.startswith("JULES_")}
        options = ["--no-progress", "--bootstrap", kafka.bootstrap, "--scope", self.scope]
        options += ["--speed", SPEED]
        self.process = subprocess.Popen(
            [str(JULES), "backtest", "-c", str(config), "--mode", "kafka", *options, *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**env, "COLUMNS": "200"},
            cwd=REPO_ROOT,
        )
        self.children: list[int] = []

    def wait_until_replaying(self, timeout_s: float = 90) -> None:
        """Wait until every service runs its lockstep; remember the services' pids."""
        deadline = time.monotonic() + timeout_s
        names = ("order-router-0", "risk-0", "signal-0", "features-0")
        while not all("lockstep started" in _text(self.logs / f"{name}.log") for name in names):
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, "the services did not start"
            time.sleep(0.2)
        self.children = _children(self.process.pid)
        assert len(self.children) == 4

    def service_pid(self, name: str) -> int:
        """The pid of one service the command started."""
        for pid in self.children:
            if f"jules-{name}" in Path(f"/proc/{pid}/cmdline").read_text():
                return pid
        raise AssertionError(f"no {name} among {self.children}")

    def wait(self, timeout_s: float = 60) -> tuple[int, float]:
        """The command's exit code and how long it took to end from now."""
        start = time.monotonic()
        code = self.process.wait(timeout=timeout_s)
        return code, time.monotonic() - start

    def output(self) -> str:
        """What the command printed (once it has ended)."""
        return self.process.communicate()[0] if self.process.poll() is not None else ""

    def left_behind(self) -> tuple[list[int], list[str]]:
        """The services still running and the run's topics still on the broker."""
        running = [pid for pid in self.children if _running(pid)]
        return running, asyncio.run(_topics(self.bootstrap, self.scope))

    def stop(self) -> None:
        """Kill what the test left running (only when an assertion failed)."""
        for pid in [self.process.pid, *self.children]:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def _text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return [int(value) for value in out.stdout.split()]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def _topics(bootstrap: str, scope: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return [name for name in await admin.list_topics() if name.startswith(f"{scope}.")]
    finally:
        await admin.close()


def test_a_service_killed_mid_run_fails_the_run_within_seconds_naming_it(
    kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    run = Run(kafka, tmp_path)
    try:
        run.wait_until_replaying()
        time.sleep(2)  # well into the replay
        os.kill(run.service_pid("order-router"), signal.SIGKILL)
        code, seconds = run.wait()
    finally:
        run.stop()
    output = run.output()

    print(f"noticed and stopped in {seconds:.1f}s")
    assert code == 1, output
    assert seconds < 30
    assert "order-router (pid" in output
    assert "killed by SIGKILL (exit code -9)" in output
    assert "lockstep step" in output  # where the run was
    assert run.left_behind() == ([], [])


@pytest.mark.parametrize(("sig", "expected"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_ctrl_c_stop_the_run_and_its_services_within_seconds(
    kafka: KafkaEndpoint, tmp_path: Path, sig: signal.Signals, expected: int
) -> None:
    run = Run(kafka, tmp_path)
    try:
        run.wait_until_replaying()
        time.sleep(1)
        run.process.send_signal(sig)
        code, seconds = run.wait()
    finally:
        run.stop()
    output = run.output()

    print(f"{sig.name}: stopped in {seconds:.1f}s")
    assert code == expected, output
    assert seconds < 15
    assert f"stopped by {sig.name}" in output
    assert run.left_behind() == ([], [])


def test_a_timeout_fails_the_run_saying_what_it_waited_for(
    kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    # the paced run lasts about 70 s; 25 s leaves a busy machine time to start the services
    run = Run(kafka, tmp_path, "--timeout", "25")
    try:
        run.wait_until_replaying()
        code, _ = run.wait()
    finally:
        run.stop()
    output = run.output()

    assert code == 1, output
    # e.g. "lockstep step 91 (after 2018-04-04T01:30:00Z) waited for bars from the replay"
    assert re.search(
        r"the run did not finish within 25s: lockstep step \d+ \(.+\) waited for "
        r"(bars|venue|vectors|signals|risk) from (the replay|order-router|features|signal|risk)",
        output,
    ), output
    assert run.left_behind() == ([], [])
