"""`jules up`, `jules status` and `jules down` as a user runs them: six services as processes
on a replayed feed, their status, and a clean stop with a verifiable audit log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml
from jules_audit.store import verify

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
JULES = Path(sys.executable).parent / "jules"
COINBASE = "QuantConnect_Lean/Data/crypto/coinbase/minute"


def jules(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JULES_")}
    return subprocess.run(
        [str(JULES), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**env, "COLUMNS": "200"},
        cwd=REPO_ROOT,
        check=False,
    )


def audited_types(audit_dir: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for segment in sorted(audit_dir.glob("segment-*.jsonl")):
        for line in segment.read_text().splitlines():
            kind = line.split('"event_type":"', 1)[1].split('"', 1)[0]
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def test_up_status_down_runs_a_paper_session_on_a_replayed_feed(kafka, tmp_path):
    config = tmp_path / "session.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "session-test",
                "data_dir": str(DATA_DIR),
                "data": [
                    {
                        "path": f"{COINBASE}/btcusd/20180404_trade.zip",
                        "instrument_id": "BTCUSD.COINBASE",
                    }
                ],
                "strategy": {"kind": "sma_cross", "fast": 5, "slow": 15, "mode": "long_short"},
                "risk": {"sizing": {"kind": "fixed_fraction", "fraction": 0.5}},
            }
        )
    )
    run_dir = tmp_path / "session"

    # A live session: the feed is paced (1,200x: a minute bar every 50 ms) so that decisions
    # reach the venue before the next bars, as with a real feed; at full speed the whole file
    # would be published before the first order could fill.
    started = jules(
        "up",
        "-c",
        str(config),
        "--run-dir",
        str(run_dir),
        "--speed",
        "1200",
        "--bootstrap",
        kafka.bootstrap,
    )
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "session up" in started.stdout
        # Wait until fills reach the audit log.
        deadline = time.monotonic() + 120
        while audited_types(run_dir / "audit").get("order.filled", 0) < 3:
            assert time.monotonic() < deadline, audited_types(run_dir / "audit")
            time.sleep(1)
        status = jules("status", "--run-dir", str(run_dir))
        assert status.returncode == 0, status.stdout + status.stderr
        for service in ("audit", "order-router", "risk", "signal", "features", "market-data"):
            line = next(row for row in status.stdout.splitlines() if f" {service} " in row)
            assert "running" in line
            assert line.count("ok") == 2  # healthy and ready
        as_json = jules("status", "--run-dir", str(run_dir), "--json")
        assert as_json.returncode == 0, as_json.stdout + as_json.stderr
        report = json.loads(as_json.stdout)
        assert report["healthy"] is True
        assert {s["name"] for s in report["services"] if s["running"] and s["ready"]} == {
            "audit",
            "order-router",
            "risk",
            "signal",
            "features",
            "market-data",
        }
    finally:
        stopped = jules("down", "--run-dir", str(run_dir))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert stopped.stdout.count(": stopped") == 6  # SIGTERM was enough for every service
    assert "kafka: stopped" not in stopped.stdout  # the broker was not ours to stop
    result = verify(run_dir / "audit")
    assert result.ok, result.summary()
    kinds = audited_types(run_dir / "audit")
    for kind in (
        "md.bar",
        "features.vector",
        "signal.generated",
        "order.submit",
        "risk.order_approved",
        "order.accepted",
        "order.filled",
        "portfolio.snapshot",
    ):
        assert kinds.get(kind, 0) > 0, kind
    for name in ("audit", "order-router", "risk", "signal", "features", "market-data"):
        assert (run_dir / "logs" / f"{name}.log").stat().st_size > 0
    after = jules("status", "--run-dir", str(run_dir))
    assert after.returncode == 1
    assert "stopped" in after.stdout
    after_json = jules("status", "--run-dir", str(run_dir), "--json")
    assert after_json.returncode == 1
    assert json.loads(after_json.stdout)["healthy"] is False
