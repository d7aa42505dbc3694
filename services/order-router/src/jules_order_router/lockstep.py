"""The order-router in backtest mode: the venue's steps of a topic-replay backtest.

The router reads ``md.bars.v1``, ``orders.decisions.v1`` and ``orders.intents.v1`` of the run
from the beginning (``jules_runtime.lockstep``). Its step at event time ``t`` (``venue_step``)
runs once

* every partition of ``md.bars.v1`` has the replay's watermark ``>= t`` (all bars of ``t`` are
  read), and
* for the previous step ``t'``, risk's watermark on ``orders.decisions.v1`` and
  ``orders.intents.v1`` is ``>= t'`` (every decision and cancel risk made on ``t'`` is read;
  they go to the venue first, in the order risk made them).

It publishes the step's order events and snapshot, then its watermark ``t`` into every
partition of ``orders.events.v1`` and ``portfolio.v1``, which lets risk take its step ``t``.
When the replay's final watermark has come and risk has finished the last step, the venue
takes risk's last commands, flattens the account if ``close_at_end``, and publishes a final
watermark.
"""

from __future__ import annotations

from jules_contracts import MARKET_EVENT_TYPES, Event
from jules_runtime.lockstep import BARS, RISK, StepDriver, Taken, step_rules

from jules_order_router.engine import OrderRouterEngine
from jules_order_router.engine.step import (
    LastMarket,
    venue_commands,
    venue_finish,
    venue_step,
)

__all__ = ["VenueDriver"]


class VenueDriver(StepDriver):
    """The lockstep driver of the order-router: ``step_rules().venue`` (the module docstring).

    Args:
        engine: The router engine.
        close_at_end: Flatten the account when the replay ends.
        ticks: A quote-, trade- or book-driven run: the market of a step holds the ticks too.
    """

    def __init__(
        self, engine: OrderRouterEngine, *, close_at_end: bool = True, ticks: bool = False
    ) -> None:
        super().__init__(step_rules(ticks=ticks).venue)
        self.engine = engine
        self.close_at_end = close_at_end
        self.last = LastMarket()

    def step(self, time: int, taken: Taken) -> list[Event]:
        """Risk's commands of the previous step, then fills against the market of ``time``."""
        commands = taken.before[RISK.name]
        market = [e for e in taken.now[BARS.name] if isinstance(e, MARKET_EVENT_TYPES)]
        if not market:  # a time with no market event at all: nothing to step
            return venue_commands(self.engine, commands)
        self.last.remember(market)
        return venue_step(self.engine, commands, market)

    def finish(self, taken: Taken) -> list[Event]:
        """Risk's last commands, then the close-out at each instrument's last bar (or tick)."""
        return venue_finish(
            self.engine,
            taken.before[RISK.name],
            self.last.closing(),
            close_at_end=self.close_at_end,
        )
