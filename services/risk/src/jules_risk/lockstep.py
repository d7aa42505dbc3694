"""Risk in backtest mode: risk's steps of a topic-replay backtest.

Risk reads ``md.bars.v1``, ``signals.v1``, ``orders.events.v1`` and ``portfolio.v1`` of the run
from the beginning (``jules_runtime.lockstep``). Its step at event time ``t`` (``risk_step``)
runs once every partition of each of them has its producer's watermark ``>= t``: all bars of
``t``, every signal decided on them, and the venue's step ``t`` (its fills at ``t`` and the
snapshot of the account as of ``t``). It publishes its decisions, intents and alerts, then its
watermark ``t`` into every partition of ``orders.intents.v1``, ``orders.decisions.v1`` and
``risk.alerts.v1``, which lets the venue take its next step. After the venue's final watermark
risk takes the venue's last events and publishes its own final watermark.

Risk limits are portfolio-wide (gross exposure, open orders, loss halts), so risk is not split
by instrument: each replica runs the whole book and publishes the same events with the same
ids, which the venue and the collector take once (a hot standby, not a partitioned scale-out).
"""

from __future__ import annotations

from jules_contracts import Bar, SignalGenerated
from jules_contracts.topics import (
    MD_BARS,
    ORDERS_DECISIONS,
    ORDERS_EVENTS,
    ORDERS_INTENTS,
    PORTFOLIO,
    RISK_ALERTS,
    SIGNALS,
)
from jules_runtime.lockstep import (
    END_OF_TIME,
    StepBuffer,
    StepOutput,
    by_instrument,
    in_step_order,
)

from jules_risk.engine import RiskEngine
from jules_risk.engine.step import risk_step

__all__ = ["RiskDriver"]

_VENUE = (ORDERS_EVENTS, PORTFOLIO)


class RiskDriver:
    """The lockstep driver of risk (see the module docstring).

    Args:
        engine: The risk engine.
    """

    inputs = (MD_BARS, SIGNALS, ORDERS_EVENTS, PORTFOLIO)
    outputs = (ORDERS_INTENTS, ORDERS_DECISIONS, RISK_ALERTS)

    def __init__(self, engine: RiskEngine) -> None:
        self.engine = engine
        self.finished = False
        self.previous: int | None = None

    def advance(self, buffer: StepBuffer) -> list[StepOutput]:
        """Run every step whose inputs are complete."""
        outputs: list[StepOutput] = []
        while not self.finished:
            time = buffer.next_watermark(MD_BARS.name)
            if time is not None:
                if not all(buffer.reached(t.name, time) for t in self.inputs):
                    break
                bars = [
                    e for e in by_instrument(buffer.take(MD_BARS.name, time)) if isinstance(e, Bar)
                ]
                signals = [
                    e
                    for e in by_instrument(buffer.take(SIGNALS.name, time))
                    if isinstance(e, SignalGenerated)
                ]
                venue = in_step_order(
                    [item for topic in _VENUE for item in buffer.take(topic.name, time)]
                )
                outputs.append(StepOutput(risk_step(self.engine, venue, bars, signals), time))
                self.previous = time
            elif all(buffer.is_final(t.name) for t in (MD_BARS, *_VENUE)):
                venue = in_step_order(
                    [
                        item
                        for topic in _VENUE
                        for item in buffer.take(topic.name, END_OF_TIME, final=True)
                    ]
                )
                events = risk_step(self.engine, venue, [], [])
                outputs.append(StepOutput(events, self.previous or 0, final=True))
                self.finished = True
            else:
                break
        return outputs
