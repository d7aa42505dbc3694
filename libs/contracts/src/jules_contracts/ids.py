"""Deterministic identifiers derived from their cause."""

from __future__ import annotations

import base64
import hashlib

__all__ = ["client_order_id"]


def client_order_id(strategy_id: str, cause_event_id: str, leg: int | str = 0) -> str:
    """Return the client order id of an order caused by an event (usually a signal).

    ``base32(sha256(strategy ‖ cause ‖ leg))[:26]``, prefixed ``J``: the same signal always
    gives the same id, so a replay or a restarted service re-creates the same order instead
    of a new one, and a venue or the router can tell a duplicate.
    """
    digest = hashlib.sha256(f"{strategy_id}\x1f{cause_event_id}\x1f{leg}".encode()).digest()
    return "J" + base64.b32encode(digest).decode().rstrip("=")[:26]
