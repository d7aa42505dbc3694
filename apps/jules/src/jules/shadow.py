"""Production against shadow: how often a shadow model's decisions agree with production's.

Both emit a signal only when their target for an instrument changes, so the comparison is made
on *decisions*: every feature vector on which production or the shadow (or both) emitted a
signal. Signals are paired through the vector they derive from (``causation_id``); at each such
vector the two targets in force are compared: each side's target of its latest signal for the
instrument at or before that vector. A vector before one of the two has emitted anything is not
compared. The signal service's ``jules_signal_shadow_…`` metrics count the same decisions.

Per instrument, and over all of them:

* ``compared``: decisions compared; ``agreements``: those where both want the same direction
  (long, short or flat); ``agreement_rate`` = agreements / compared;
* ``counts``: decisions by (production direction, shadow direction);
* ``mean_abs_difference``: mean of ``|production target - shadow target|``;
* ``production_signals``, ``shadow_signals``: the signals read; ``both_emitted``: vectors on
  which both emitted a signal.

Signals delivered twice (same ``event_id``) count once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jules_contracts import SignalDirection, SignalGenerated, direction_of

__all__ = ["DIRECTIONS", "Comparison", "ShadowReport", "compare_signals"]

DIRECTIONS: tuple[SignalDirection, ...] = (
    SignalDirection.LONG,
    SignalDirection.FLAT,
    SignalDirection.SHORT,
)
"""Directions in the order the report lists them."""


@dataclass(frozen=True)
class Comparison:
    """Production against shadow on one instrument (or all: ``instrument_id == "*"``).

    Attributes:
        instrument_id: The instrument, ``*`` for the total.
        compared: Decisions compared.
        agreements: Compared decisions with the same direction on both sides.
        counts: Compared decisions by (production direction, shadow direction).
        total_abs_difference: Sum of ``|production target - shadow target|`` over them.
        production_signals: Production signals read.
        shadow_signals: Shadow signals read.
        both_emitted: Vectors on which both sides emitted a signal.
    """

    instrument_id: str
    compared: int = 0
    agreements: int = 0
    counts: Mapping[tuple[SignalDirection, SignalDirection], int] = field(default_factory=dict)
    total_abs_difference: float = 0.0
    production_signals: int = 0
    shadow_signals: int = 0
    both_emitted: int = 0

    @property
    def agreement_rate(self) -> float | None:
        """Share of compared decisions in the same direction (``None`` when none compared)."""
        return self.agreements / self.compared if self.compared else None

    @property
    def mean_abs_difference(self) -> float | None:
        """Mean absolute target difference (``None`` when none compared)."""
        return self.total_abs_difference / self.compared if self.compared else None

    def to_dict(self) -> dict[str, Any]:
        """The comparison as JSON-ready data."""
        return {
            "instrument_id": self.instrument_id,
            "compared": self.compared,
            "agreements": self.agreements,
            "agreement_rate": self.agreement_rate,
            "mean_abs_difference": self.mean_abs_difference,
            "counts": {
                f"{production.value}/{shadow.value}": count
                for (production, shadow), count in sorted(self.counts.items())
            },
            "production_signals": self.production_signals,
            "shadow_signals": self.shadow_signals,
            "both_emitted": self.both_emitted,
        }


@dataclass(frozen=True)
class ShadowReport:
    """The comparison per instrument (sorted by id) and in total."""

    instruments: tuple[Comparison, ...]
    total: Comparison

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "total": self.total.to_dict(),
            "instruments": [comparison.to_dict() for comparison in self.instruments],
        }


def _unique(signals: Iterable[SignalGenerated]) -> dict[str, list[SignalGenerated]]:
    """Signals by instrument, each event id once."""
    seen: set[str] = set()
    by_instrument: dict[str, list[SignalGenerated]] = defaultdict(list)
    for signal in signals:
        if signal.event_id not in seen:
            seen.add(signal.event_id)
            by_instrument[signal.instrument_id].append(signal)
    return by_instrument


def _compare_instrument(
    instrument_id: str, production: list[SignalGenerated], shadow: list[SignalGenerated]
) -> Comparison:
    # One decision per vector: (event time, vector id) -> (production target, shadow target).
    decisions: dict[tuple[int, str], list[float | None]] = {}
    for side, signals in enumerate((production, shadow)):
        for signal in signals:
            vector = signal.causation_id or signal.event_id
            decisions.setdefault((signal.event_time, vector), [None, None])[side] = (
                signal.target_weight
            )
    last: list[float | None] = [None, None]
    counts: Counter[tuple[SignalDirection, SignalDirection]] = Counter()
    compared = agreements = both = 0
    difference = 0.0
    for _, targets in sorted(decisions.items()):
        both += targets[0] is not None and targets[1] is not None
        last = [new if new is not None else old for new, old in zip(targets, last, strict=True)]
        first, second = last
        if first is None or second is None:
            continue
        directions = (direction_of(first), direction_of(second))
        counts[directions] += 1
        compared += 1
        agreements += directions[0] == directions[1]
        difference += abs(first - second)
    return Comparison(
        instrument_id,
        compared,
        agreements,
        dict(counts),
        difference,
        len(production),
        len(shadow),
        both,
    )


def compare_signals(
    production: Iterable[SignalGenerated], shadow: Iterable[SignalGenerated]
) -> ShadowReport:
    """Compare production's signals with a shadow's (see the module docstring).

    Args:
        production: Signals of ``signals.v1``, in any order.
        shadow: Signals of ``signals.shadow.v1``, in any order.

    Returns:
        The comparison per instrument and in total.
    """
    by_production = _unique(production)
    by_shadow = _unique(shadow)
    instruments = tuple(
        _compare_instrument(
            instrument, by_production.get(instrument, []), by_shadow.get(instrument, [])
        )
        for instrument in sorted(set(by_production) | set(by_shadow))
    )
    counts: Counter[tuple[SignalDirection, SignalDirection]] = Counter()
    for comparison in instruments:
        counts.update(comparison.counts)
    total = Comparison(
        "*",
        sum(c.compared for c in instruments),
        sum(c.agreements for c in instruments),
        dict(counts),
        sum(c.total_abs_difference for c in instruments),
        sum(c.production_signals for c in instruments),
        sum(c.shadow_signals for c in instruments),
        sum(c.both_emitted for c in instruments),
    )
    return ShadowReport(instruments, total)
