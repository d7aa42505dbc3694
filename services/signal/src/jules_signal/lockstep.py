"""The signal service in backtest mode: the strategy on each step's bars and vectors.

The service reads its partitions of ``md.bars.v1`` and ``features.v1`` from the beginning
(``jules_runtime.lockstep``). Once both inputs' watermarks of every partition it owns have
reached ``t``, it pairs each bar of ``t`` with its vector (``vector.causation_id ==
bar.event_id``) and runs the strategy on the pairs in instrument-id order, as the embedded loop
does (in a tick-driven run, ``ticks``, it also reads the step's quotes, trades and books and
runs the strategy's tick hooks on them, in the market's order; for a user's strategy with
``on_fill`` it first waits for the venue's order events of ``t`` and runs the hook on each
fill, as the embedded loop does); then it publishes the signals
(and any ``RiskAlert`` for a refused vector or model output, see ``jules_signal.handlers``)
and its watermark ``t`` into the same partitions of ``signals.v1``. Replicas split the
partitions, as the features service's do.

Watermarks on ``risk.alerts.v1`` are risk's alone (one producer's watermarks cut a partition
into steps), so an alert of the signal service travels without one: the collector of a run
takes it with the risk step it arrives in. Such an alert means the run is misconfigured (a
vector of another schema, or a model output the policy cannot use).
"""

from __future__ import annotations

from jules_contracts import Bar, BookSnapshot, Event, FeatureVector, Quote, Trade
from jules_contracts.orders import OrderFilled, OrderPartiallyFilled
from jules_runtime.lockstep import BARS, VECTORS, VENUE, StepDriver, Taken, step_rules
from jules_runtime.logging import logger

from jules_signal.engine import PythonStrategy
from jules_signal.handlers import SignalHandler

__all__ = ["SignalDriver"]


class SignalDriver(StepDriver):
    """The lockstep driver of the signal service: ``step_rules().signal`` (module docstring).

    Args:
        handler: Pairs a bar with its vector and runs the strategy (schema checks, alerts).
        ticks: A quote-, trade- or book-driven run: the strategy's tick hooks run on the
            ticks of a step, in the market's order.
    """

    def __init__(self, handler: SignalHandler, *, ticks: bool = False) -> None:
        strategy = handler.strategy
        self.fills = isinstance(strategy, PythonStrategy) and strategy.asks_fills
        """Whether the steps take the venue's fills (a user's strategy with ``on_fill``)."""
        super().__init__(step_rules(ticks=ticks, fills=self.fills).signal)
        self.handler = handler

    def step(self, time: int, taken: Taken) -> list[Event]:
        """The strategy on the fills, then the bars (with their vectors) and ticks of ``time``."""
        events: list[Event] = []
        for made in taken.now.get(VENUE.name, []):
            if isinstance(made, OrderFilled | OrderPartiallyFilled):
                events.extend(self.handler.on_fill(made))
        vectors = {
            e.causation_id: e for e in taken.now[VECTORS.name] if isinstance(e, FeatureVector)
        }
        return events + self._decide(taken.now[BARS.name], vectors)

    def _decide(self, market: list[Event], vectors: dict[str | None, FeatureVector]) -> list[Event]:
        events: list[Event] = []
        for event in market:
            if isinstance(event, Quote | Trade | BookSnapshot):
                events.extend(self.handler.on_tick(event))
                continue
            if not isinstance(event, Bar):
                continue
            bar = event
            vector = vectors.pop(bar.event_id, None)
            if vector is None:
                logger.warning(
                    "bar without its feature vector in its step: no decision",
                    instrument_id=bar.instrument_id,
                    bar_id=bar.event_id,
                )
                continue
            events.extend(self.handler.on_bar(bar))
            events.extend(self.handler.on_features(vector))
        for vector in vectors.values():
            logger.warning(
                "feature vector without its bar in its step: no decision",
                instrument_id=vector.instrument_id,
                vector_id=vector.event_id,
            )
        return events
