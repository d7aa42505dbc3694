"""Repeating an example story into a longer, still consistent stream of events."""

from __future__ import annotations

from typing import Any, TypeVar

from jules_contracts.base import Event, derive_event_id

__all__ = ["shifted_example"]

E = TypeVar("E", bound=Event)

_SHIFT_NS = 60_000_000_000


def shifted_example(event: E, index: int) -> E:
    """An example moved ``index`` minutes later, with its own ids (``index`` 0: itself).

    Ids (event, correlation, causation) are re-derived with ``index``, times move by ``index``
    minutes and client order ids get a ``-<index>`` suffix, so a whole example story can be
    repeated into a longer, still consistent stream (audit logs, load tests).
    """
    if index == 0:
        return event
    return type(event).model_validate(_shift(event.model_dump(mode="json"), index))


def _shift(value: Any, index: int) -> Any:
    if isinstance(value, list):
        return [_shift(item, index) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: _shift(item, index) for key, item in value.items()}
    for key in ("event_id", "correlation_id", "causation_id"):
        if out.get(key) is not None:
            out[key] = derive_event_id("shifted", out[key], index)
    for key in ("event_time", "expire_time", "start_time"):
        if out.get(key) is not None:
            out[key] += index * _SHIFT_NS
    if out.get("client_order_id") is not None:
        out["client_order_id"] = f"{out['client_order_id']}-{index}"
    return out
