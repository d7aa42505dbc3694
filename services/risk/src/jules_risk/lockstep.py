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

from jules_contracts import MARKET_EVENT_TYPES, Event, SignalGenerated
from jules_runtime.lockstep import BARS, SIGNALS_PART, VENUE, StepDriver, Taken, step_rules

from jules_risk.engine import RiskEngine
from jules_risk.engine.step import risk_step

__all__ = ["RiskDriver"]


class RiskDriver(StepDriver):
    """The lockstep driver of risk: ``step_rules().risk`` (see the module docstring).

    Args:
        engine: The risk engine.
        ticks: A quote-, trade- or book-driven run: the market of a step holds the ticks too.
    """

    def __init__(self, engine: RiskEngine, *, ticks: bool = False) -> None:
        super().__init__(step_rules(ticks=ticks).risk)
        self.engine = engine

    def step(self, time: int, taken: Taken) -> list[Event]:
        """Risk's step ``time``: the venue's events, then the market with its signals."""
        market = [e for e in taken.now[BARS.name] if isinstance(e, MARKET_EVENT_TYPES)]
        signals = [e for e in taken.now[SIGNALS_PART.name] if isinstance(e, SignalGenerated)]
        return risk_step(self.engine, taken.now[VENUE.name], market, signals)

    def finish(self, taken: Taken) -> list[Event]:
        """The venue's last events (the close-out at the end of the run)."""
        return risk_step(self.engine, taken.now[VENUE.name], [], [])
