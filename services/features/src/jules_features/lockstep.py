"""The features service in backtest mode: one feature vector per bar, step by step.

The service reads its partitions of ``md.bars.v1`` from the beginning
(``jules_runtime.lockstep``). Once the replay's watermark of every partition it owns has
reached ``t``, it computes the vector of each bar of ``t`` (in instrument-id order, as the
embedded loop does), publishes them, then its watermark ``t`` into the same partitions of
``features.v1``. Features runs ahead of the venue and risk; it waits for nothing else.

Replicas split the partitions (``Replica``): an instrument's bars and vectors share a
partition number on every topic of a run, so each replica computes its instruments. A
restarted replica computes its partitions again from the first bar; its vectors keep their
ids, and the services downstream take each id once.
"""

from __future__ import annotations

from jules_contracts import Bar, Event
from jules_runtime.lockstep import BARS, StepDriver, Taken, step_rules

from jules_features.engine import FeatureEngine

__all__ = ["FeaturesDriver"]


class FeaturesDriver(StepDriver):
    """The lockstep driver of the features service: ``step_rules().features`` (module docstring).

    Args:
        engine: The features engine.
        ticks: A quote-, trade- or book-driven run (features still read the bars only).
    """

    def __init__(self, engine: FeatureEngine, *, ticks: bool = False) -> None:
        super().__init__(step_rules(ticks=ticks).features)
        self.engine = engine

    def step(self, time: int, taken: Taken) -> list[Event]:
        """One vector per bar of ``time``, in instrument-id order."""
        return [self.engine.on_bar(bar) for bar in taken.now[BARS.name] if isinstance(bar, Bar)]
