"""Inputs delivered more than once get the outputs of their first delivery, or nothing.

Kafka delivers at least once, and producers may publish an event twice. A service whose
handler must not see an input twice (a bar counted twice skews an ATR, a signal decided twice
is denied as a duplicate order id, a command applied twice repeats its effect) keeps one
``Redelivery`` and asks it for each input's outputs:

* the first time, the handler runs and its outputs are kept until the bus acknowledges them;
* read again before that (publishing failed, the message is retried), the same outputs (same
  ids and values) are returned without running the handler again;
* read again after ``acknowledge`` (a rebalance, a restart from an older offset), nothing.

Both memories are bounded: the ``capacity`` most recent pending outputs and acknowledged ids.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

from jules_contracts import Event

from jules_runtime.bus.dedup import MemoryDedupStore

__all__ = ["Redelivery"]


class Redelivery:
    """Outputs per input ``event_id``: kept until acknowledged, then the id is remembered.

    Args:
        capacity: How many pending outputs, and how many acknowledged ids, are remembered
            (each; the oldest are forgotten first).
    """

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self.capacity = capacity
        self._pending: OrderedDict[str, tuple[Event, ...]] = OrderedDict()
        self._acknowledged = MemoryDedupStore(capacity)

    def outputs(self, event_id: str, handle: Callable[[], Sequence[Event]]) -> list[Event]:
        """The outputs of the input ``event_id``: ``handle()``'s on its first delivery.

        ``handle`` runs only if the input was neither handled (and not yet acknowledged) nor
        acknowledged before.
        """
        outputs = self.recall(event_id)
        if outputs is None:
            outputs = list(handle())
            self.keep(event_id, outputs)
        return outputs

    def recall(self, event_id: str) -> list[Event] | None:
        """The outputs of an input handled before, without handling it.

        ``[]`` if it was acknowledged, its pending outputs if not yet, ``None`` if it was never
        handled (or is forgotten).
        """
        if self._acknowledged.seen(event_id):
            return []
        pending = self._pending.get(event_id)
        return None if pending is None else list(pending)

    def keep(self, event_id: str, outputs: Sequence[Event]) -> None:
        """Remember the outputs of the input ``event_id`` until it is acknowledged."""
        self._pending[event_id] = tuple(outputs)
        if len(self._pending) > self.capacity:
            self._pending.popitem(last=False)

    def acknowledge(self, event_id: str) -> None:
        """The input's outputs are on their topics: a later delivery gives nothing."""
        self._pending.pop(event_id, None)
        self._acknowledged.first_time(event_id)

    def acknowledge_all(self, event_ids: Iterable[str]) -> None:
        """``acknowledge`` each id (inputs handled by an earlier run of the service)."""
        for event_id in event_ids:
            self.acknowledge(event_id)

    def is_acknowledged(self, event_id: str) -> bool:
        """Whether the input ``event_id`` was acknowledged (and is still remembered)."""
        return self._acknowledged.seen(event_id)

    def pending(self) -> int:
        """How many inputs were handled and wait for the acknowledgement of their outputs."""
        return len(self._pending)
