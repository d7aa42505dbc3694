"""Hypothesis strategies for every v1 event, built from the models' own field declarations.

Each field's strategy is derived from its annotation and metadata (bounds, lengths, patterns,
enums, literals, optionals, tuples, dicts and nested models), so a field added to a contract is
covered without touching this file. Only fields coupled by a model validator get an explicit
fix-up (``_FIXES``), which draws them consistently instead of filtering.
"""

from __future__ import annotations

import enum
import re
import types
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import annotated_types as at
from hypothesis import strategies as st
from jules_contracts import (
    EVENT_TYPES,
    AuditCheckpoint,
    Bar,
    BookDelta,
    BookLevel,
    BookSnapshot,
    Event,
    OrderApproved,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRequest,
    OrderSide,
    OrderType,
    SignalDirection,
    SignalGenerated,
    SubmitOrder,
    TimeInForce,
    parse_utc_nanos,
)
from jules_contracts.orders import _FillEvent
from pydantic import BaseModel, BeforeValidator, StringConstraints
from pydantic.fields import FieldInfo

M = TypeVar("M", bound=BaseModel)
Draw = Callable[[st.SearchStrategy[Any]], Any]

FLOAT_LIMIT = 1e12
"""Magnitude of generated floats: far beyond any price or size, far from overflow."""
INT64_MAX = 2**63 - 1
MAX_ITEMS = 4

POSITIVE_FLOATS = st.floats(
    min_value=0, max_value=FLOAT_LIMIT, exclude_min=True, allow_subnormal=False
)
NON_NEGATIVE_FLOATS = st.floats(min_value=0, max_value=FLOAT_LIMIT, allow_subnormal=False)
TIMESTAMPS = st.integers(min_value=0, max_value=INT64_MAX)


@dataclass
class Constraints:
    """What a field's metadata says about its values."""

    lower: Any = None
    lower_exclusive: bool = False
    upper: Any = None
    upper_exclusive: bool = False
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    timestamp: bool = False


def _flatten(metadata: Iterable[object]) -> Iterable[object]:
    for item in metadata:
        if isinstance(item, FieldInfo):  # Annotated[int, Field(ge=0)] nests its own metadata
            yield from _flatten(item.metadata)
        else:
            yield item


def constraints_of(metadata: Iterable[object]) -> Constraints:
    """Collect bounds, lengths, pattern and the timestamp marker from pydantic metadata."""
    found = Constraints()
    for item in _flatten(metadata):
        if isinstance(item, StringConstraints):
            found.min_length = item.min_length if item.min_length is not None else found.min_length
            found.max_length = item.max_length if item.max_length is not None else found.max_length
            found.pattern = item.pattern if isinstance(item.pattern, str) else found.pattern
        elif isinstance(item, at.Gt):
            found.lower, found.lower_exclusive = item.gt, True
        elif isinstance(item, at.Ge):
            found.lower = item.ge
        elif isinstance(item, at.Lt):
            found.upper, found.upper_exclusive = item.lt, True
        elif isinstance(item, at.Le):
            found.upper = item.le
        elif isinstance(item, at.MinLen):
            found.min_length = item.min_length
        elif isinstance(item, at.MaxLen):
            found.max_length = item.max_length
        elif isinstance(item, BeforeValidator) and item.func is parse_utc_nanos:
            found.timestamp = True
        elif isinstance(getattr(item, "pattern", None), str):
            found.pattern = getattr(item, "pattern", None)
    return found


def unwrap(annotation: Any, metadata: Iterable[object] = ()) -> tuple[Any, list[object]]:
    """Strip ``Annotated`` layers, returning the bare type and all metadata found."""
    collected = list(metadata)
    while get_origin(annotation) is Annotated:
        annotation, *extra = get_args(annotation)
        collected.extend(extra)
    return annotation, collected


def is_union(annotation: Any) -> bool:
    """Whether ``annotation`` is ``X | Y`` (or ``Optional[X]``)."""
    return get_origin(annotation) in (Union, types.UnionType)


