"""HTTP endpoints of the risk service, besides ``/health``, ``/ready`` and ``/metrics``.

``GET /kill-switch`` answers ``{"state": "ACTIVE" | "REDUCING" | "HALTED"}``
(``?instrument=<id>``: the state in force for that instrument, and ``instrument_id``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from faststream.asgi import AsgiResponse, HttpHandler, get

from jules_risk.engine import RiskEngine

__all__ = ["kill_switch_endpoint"]


def kill_switch_endpoint(engine: RiskEngine) -> HttpHandler:
    """``GET /kill-switch``: ``{"state": ...}`` of the book (or ``?instrument=<id>``)."""

    @get(description="Kill-switch state of the book, or of one instrument (?instrument=<id>).")
    async def kill_switch(scope: Any) -> AsgiResponse:
        query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
        instruments = query.get("instrument")
        instrument = instruments[0] if instruments else None
        body: dict[str, str] = {"state": engine.kill_switch_state(instrument).value}
        if instrument is not None:
            body["instrument_id"] = instrument
        return AsgiResponse(
            json.dumps(body).encode(), 200, headers={"content-type": "application/json"}
        )

    return kill_switch
