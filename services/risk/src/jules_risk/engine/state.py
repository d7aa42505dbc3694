"""The risk engine's state as entities by key, and an engine restored from them (pure).

``risk_state`` lists what the engine knows, one entity per key, so that a changelog keeps
each apart and rewrites only what changed:

* ``config``: the configuration in force (limits, sizing, stops: run-time changes included);
* ``kill_switch``: the book's and the instruments' kill-switch states;
* ``position/<instrument>``: position, average price and mark;
* ``order/<client_order_id>``: a working order (gone once it is finished);
* ``book``: snapshot id and time, equity, traded notional, used client order ids and fills,
  and the working orders' order;
* ``market/<instrument>``: reference price, ATR, returns;
* ``loss``, ``throttle``, ``stops``, ``clock``: loss halts, recent orders, stop levels and
  exits, the engine's clock.

The values are the engine's own objects (not copies), for a codec to encode at once
(``jules_runtime.bus.state_codec`` on the service's side). ``restore_risk_state`` puts such
entities into a new engine: the same inputs then give the same outputs as the engine the
entities were taken from.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from jules_contracts.enums import KillSwitchState

from jules_risk.engine.book import WorkingOrder
from jules_risk.engine.engine import RiskEngine

__all__ = ["kill_switch_scope_state", "restore_risk_state", "risk_state"]

POSITION = "position/"
ORDER = "order/"
MARKET = "market/"


def risk_state(engine: RiskEngine) -> dict[str, Any]:
    """The engine's state as entities by key.

    The values are the engine's own objects, not copies: encode them (or copy them) before
    the engine takes its next input.
    """
    book = engine._book
    entities: dict[str, Any] = {
        "clock": engine._now,
        "config": engine._config,
        "kill_switch": engine._kill,
        "loss": engine._loss,
        "throttle": engine._throttle,
        "stops": {"levels": engine._stops._levels, "exits": engine._exits},
        "book": {
            "snapshot_time": book.snapshot_time,
            "snapshot_id": book.snapshot_id,
            "equity": book.equity,
            "traded_notional": book.traded_notional,
            "seen_ids": book._seen_ids,
            "seen_fills": book._seen_fills,
            "working": list(book._working),
        },
    }
    instruments = {*book._positions, *book._average_prices, *book._marks}
    for instrument in sorted(instruments):
        entities[POSITION + instrument] = {
            "quantity": book._positions.get(instrument),
            "average_price": book._average_prices.get(instrument),
            "mark": book._marks.get(instrument),
        }
    for client_order_id, order in book._working.items():
        entities[ORDER + client_order_id] = order
    for instrument, market in engine._markets.items():
        entities[MARKET + instrument] = market
    return entities


def restore_risk_state(engine: RiskEngine, entities: Mapping[str, Any]) -> None:
    """Put ``entities`` (``risk_state``'s) into ``engine``, a new engine of the same account.

    The configuration restored is the one in force when the entities were taken (run-time
    changes included); instrument specs stay the new engine's.

    Raises:
        ValueError: The entities are of another account.
    """
    entities = copy.deepcopy(dict(entities))
    config = entities.get("config")
    if config is not None:
        if config.account_id != engine.config.account_id:
            raise ValueError(
                f"state of account {config.account_id} cannot restore an engine of "
                f"{engine.config.account_id}"
            )
        engine._config = config
    engine._now = entities.get("clock", engine._now)
    engine._kill = entities.get("kill_switch", engine._kill)
    engine._loss = entities.get("loss", engine._loss)
    engine._throttle = entities.get("throttle", engine._throttle)
    stops = entities.get("stops")
    if stops is not None:
        engine._stops._levels = stops["levels"]
        engine._exits = stops["exits"]
    engine._markets = {
        key.removeprefix(MARKET): value for key, value in entities.items() if key.startswith(MARKET)
    }
    _restore_book(engine, entities)


def _restore_book(engine: RiskEngine, entities: Mapping[str, Any]) -> None:
    book = engine._book
    summary = entities.get("book", {})
    book.snapshot_time = summary.get("snapshot_time")
    book.snapshot_id = summary.get("snapshot_id")
    book.equity = summary.get("equity")
    book.traded_notional = summary.get("traded_notional", 0.0)
    book._seen_ids = set(summary.get("seen_ids", ()))
    book._seen_fills = set(summary.get("seen_fills", ()))
    book._positions, book._average_prices, book._marks = {}, {}, {}
    for key, position in entities.items():
        if not key.startswith(POSITION):
            continue
        instrument = key.removeprefix(POSITION)
        for target, name in (
            (book._positions, "quantity"),
            (book._average_prices, "average_price"),
            (book._marks, "mark"),
        ):
            if position.get(name) is not None:
                target[instrument] = position[name]
    orders: dict[str, WorkingOrder] = {
        key.removeprefix(ORDER): value for key, value in entities.items() if key.startswith(ORDER)
    }
    sequence = [coid for coid in summary.get("working", ()) if coid in orders]
    sequence += [coid for coid in orders if coid not in sequence]
    book._working, book._working_by_instrument = {}, {}
    for client_order_id in sequence:
        order = orders[client_order_id]
        book._working[client_order_id] = order
        book._working_by_instrument.setdefault(order.instrument_id, {})[client_order_id] = order


def kill_switch_scope_state(engine: RiskEngine, instrument_id: str | None) -> KillSwitchState:
    """The kill-switch state of one scope: the book's, or the instrument's own.

    Unlike ``RiskEngine.kill_switch_state(instrument)``, an instrument's own state leaves the
    book's out (a halted book does not make each instrument's own state halted).
    """
    if instrument_id is None:
        return engine._kill.book_state
    return engine._kill._instruments.get(instrument_id, KillSwitchState.ACTIVE)