def strategy_for(annotation: Any, metadata: Iterable[object] = ()) -> st.SearchStrategy[Any]:
    """Return a strategy of valid values for a pydantic field type."""
    tp, meta = unwrap(annotation, metadata)
    origin, args = get_origin(tp), get_args(tp)
    found = constraints_of(meta)
    if is_union(tp):
        return st.one_of([strategy_for(arg) for arg in args])
    if tp is type(None):
        return st.none()
    if origin is Literal:
        return st.sampled_from(args)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if tp is bool:
        return st.booleans()
    if tp is int:
        return _integers(found)
    if tp is float:
        return _floats(found)
    if tp is str:
        return _strings(found)
    min_size = found.min_length or 0
    max_size = max(min_size, min(found.max_length or MAX_ITEMS, MAX_ITEMS))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        items = st.lists(strategy_for(args[0]), min_size=min_size, max_size=max_size)
        return items.map(tuple)
    if origin is dict:
        key, value = args
        return st.dictionaries(
            strategy_for(key), strategy_for(value), min_size=min_size, max_size=max_size
        )
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return models(tp)
    raise TypeError(f"no strategy for {tp!r}: teach strategies.strategy_for about it")


def _integers(found: Constraints) -> st.SearchStrategy[int]:
    low = -(2**63) if found.lower is None else int(found.lower) + found.lower_exclusive
    high = INT64_MAX if found.upper is None else int(found.upper) - found.upper_exclusive
    return st.integers(min_value=low, max_value=high)


def _floats(found: Constraints) -> st.SearchStrategy[float]:
    return st.floats(
        min_value=-FLOAT_LIMIT if found.lower is None else found.lower,
        max_value=FLOAT_LIMIT if found.upper is None else found.upper,
        exclude_min=found.lower_exclusive,
        exclude_max=found.upper_exclusive,
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=False,
    )


_UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_REPEATED_CLASS = re.compile(r"^\^\[([^\]\\]+)\]\{(\d+)(?:,(\d+))?\}\$$")


def _strings(found: Constraints) -> st.SearchStrategy[str]:
    low, high = found.min_length or 0, found.max_length
    if found.pattern is None:
        return st.text(min_size=low, max_size=min(high or 40, 40))
    # from_regex draws a character at a time; ids and hashes are drawn whole, much faster.
    if found.pattern == _UUID_PATTERN:
        return st.binary(min_size=16, max_size=16).map(lambda raw: str(uuid.UUID(bytes=raw)))
    if (repeated := _REPEATED_CLASS.match(found.pattern)) is not None:
        char_class, least, most = repeated.groups()
        alphabet = [c for c in map(chr, range(32, 127)) if re.fullmatch(f"[{char_class}]", c)]
        least, most = max(int(least), low), min(int(most or least), high or int(most or least))
        return st.text(alphabet, min_size=least, max_size=most)
    text = st.from_regex(found.pattern, fullmatch=True)
    return text.filter(lambda s: low <= len(s) <= (high or len(s)))


def field_strategies(model: type[BaseModel]) -> dict[str, st.SearchStrategy[Any]]:
    """Return one strategy per field of ``model``, from its declaration alone."""
    return {
        name: strategy_for(field.annotation, field.metadata)
        for name, field in model.model_fields.items()
    }


@cache
def models(model: type[M]) -> st.SearchStrategy[M]:
    """Return a strategy of valid instances of a contract model (events included)."""
    fixes = [fix for cls in reversed(model.__mro__) if (fix := _FIXES.get(cls)) is not None]
    generic = st.fixed_dictionaries(field_strategies(model))

    @st.composite
    def build(draw: Draw) -> M:
        fields = draw(generic)
        for fix in fixes:
            fix(draw, fields)
        return model.model_validate(fields)

    return build()


def events(cls: type[M]) -> st.SearchStrategy[M]:
    """Return a strategy of valid events of one class."""
    return models(cls)


# --- fields coupled by a model validator ---------------------------------------------------


def _fix_bar(draw: Draw, fields: dict[str, Any]) -> None:
    low, first, second, high = sorted(draw(st.lists(POSITIVE_FLOATS, min_size=4, max_size=4)))
    fields.update(low=low, high=high)
    fields["open"], fields["close"] = draw(st.permutations([first, second]))
    fields["event_time"] = draw(st.integers(min_value=1, max_value=INT64_MAX))
    fields["start_time"] = draw(st.integers(min_value=0, max_value=fields["event_time"] - 1))


