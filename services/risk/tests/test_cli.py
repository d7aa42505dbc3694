"""``jules-risk kill``: arguments, the command it builds, and ``--status`` against a server."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from jules_contracts import EngageKillSwitch, KillSwitchState, ReleaseKillSwitch
from jules_contracts.base import parse_utc_nanos
from jules_risk import cli
from jules_risk.cli import app
from jules_risk.config import KILL_SWITCH_PATH, RiskSettings
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("JULES_RISK__"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "exactly one of"),
        (["--engage", "--release"], "exactly one of"),
        (["--status", "--engage"], "exactly one of"),
        (["--release", "--reducing", "--reason", "r", "--operator", "o"], "--reducing goes"),
        (["--engage", "--operator", "alice"], "need --reason and --operator"),
        (["--release", "--reason", "why"], "need --reason and --operator"),
        (["--engage", "--reason", "r", "--operator", "two words"], "operator"),
        (["--engage", "--reason", "r", "--operator", "o", "--instrument", "BTC"], "instrument"),
        (["--engage", "--reason", "r", "--operator", "o", "--event-time", "yesterday"], "ISO"),
        (["--status", "--url", "file:///etc/passwd"], "not an http(s) URL"),
    ],
)
def test_wrong_arguments_stop_with_status_2_saying_why(args, message):
    outcome = runner.invoke(app, ["kill", *args])
    assert outcome.exit_code == 2
    assert message in " ".join(re.sub("[│╭╮╰╯─]", " ", outcome.output).split())


def test_an_invalid_setting_stops_the_command_with_status_2(monkeypatch):
    monkeypatch.setenv("JULES_RISK__RUN_SCOPE", "Not A Scope")
    outcome = runner.invoke(app, ["kill", "--status"])
    assert outcome.exit_code == 2
    assert "JULES_RISK__RUN_SCOPE='Not A Scope'" in outcome.output


def published_by(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[object, str, str]:
    """Run ``kill`` with publishing replaced; return the command, the scope and the output."""
    sent: list[tuple[RiskSettings, object]] = []

    async def publish(settings: RiskSettings, command: object) -> None:
        sent.append((settings, command))

    monkeypatch.setattr(cli, "_publish", publish)
    outcome = runner.invoke(app, ["kill", *args])
    assert outcome.exit_code == 0, outcome.output
    (settings, command), *_ = sent
    return command, str(settings.run_scope), outcome.output


def test_engage_publishes_a_halt_at_wall_clock_time_and_prints_it(monkeypatch):
    monkeypatch.setenv("JULES_RISK__RUN_SCOPE", "bt-run1")
    command, scope, output = published_by(
        monkeypatch, "--engage", "--reason", "venue outage", "--operator", "alice"
    )
    assert isinstance(command, EngageKillSwitch)
    assert command.state is KillSwitchState.HALTED
    assert (command.target, command.operator, command.reason) == ("risk", "alice", "venue outage")
    assert command.instrument_id is None
    assert command.source == "jules-risk-cli"
    assert scope == "bt-run1"
    first, _, body = output.partition("\n")
    assert first == "published on bt-run1.control.v1:"
    assert EngageKillSwitch.model_validate_json(body) == command


def test_engage_reducing_for_one_instrument_at_a_given_event_time(monkeypatch):
    command, _, _ = published_by(
        monkeypatch,
        "--engage",
        "--reducing",
        "--instrument",
        "BTCUSDT.BINANCE",
        "--event-time",
        "2024-08-08T13:35:00Z",
        "--reason",
        "news",
        "--operator",
        "alice",
    )
    assert isinstance(command, EngageKillSwitch)
    assert command.state is KillSwitchState.REDUCING
    assert command.instrument_id == "BTCUSDT.BINANCE"
    assert command.event_time == parse_utc_nanos("2024-08-08T13:35:00Z")


def test_release_publishes_a_release_with_a_fresh_id_each_time(monkeypatch):
    args = ("--release", "--reason", "venue back", "--operator", "bob")
    first, _, _ = published_by(monkeypatch, *args)
    second, _, _ = published_by(monkeypatch, *args)
    assert isinstance(first, ReleaseKillSwitch)
    assert isinstance(second, ReleaseKillSwitch)
    assert first.event_id != second.event_id


def test_a_broker_that_cannot_be_reached_gives_status_1(monkeypatch):
    monkeypatch.setenv("JULES_RISK__KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("JULES_RISK__KAFKA__REQUEST_TIMEOUT_MS", "1000")
    outcome = runner.invoke(app, ["kill", "--engage", "--reason", "r", "--operator", "o"])
    assert outcome.exit_code == 1
    assert "could not publish on control.v1 at 127.0.0.1:1" in outcome.output


class _KillSwitchServer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"state": "HALTED", "path": self.path}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), _KillSwitchServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_status_prints_the_services_answer(server):
    outcome = runner.invoke(app, ["kill", "--status", "--url", server])
    assert outcome.exit_code == 0, outcome.output
    assert json.loads(outcome.output) == {"state": "HALTED", "path": KILL_SWITCH_PATH}
    outcome = runner.invoke(
        app, ["kill", "--status", "--url", server + "/", "--instrument", "BTCUSDT.BINANCE"]
    )
    assert json.loads(outcome.output)["path"] == f"{KILL_SWITCH_PATH}?instrument=BTCUSDT.BINANCE"


def test_status_defaults_to_the_services_port(monkeypatch):
    monkeypatch.setenv("JULES_RISK__HTTP__PORT", "1")
    outcome = runner.invoke(app, ["kill", "--status"])
    assert outcome.exit_code == 1
    assert "could not read http://127.0.0.1:1/kill-switch" in outcome.output
