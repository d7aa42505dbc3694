"""Lazy k-way merge of event streams in event-time order with a deterministic tie-break."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import TypeVar

from jules_contracts import Event

from jules_market_data.engine.rejections import Rejection

__all__ = ["merge_streams"]

T = TypeVar("T", bound=Event | Rejection)
_Entry = tuple[int, str, int, int, T]


def merge_streams(*streams: Iterable[T]) -> Iterator[T]:
    """Merge streams, each in event-time order, into one in event-time order.

    The result is the items of all streams sorted by ``(event time, instrument id, index of the
    stream in the arguments, position in the stream)``: the same on every run. It is built
    lazily with a heap: besides one look-ahead item, a stream only has the items sharing its
    current event time in memory, so files of any size merge with little memory.

    Loader rejections (``Rejection``) merge too; one without an event time takes the time and
    instrument of the item before it in its stream, so it stays right after that item.

    Args:
        *streams: Iterables of events (and rejections), each sorted by event time.

    Yields:
        Every item of every stream, in merged order.
    """
    sources = [_Keyed(index, stream) for index, stream in enumerate(streams)]
    heap: list[_Entry[T]] = []
    for source in sources:
        source.push_batch(heap)
    while heap:
        entry = heapq.heappop(heap)
        source = sources[entry[2]]
        source.in_heap -= 1
        if source.in_heap == 0:
            source.push_batch(heap)
        yield entry[4]


class _Keyed(Iterator["_Entry[T]"]):
    """One input stream, with the merge key of each item."""

    def __init__(self, index: int, stream: Iterable[T]) -> None:
        self.index = index
        self.in_heap = 0
        self._items = iter(stream)
        self._position = 0
        self._time = 0
        self._instrument = ""
        self._ahead: _Entry[T] | None = None

    def __next__(self) -> _Entry[T]:
        item = next(self._items)
        if item.event_time is not None:
            self._time = item.event_time
            self._instrument = str(getattr(item, "instrument_id", None) or "")
        entry = (self._time, self._instrument, self.index, self._position, item)
        self._position += 1
        return entry

    def push_batch(self, heap: list[_Entry[T]]) -> None:
        """Push the next item and every following one with the same event time."""
        first = self._ahead if self._ahead is not None else next(self, None)
        self._ahead = None
        if first is None:
            return
        heapq.heappush(heap, first)
        self.in_heap += 1
        for entry in self:
            if entry[0] != first[0]:
                self._ahead = entry
                return
            heapq.heappush(heap, entry)
            self.in_heap += 1
