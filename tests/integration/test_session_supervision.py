"""`jules up` supervises its services: one killed with SIGKILL is restarted and `jules status`
shows it (restarts, last exit code); `jules down` still stops everything."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
import yaml

from .kafka_helpers import KafkaEndpoint
from .test_session_commands import COINBASE, DATA_DIR, jules

pytestmark = pytest.mark.integration


def _supervised(run_dir: Path, name: str) -> dict[str, int | None]:
    state: dict[str, int | None] = json.loads(
        (run_dir / "logs" / f"{name}.supervisor.json").read_text()
    )
    return state


def _row(status: str, name: str) -> str:
    return next(row for row in status.splitlines() if f" {name} " in row)


def test_a_killed_service_of_a_session_is_restarted_and_shown_by_status(
    kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    config = tmp_path / "session.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "supervision-test",
                "data_dir": str(DATA_DIR),
                "data": [
                    {
                        "path": f"{COINBASE}/btcusd/20180404_trade.zip",
                        "instrument_id": "BTCUSD.COINBASE",
                    }
                ],
                "strategy": {"kind": "sma_cross", "fast": 5, "slow": 15, "mode": "long_short"},
            }
        )
    )
    run_dir = tmp_path / "session"
    up = ("up", "-c", str(config), "--run-dir", str(run_dir), "--speed", "60")
    started = jules(*up, "--bootstrap", kafka.bootstrap)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        killed = _supervised(run_dir, "risk")["pid"]
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        kill_time = time.monotonic()
        deadline = kill_time + 60
        while True:
            state = _supervised(run_dir, "risk")
            if state["restarts"] == 1 and state["pid"] not in (None, killed):
                break
            assert time.monotonic() < deadline, state
            time.sleep(0.1)
        print(f"risk restarted {time.monotonic() - kill_time:.1f}s after the kill")
        assert state["last_exit_code"] == -signal.SIGKILL
        while True:  # ready again on the same port
            status = jules("status", "--run-dir", str(run_dir))
            if status.returncode == 0:
                break
            assert time.monotonic() < deadline, status.stdout
            time.sleep(0.5)
        row = _row(status.stdout, "risk")
        assert "running" in row
        assert " 1 " in row  # restarts
        assert "killed by SIGKILL (exit code -9)" in row
        assert " 0 " in _row(status.stdout, "signal")  # the others never stopped
    finally:
        stopped = jules("down", "--run-dir", str(run_dir))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert stopped.stdout.count(": stopped") == 6
    for name in ("audit", "order-router", "risk", "signal", "features", "market-data"):
        supervised = _supervised(run_dir, name)
        assert supervised["pid"] is None  # the service ended and was not restarted
        for pid in (supervised["supervisor_pid"], killed):
            assert pid is not None
            assert not Path(f"/proc/{pid}").exists() or "Z" in _stat(pid)


def _stat(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
