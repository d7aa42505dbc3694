"""The child processes of ``jules``: exits described, stops bounded, signals turned into
``Interrupted``, and the session supervisor restarting what ends on its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jules.backtest_kafka import CollectorDriver
from jules.processes import Interrupted, describe_exit, signals_raise, spawn, stop_processes
from jules.supervisor import SupervisorState

PYTHON = sys.executable


def test_an_exit_is_described_by_its_code_or_its_signal() -> None:
    assert describe_exit(3) == "exit code 3"
    assert describe_exit(-9) == "killed by SIGKILL (exit code -9)"


def test_a_dead_child_is_seen_with_its_exit_code_and_log(tmp_path: Path) -> None:
    code = "print('the reason', flush=True); raise SystemExit(4)"
    child = spawn("worker", [PYTHON, "-c", code], {}, tmp_path / "worker.log")
    child.process.wait(timeout=30)

    assert child.exit_code() == 4
    message = child.failure("during the run")
    assert message.startswith(f"worker (pid {child.pid}) stopped during the run: exit code 4")
    assert message.endswith("the reason\n")


def test_stopping_kills_a_child_that_ignores_sigterm_after_the_grace_period(
    tmp_path: Path,
) -> None:
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    polite = spawn("polite", [PYTHON, "-c", "import time; time.sleep(60)"], {}, tmp_path / "p.log")
    deaf = spawn("deaf", [PYTHON, "-c", stubborn], {}, tmp_path / "d.log")
    time.sleep(0.5)  # the handler is installed

    start = time.monotonic()
    report = stop_processes([polite, deaf], grace_s=1.0)

    assert time.monotonic() - start < 5
    assert report == ["polite: stopped", "deaf: killed after 1s"]
    assert polite.exit_code() == -signal.SIGTERM
    assert deaf.exit_code() == -signal.SIGKILL


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_raises_interrupted_once(sig: signal.Signals, code: int) -> None:
    def signalled() -> None:
        os.kill(os.getpid(), sig)
        time.sleep(5)

    def caught_inside() -> None:
        with signals_raise():
            with pytest.raises(Interrupted) as raised:
                signalled()
            assert raised.value.exit_code == code
            os.kill(os.getpid(), sig)  # a second one, while the first one's cleanup runs: ignored
            time.sleep(0.1)

    with pytest.raises(Interrupted) as ended:
        caught_inside()
    assert ended.value.exit_code == code  # caught inside, the block still ends interrupted


def test_a_signal_wrapped_in_another_error_still_ends_the_block_interrupted() -> None:
    """pydantic-core wraps an exception raised in a serialiser: the signal is not lost."""

    def wrapped() -> None:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except Interrupted as exc:
            raise ValueError(f"Error serializing to JSON: {exc}") from None

    with pytest.raises(Interrupted) as ended, signals_raise():
        wrapped()
    assert ended.value.exit_code == 130
    assert isinstance(ended.value.__cause__, ValueError)


def test_a_block_without_a_signal_ends_as_it_would() -> None:
    with pytest.raises(ValueError, match="its own"), signals_raise():
        raise ValueError("its own error")
    with signals_raise():
        pass


def test_the_supervisor_restarts_a_service_that_ends_and_stops_on_sigterm(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    command = [PYTHON, "-m", "jules.supervisor", str(state_file), "--"]
    supervisor = subprocess.Popen([*command, PYTHON, "-c", "raise SystemExit(3)"])
    try:
        deadline = time.monotonic() + 30
        # Restarted once, and the second run ended too: the supervisor waits out its back-off
        # (2 s after a second failure), with no service running.
        while (
            (state := SupervisorState.load(state_file)) is None
            or state.restarts < 1
            or state.pid is not None
        ):
            assert time.monotonic() < deadline, state
            time.sleep(0.05)
        assert state.last_exit_code == 3
        assert state.supervisor_pid == supervisor.pid
    finally:
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=10) == 3  # no service to pass it on: the last run's code


def test_the_supervisor_passes_sigterm_on_and_does_not_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    command = [PYTHON, "-m", "jules.supervisor", str(state_file), "--"]
    sleeper = [PYTHON, "-c", "import time; time.sleep(60)"]
    supervisor = subprocess.Popen([*command, *sleeper])
    deadline = time.monotonic() + 30
    while (state := SupervisorState.load(state_file)) is None or state.pid is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    supervisor.send_signal(signal.SIGTERM)

    assert supervisor.wait(timeout=10) == 128 + signal.SIGTERM
    final = SupervisorState.load(state_file)
    assert final is not None
    assert (final.pid, final.restarts, final.last_exit_code) == (None, 0, -signal.SIGTERM)


def test_the_collector_says_what_its_first_step_waits_for() -> None:
    assert CollectorDriver(lambda event: None).waiting_for() == (
        "lockstep step 1: nothing read yet (the run's topics)"
    )
