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

from jules_contracts import Bar, Event
from jules_contracts.topics import (
    MD_BARS,
    ORDERS_DECISIONS,
    ORDERS_EVENTS,
    ORDERS_INTENTS,
    PORTFOLIO,
)
from jules_runtime.lockstep import (
    END_OF_TIME,
    StepBuffer,
    StepOutput,
    by_instrument,
    in_step_order,
)

from jules_order_router.engine import OrderRouterEngine
from jules_order_router.engine.step import venue_commands, venue_finish, venue_step

__all__ = ["VenueDriver"]

_COMMANDS = (ORDERS_DECISIONS, ORDERS_INTENTS)


class VenueDriver:
    """The lockstep driver of the order-router (see the module docstring).

    Args:
        engine: The router engine.
        close_at_end: Flatten the account when the replay ends.
    """

    inputs = (MD_BARS, ORDERS_DECISIONS, ORDERS_INTENTS)
    outputs = (ORDERS_EVENTS, PORTFOLIO)

    def __init__(self, engine: OrderRouterEngine, *, close_at_end: bool = True) -> None:
        self.engine = engine
        self.close_at_end = close_at_end
        self.finished = False
        self.previous: int | None = None
        self.last_bars: dict[str, Bar] = {}

    def advance(self, buffer: StepBuffer) -> list[StepOutput]:
        """Run every step whose inputs are complete."""
        outputs: list[StepOutput] = []
        while not self.finished:
            previous = self.previous
            if previous is not None and not all(
                buffer.reached(t.name, previous) for t in _COMMANDS
            ):
                break
            time = buffer.next_watermark(MD_BARS.name)
            if time is not None:
                if not buffer.reached(MD_BARS.name, time):
                    break
                commands = self._commands(buffer, previous)
                bars = [
                    e for e in by_instrument(buffer.take(MD_BARS.name, time)) if isinstance(e, Bar)
                ]
                self.previous = time
                if not bars:  # a time with no bar at all: nothing to step
                    outputs.append(StepOutput(venue_commands(self.engine, commands), time))
                    continue
                for bar in bars:
                    self.last_bars[bar.instrument_id] = bar
                outputs.append(StepOutput(venue_step(self.engine, commands, bars), time))
            elif buffer.is_final(MD_BARS.name):
                commands = self._commands(buffer, previous)
                buffer.take(MD_BARS.name, END_OF_TIME, final=True)
                last = [self.last_bars[key] for key in sorted(self.last_bars)]
                events = venue_finish(self.engine, commands, last, close_at_end=self.close_at_end)
                outputs.append(StepOutput(events, previous or 0, final=True))
                self.finished = True
            else:
                break
        return outputs

    def _commands(self, buffer: StepBuffer, previous: int | None) -> list[Event]:
        if previous is None:
            return []
        return in_step_order(
            [item for topic in _COMMANDS for item in buffer.take(topic.name, previous)]
        )
