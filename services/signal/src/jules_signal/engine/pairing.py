"""Pairing bars with their feature vectors: a strategy decides on a vector *and* its bar.

The features service derives each vector from a bar, so ``vector.causation_id ==
bar.event_id``. Bars and vectors arrive on two topics; whichever of the two comes first waits
for the other, per instrument:

* pairs complete in bar order per instrument (both topics keep per-instrument order, and a pair
  completes when the later of its two events arrives), so the strategy sees exactly the sequence
  the embedded node gives it;
* a vector waiting for its bar is dropped once ``stale_after`` newer bars of its instrument have
  arrived (the bar will not come any more), and a bar waiting for its vector once as many newer
  vectors have; at most ``max_pending`` bars and as many vectors wait per instrument, beyond
  that the oldest is dropped;
* an event whose pair was already settled (a redelivery after a restart or a rebalance), or
  that already waits, is a duplicate; the ids of the last ``max_pending`` settled pairs per
  instrument are remembered.

``Pairing`` only keeps the buffers: each call returns what happened (a pair ready to decide,
events dropped and why, a duplicate) and the caller decides, logs and counts. A pair stays in
the buffers until the caller settles it (``settle``), so a decision that fails leaves them as
they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from jules_contracts import Bar, FeatureVector

__all__ = ["DropReason", "Dropped", "Kind", "Pair", "Pairing", "PairingOutcome"]

Kind = Literal["bar", "vector"]
"""What waits: a bar (for its vector) or a feature vector (for its bar)."""
DropReason = Literal["stale", "overflow", "no_cause"]
"""Why an event was dropped unpaired: its partner did not come in time, too many waited, or a
vector names no bar (no ``causation_id``)."""
E = TypeVar("E", Bar, FeatureVector)


@dataclass(frozen=True, slots=True)
class Pair:
    """A bar and the feature vector derived from it, ready to be decided on."""

    bar: Bar
    vector: FeatureVector


@dataclass(frozen=True, slots=True)
class Dropped:
    """A bar or vector dropped without its partner.

    Attributes:
        kind: ``"bar"`` or ``"vector"``.
        event: The dropped event.
        reason: ``"stale"``, ``"overflow"`` or ``"no_cause"``.
    """

    kind: Kind
    event: Bar | FeatureVector
    reason: DropReason


@dataclass(frozen=True, slots=True)
class PairingOutcome:
    """What one bar or vector caused.

    Attributes:
        pair: The pair it completed, to decide on and then ``settle``; ``None`` otherwise.
        dropped: Events dropped unpaired meanwhile, oldest first.
        duplicate: The event was ignored: its pair is already settled or it already waits.
    """

    pair: Pair | None = None
    dropped: tuple[Dropped, ...] = ()
    duplicate: bool = False


_NOTHING = PairingOutcome()
_DUPLICATE = PairingOutcome(duplicate=True)


@dataclass(slots=True)
class _Waiting(Generic[E]):
    """A bar or vector waiting for its partner; ``newer`` counts newer events of the other kind."""

    event: E
    newer: int = 0


@dataclass(slots=True)
class _InstrumentBuffer:
    """What waits for one instrument (keyed by bar id, oldest first) and the settled bar ids."""

    bars: dict[str, _Waiting[Bar]] = field(default_factory=dict)
    vectors: dict[str, _Waiting[FeatureVector]] = field(default_factory=dict)
    settled: dict[str, None] = field(default_factory=dict)


class Pairing:
    """The bounded per-instrument buffers of bars and vectors waiting for each other.

    Not thread-safe, like the engines.

    Args:
        stale_after: A waiting event is dropped once this many newer events of the other kind
            arrived for its instrument.
        max_pending: At most this many bars, and as many vectors, wait per instrument; as many
            settled bar ids are remembered per instrument.

    Raises:
        ValueError: A bound is below 1.
    """

    def __init__(self, stale_after: int, max_pending: int) -> None:
        if stale_after < 1 or max_pending < 1:
            raise ValueError(
                f"stale_after and max_pending must be at least 1, not {stale_after} and "
                f"{max_pending}"
            )
        self.stale_after = stale_after
        self.max_pending = max_pending
        self._buffers: dict[str, _InstrumentBuffer] = {}

    def pending(self, kind: Kind) -> int:
        """How many bars (``"bar"``) or vectors (``"vector"``) wait, over all instruments."""
        return sum(
            len(buffer.bars if kind == "bar" else buffer.vectors)
            for buffer in self._buffers.values()
        )

    def add_bar(self, bar: Bar) -> PairingOutcome:
        """Pair a bar with its waiting vector, or let the bar wait for it."""
        buffer = self._buffer(bar.instrument_id)
        if bar.event_id in buffer.settled or bar.event_id in buffer.bars:
            return _DUPLICATE
        dropped: list[Dropped] = []
        self._expire(buffer.vectors, bar.event_time, "vector", dropped)
        waiting = buffer.vectors.get(bar.event_id)
        if waiting is not None:
            return PairingOutcome(Pair(bar, waiting.event), tuple(dropped))
        buffer.bars[bar.event_id] = _Waiting(bar)
        self._bound(buffer.bars, "bar", dropped)
        return PairingOutcome(dropped=tuple(dropped)) if dropped else _NOTHING

    def add_vector(self, vector: FeatureVector) -> PairingOutcome:
        """Pair a vector with its waiting bar, or let the vector wait for it.

        A vector that names no bar (no ``causation_id``) is dropped (reason ``"no_cause"``).
        """
        bar_id = vector.causation_id
        if bar_id is None:
            return PairingOutcome(dropped=(Dropped("vector", vector, "no_cause"),))
        buffer = self._buffer(vector.instrument_id)
        if bar_id in buffer.settled or bar_id in buffer.vectors:
            return _DUPLICATE
        dropped: list[Dropped] = []
        self._expire(buffer.bars, vector.event_time, "bar", dropped)
        waiting = buffer.bars.get(bar_id)
        if waiting is not None:
            return PairingOutcome(Pair(waiting.event, vector), tuple(dropped))
        buffer.vectors[bar_id] = _Waiting(vector)
        self._bound(buffer.vectors, "vector", dropped)
        return PairingOutcome(dropped=tuple(dropped)) if dropped else _NOTHING

    def settle(self, pair: Pair) -> None:
        """The pair was decided on: its partner stops waiting, and a redelivery is a duplicate."""
        buffer = self._buffer(pair.bar.instrument_id)
        bar_id = pair.bar.event_id
        buffer.bars.pop(bar_id, None)
        buffer.vectors.pop(bar_id, None)
        self._remember(buffer, bar_id)

    def discard(self, vector: FeatureVector) -> None:
        """A vector was refused: its bar stops waiting, and is ignored when it comes."""
        bar_id = vector.causation_id
        if bar_id is None:
            return
        buffer = self._buffer(vector.instrument_id)
        buffer.bars.pop(bar_id, None)
        self._remember(buffer, bar_id)

    # --- internals ------------------------------------------------------------------------

    def _buffer(self, instrument_id: str) -> _InstrumentBuffer:
        buffer = self._buffers.get(instrument_id)
        if buffer is None:
            buffer = self._buffers[instrument_id] = _InstrumentBuffer()
        return buffer

    def _expire(
        self, waiting: dict[str, _Waiting[E]], event_time: int, kind: Kind, dropped: list[Dropped]
    ) -> None:
        """Age what waits for an event of the other kind at ``event_time``; drop the stale."""
        stale = []
        for key, item in waiting.items():  # oldest first
            if item.event.event_time >= event_time:
                break
            item.newer += 1
            if item.newer >= self.stale_after:
                stale.append(key)
        for key in stale:
            dropped.append(Dropped(kind, waiting.pop(key).event, "stale"))

    def _bound(self, waiting: dict[str, _Waiting[E]], kind: Kind, dropped: list[Dropped]) -> None:
        while len(waiting) > self.max_pending:
            dropped.append(Dropped(kind, waiting.pop(next(iter(waiting))).event, "overflow"))

    def _remember(self, buffer: _InstrumentBuffer, bar_id: str) -> None:
        buffer.settled[bar_id] = None
        while len(buffer.settled) > self.max_pending:
            del buffer.settled[next(iter(buffer.settled))]