def _levels(draw: Draw, descending: bool) -> tuple[BookLevel, ...]:
    pairs = draw(
        st.lists(
            st.tuples(POSITIVE_FLOATS, POSITIVE_FLOATS),
            max_size=MAX_ITEMS,
            unique_by=lambda p: p[0],
        )
    )
    return tuple(
        BookLevel(price=price, size=size) for price, size in sorted(pairs, reverse=descending)
    )


def _fix_book_snapshot(draw: Draw, fields: dict[str, Any]) -> None:
    fields["bids"] = _levels(draw, descending=True)
    fields["asks"] = _levels(draw, descending=False)


def _fix_sequences(draw: Draw, fields: dict[str, Any], first: str, last: str) -> None:
    if fields[first] is not None and fields[last] is not None:
        fields[first], fields[last] = sorted((fields[first], fields[last]))


def _fix_signal(draw: Draw, fields: dict[str, Any]) -> None:
    weights = {
        SignalDirection.LONG: st.floats(min_value=0, max_value=1, exclude_min=True),
        SignalDirection.SHORT: st.floats(min_value=-1, max_value=0, exclude_max=True),
        SignalDirection.FLAT: st.just(0.0),
    }
    fields["target_weight"] = draw(weights[fields["direction"]])
    order: OrderRequest | None = fields.get("order")
    if order is not None:  # an order's signal: its side's direction, no target
        buy = order.side is OrderSide.BUY
        fields.update(
            direction=SignalDirection.LONG if buy else SignalDirection.SHORT, target_weight=0.0
        )


def _fix_submit(draw: Draw, fields: dict[str, Any]) -> None:
    order_type = fields["order_type"]
    needs_limit = order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_stop = order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
    fields["limit_price"] = draw(POSITIVE_FLOATS) if needs_limit else None
    fields["stop_price"] = draw(POSITIVE_FLOATS) if needs_stop else None
    is_gtd = fields["time_in_force"] is TimeInForce.GTD
    fields["expire_time"] = draw(TIMESTAMPS) if is_gtd else None


def _fix_decision(draw: Draw, fields: dict[str, Any]) -> None:
    order: SubmitOrder = fields["order"]
    fields.update(client_order_id=order.client_order_id, instrument_id=order.instrument_id)


def _fix_approved(draw: Draw, fields: dict[str, Any]) -> None:
    _fix_decision(draw, fields)
    intent = fields["order"].quantity
    fields["quantity"] = draw(
        st.just(intent)
        | st.floats(min_value=0, max_value=intent, exclude_min=True, allow_subnormal=False)
    )


def _fix_fill(draw: Draw, fields: dict[str, Any]) -> None:
    fields["cumulative_quantity"] = fields["last_quantity"] + draw(NON_NEGATIVE_FLOATS)


def _fix_partial(draw: Draw, fields: dict[str, Any]) -> None:
    fields["leaves_quantity"] = draw(POSITIVE_FLOATS)


def _fix_filled(draw: Draw, fields: dict[str, Any]) -> None:
    fields["leaves_quantity"] = 0.0


_FIXES: dict[type[BaseModel], Callable[[Draw, dict[str, Any]], None]] = {
    Bar: _fix_bar,
    BookSnapshot: _fix_book_snapshot,
    BookDelta: lambda draw, f: _fix_sequences(draw, f, "first_sequence", "sequence"),
    AuditCheckpoint: lambda draw, f: _fix_sequences(draw, f, "first_sequence", "last_sequence"),
    SignalGenerated: _fix_signal,
    SubmitOrder: _fix_submit,
    OrderRequest: _fix_submit,
    OrderApproved: _fix_approved,
    OrderDenied: _fix_decision,
    _FillEvent: _fix_fill,
    OrderPartiallyFilled: _fix_partial,
    OrderFilled: _fix_filled,
}

ANY_EVENT: st.SearchStrategy[Event] = st.one_of([events(cls) for cls in EVENT_TYPES])
"""Any v1 event."""
