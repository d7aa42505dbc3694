"""The HTTP endpoints of the risk service: the kill-switch state, served by the app beside
the standard endpoints."""

from __future__ import annotations

import json
from typing import Any

from jules_contracts import KillSwitchState
from jules_risk.app import create_app
from jules_risk.config import KILL_SWITCH_PATH, RiskSettings
from jules_risk.endpoints import kill_switch_endpoint

from .helpers import ACCOUNT, ETH, T0, engage, make_engine


async def call(app: Any, path: str, query: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Call an ASGI app with a GET; return the status, headers and body."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "query_string": query, "headers": []}
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers = {k.decode(): v.decode() for k, v in start.get("headers", [])}
    return start["status"], headers, body


async def test_the_kill_switch_endpoint_answers_the_state_of_the_book_or_an_instrument():
    engine = make_engine()
    endpoint = kill_switch_endpoint(engine)
    status, headers, body = await call(endpoint, KILL_SWITCH_PATH)
    assert (status, json.loads(body)) == (200, {"state": "ACTIVE"})
    assert headers["content-type"] == "application/json"
    engine.on_control(engage(T0, instrument=ETH))
    assert json.loads((await call(endpoint, KILL_SWITCH_PATH))[2]) == {"state": "ACTIVE"}
    _, _, body = await call(endpoint, KILL_SWITCH_PATH, f"instrument={ETH}".encode())
    assert json.loads(body) == {"state": "HALTED", "instrument_id": ETH}
    engine.on_control(engage(T0, KillSwitchState.REDUCING))
    assert json.loads((await call(endpoint, KILL_SWITCH_PATH))[2]) == {"state": "REDUCING"}


async def test_the_app_serves_the_kill_switch_beside_the_standard_endpoints():
    app = create_app(RiskSettings(account_id=ACCOUNT))
    paths = [path for path, _ in app.routes]
    assert paths == ["/health", "/ready", "/metrics", KILL_SWITCH_PATH]
    status, _, body = await call(app, KILL_SWITCH_PATH)
    assert (status, json.loads(body)) == (200, {"state": "ACTIVE"})
