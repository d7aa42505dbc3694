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

from jules_contracts import Bar
from jules_contracts.topics import FEATURES, MD_BARS
from jules_runtime.lockstep import END_OF_TIME, StepBuffer, StepOutput, by_instrument

from jules_features.engine import FeatureEngine

__all__ = ["FeaturesDriver"]


class FeaturesDriver:
    """The lockstep driver of the features service (see the module docstring).

    Args:
        engine: The features engine.
    """

    inputs = (MD_BARS,)
    outputs = (FEATURES,)

    def __init__(self, engine: FeatureEngine) -> None:
        self.engine = engine
        self.finished = False
        self.previous = 0

    def advance(self, buffer: StepBuffer) -> list[StepOutput]:
        """Compute every step whose bars are all read."""
        outputs: list[StepOutput] = []
        while not self.finished:
            time = buffer.next_watermark(MD_BARS.name)
            if time is not None and buffer.reached(MD_BARS.name, time):
                bars = by_instrument(buffer.take(MD_BARS.name, time))
                vectors = [self.engine.on_bar(bar) for bar in bars if isinstance(bar, Bar)]
                outputs.append(StepOutput(vectors, time))
                self.previous = time
            elif time is None and buffer.is_final(MD_BARS.name):
                buffer.take(MD_BARS.name, END_OF_TIME, final=True)
                outputs.append(StepOutput([], self.previous, final=True))
                self.finished = True
            else:
                break
        return outputs
