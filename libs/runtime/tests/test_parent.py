"""A process started with ``JULES_PARENT_PID`` ends when that process is killed outright."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jules_runtime.parent import PARENT_ENV, exit_with_parent

CHILD = (
    "import time\n"
    "from jules_runtime.parent import exit_with_parent\n"
    "assert exit_with_parent()\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)
PARENT = (
    "import os, subprocess, sys, time\n"
    f"child = subprocess.Popen([sys.executable, '-c', {CHILD!r}],"
    f" env={{**os.environ, {PARENT_ENV!r}: str(os.getpid())}}, stdout=subprocess.PIPE)\n"
    "assert child.stdout.readline() == b'ready\\n'\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(60)\n"
)


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its reaper is not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_child_ends_when_its_parent_is_killed_with_sigkill() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert _running(child)

    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)

    deadline = time.monotonic() + 10
    while _running(child):
        assert time.monotonic() < deadline, "the child outlived its parent"
        time.sleep(0.05)


def test_without_the_variable_nothing_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PARENT_ENV, raising=False)
    assert exit_with_parent() is False
    monkeypatch.setenv(PARENT_ENV, "not a pid")
    assert exit_with_parent() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_parent_already_gone_stops_the_process_at_once() -> None:
    code = (
        "import os, signal, time\n"
        f"os.environ[{PARENT_ENV!r}] = str(os.getppid() + 1_000_000)\n"  # not its parent
        "from jules_runtime.parent import exit_with_parent\n"
        "exit_with_parent()\n"
        "time.sleep(30)\n"
    )
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], timeout=20, check=False)

    assert result.returncode == -signal.SIGTERM
    assert time.monotonic() - started < 20
