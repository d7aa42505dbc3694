"""The kill switch in a `jules up` session: engaged and released with `jules-risk kill`, whose
commands carry the wall-clock time (years after the replayed market). Trading stops while it is
engaged and resumes after the release: the commands do not move risk's market clock, so no
order is denied for stale data."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from jules.session import SessionState
from jules_risk.config import KILL_SWITCH_PATH

from .service_process import http_text
from .test_risk_service import risk_kill
from .test_session_commands import COINBASE, DATA_DIR, jules

APPROVED = "risk.order_approved"
DENIED = "risk.order_denied"
HALTED = "KILL_SWITCH_HALTED"


def audit_records(audit_dir: Path, *event_types: str) -> list[dict[str, object]]:
    """The audit log's complete records of these event types, in the order recorded."""
    records = []
    for segment in sorted(audit_dir.glob("segment-*.jsonl")):
        for line in segment.read_text().split("\n")[:-1]:  # the last line may be unfinished
            record = json.loads(line)
            if record.get("event_type") in event_types:
                records.append(record)
    return records


def decisions(audit_dir: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Risk's decisions, in the order risk made them (one instrument: one partition)."""
    found = []
    for record in audit_records(audit_dir, APPROVED, DENIED):
        payload = record["payload"]
        assert isinstance(payload, dict)
        found.append((str(record["event_type"]), tuple(payload.get("reasons", ()))))
    return found


def after_last_halt(seen: list[tuple[str, tuple[str, ...]]]) -> list[tuple[str, tuple[str, ...]]]:
    """The decisions after the last one denied by the halted kill switch (all, if none)."""
    halted = [i for i, (_, reasons) in enumerate(seen) if HALTED in reasons]
    return seen[halted[-1] + 1 :] if halted else seen


def wait_for(what: str, condition: Callable[[], bool], audit_dir: Path) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"{what}; decisions: {decisions(audit_dir)}"
        time.sleep(0.2)


def test_kill_switch_engaged_then_released_in_a_session_stops_then_resumes_trading(kafka, tmp_path):
    config = tmp_path / "session.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "session-kill-switch",
                "data_dir": str(DATA_DIR),
                "data": [
                    {
                        "path": f"{COINBASE}/btcusd/20180404_trade.zip",
                        "instrument_id": "BTCUSD.COINBASE",
                    }
                ],
                # Fast crossings: a signal every few bars, so decisions come every ~0.2 s.
                "strategy": {"kind": "sma_cross", "fast": 2, "slow": 3, "mode": "long_short"},
                "risk": {"sizing": {"kind": "fixed_fraction", "fraction": 0.5}},
            }
        )
    )
    run_dir = tmp_path / "session"
    audit = run_dir / "audit"

    # Paced as a live feed (a minute bar every 100 ms): the replay lasts about 100 s. Live, risk
    # reads bars and signals from two topics: on a starved machine its bars may lag its
    # signals by minutes of event time, which its staleness check (300 s) would deny; the
    # slower pace keeps that lag in seconds.
    started = jules(
        "up",
        "-c",
        str(config),
        "--run-dir",
        str(run_dir),
        "--speed",
        "600",
        "--bootstrap",
        kafka.bootstrap,
    )
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        state = SessionState.load(run_dir)
        risk = next(service for service in state.services if service.name == "risk")

        def kill(*args: str) -> None:
            risk_kill(*args, "--operator", "alice", bootstrap=state.bootstrap, scope=state.scope)

        def kill_switch() -> str:
            body = http_text(f"http://127.0.0.1:{risk.port}{KILL_SWITCH_PATH}")
            state_name: str = json.loads(body)["state"]
            return state_name

        wait_for("no order approved", lambda: (APPROVED, ()) in decisions(audit), audit)
        sent = time.time_ns()
        kill("--engage", "--reason", "session test")
        wait_for(
            "no order denied by the kill switch",
            lambda: any(HALTED in reasons for _, reasons in decisions(audit)),
            audit,
        )
        assert kill_switch() == "HALTED"
        kill("--release", "--reason", "session test over")
        assert kill_switch() == "ACTIVE"
        wait_for(
            "trading did not resume after the release",
            lambda: [kind for kind, _ in after_last_halt(decisions(audit))].count(APPROVED) >= 3,
            audit,
        )
    finally:
        stopped = jules("down", "--run-dir", str(run_dir))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr

    seen = decisions(audit)
    halted = [i for i, (_, reasons) in enumerate(seen) if HALTED in reasons]
    while_engaged = seen[halted[0] : halted[-1] + 1]
    assert all(kind == DENIED for kind, _ in while_engaged), while_engaged
    assert [kind for kind, _ in after_last_halt(seen)].count(APPROVED) >= 3
    stale = [reason for _, reasons in seen for reason in reasons if reason.startswith("STALE_")]
    assert stale == []
    alerts = [
        (record["payload"], record["event_time"])
        for record in audit_records(audit, "risk.alert")
        if "KILL_SWITCH" in str(record["payload"])
    ]
    codes = [payload["code"] for payload, _ in alerts if isinstance(payload, dict)]
    assert codes == ["KILL_SWITCH_ENGAGED", "KILL_SWITCH_RELEASED"]
    for _, event_time in alerts:  # the commands' own (wall-clock) time, kept in the audit log
        assert isinstance(event_time, int)
        assert event_time >= sent
