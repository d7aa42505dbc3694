"""The router engine's state as entities by key, and an engine restored from them (pure).

``router_state`` lists what the engine knows, one entity per key, so that a changelog keeps
each apart and rewrites only what changed:

* ``account``: cash, fees paid, the venue's order count and the working orders' order;
* ``position/<instrument>``: quantity, average price, realised PnL, mark;
* ``order/<client_order_id>``: a working order, partially filled ones included (gone once
  it is finished);
* ``done/<client_order_id>``: a finished order (a repeated client order id is refused);
* ``reply/<command event id>``: the events a decision caused (a decision delivered again
  gets them again);
* ``market/<instrument>``: the latest market event time and the events it caused.

The values are the engine's own objects (not copies), for a codec to encode at once
(``jules_runtime.bus.state_codec`` on the service's side). ``restore_router_state`` puts such
entities into a new engine: the same inputs then give the same outputs as the engine the
entities were taken from.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from jules_order_router.engine.engine import OrderRouterEngine
from jules_order_router.engine.orders import WorkingOrder

__all__ = ["restore_router_state", "router_state"]

POSITION = "position/"
ORDER = "order/"
DONE = "done/"
REPLY = "reply/"
MARKET = "market/"


def router_state(engine: OrderRouterEngine) -> dict[str, Any]:
    """The engine's state as entities by key.

    The values are the engine's own objects, not copies: encode them (or copy them) before
    the engine takes its next input.
    """
    portfolio = engine._portfolio
    working = {instrument: list(book) for instrument, book in engine._working.items()}
    entities: dict[str, Any] = {
        "account": {
            "cash": portfolio._cash,
            "fees": portfolio._fees,
            "order_count": engine._order_count,
            "working": working,
        }
    }
    for instrument, position in portfolio._positions.items():
        entities[POSITION + instrument] = position
    live = {client_order_id for book in working.values() for client_order_id in book}
    for client_order_id, order in engine._orders.items():
        entities[(ORDER if client_order_id in live else DONE) + client_order_id] = order
    for event_id, replies in engine._replies.items():
        entities[REPLY + event_id] = replies
    for instrument, latest in engine._latest_market.items():
        entities[MARKET + instrument] = latest
    return entities


def restore_router_state(engine: OrderRouterEngine, entities: Mapping[str, Any]) -> None:
    """Put ``entities`` (``router_state``'s) into ``engine``, a new engine of the same account.

    The account's configuration and instrument specs stay the new engine's.
    """
    entities = copy.deepcopy(dict(entities))
    portfolio = engine._portfolio
    account = entities.get("account")
    if account is not None:
        portfolio._cash = account["cash"]
        portfolio._fees = account["fees"]
        engine._order_count = account["order_count"]
    portfolio._positions = _by_prefix(entities, POSITION)
    orders: dict[str, WorkingOrder] = {**_by_prefix(entities, DONE), **_by_prefix(entities, ORDER)}
    engine._orders = orders
    engine._working = {}
    listed = account["working"] if account is not None else {}
    live = _by_prefix(entities, ORDER)
    for instrument, sequence in listed.items():
        book = {coid: orders[coid] for coid in sequence if coid in live}
        if book:
            engine._working[instrument] = book
    for client_order_id, order in live.items():  # any not listed: last, in key order
        book = engine._working.setdefault(order.instrument_id, {})
        book.setdefault(client_order_id, order)
    engine._replies = _by_prefix(entities, REPLY)
    engine._latest_market = _by_prefix(entities, MARKET)


def _by_prefix(entities: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {
        key.removeprefix(prefix): value for key, value in entities.items() if key.startswith(prefix)
    }
