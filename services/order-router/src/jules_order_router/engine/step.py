"""One step of the simulated venue in event time: the order-router's part of the backtest loop.

The backtest loop (docs/architecture.md) runs, for each distinct event time
``t``: the venue step, then features and signals, then the risk step. The venue step first
takes the commands risk made in the previous step (decisions and cancels, in the order risk
made them), then fills working orders against the market events of ``t`` (in instrument-id
order: bars, or the quotes, trades or books of a tick-driven run), then marks the account: one
``PortfolioSnapshot`` at ``t``. An order risk approved at ``t - 1``
therefore fills from ``t``'s open.

The embedded node and the order-router service in backtest mode both call these functions,
so the two give the same events by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from jules_contracts import Bar, CancelOrder, Event, OrderApproved, OrderDenied

from jules_order_router.engine.engine import OrderRouterEngine
from jules_order_router.engine.liquidity import MarketEvent

__all__ = ["LastMarket", "venue_commands", "venue_finish", "venue_step"]


class LastMarket:
    """Each instrument's last bar and last tick: what ``venue_finish`` closes positions at."""

    def __init__(self) -> None:
        self._bars: dict[str, MarketEvent] = {}
        self._ticks: dict[str, MarketEvent] = {}

    def remember(self, market: Iterable[MarketEvent]) -> None:
        """Take in a step's market events."""
        for event in market:
            held = self._bars if isinstance(event, Bar) else self._ticks
            held[event.instrument_id] = event

    def closing(self) -> list[MarketEvent]:
        """Per instrument (in id order) its last tick if it had ticks, else its last bar."""
        lasts = {**self._bars, **self._ticks}
        return [lasts[key] for key in sorted(lasts)]


def venue_commands(engine: OrderRouterEngine, commands: Iterable[Event]) -> list[Event]:
    """Apply risk's decisions and cancels in order (other commands are not the venue's)."""
    events: list[Event] = []
    for command in commands:
        if isinstance(command, OrderApproved | OrderDenied):
            events.extend(engine.on_decision(command))
        elif isinstance(command, CancelOrder):
            events.extend(engine.on_cancel(command))
    return events


def venue_step(
    engine: OrderRouterEngine, commands: Iterable[Event], bars: Sequence[MarketEvent]
) -> list[Event]:
    """The venue at one event time: commands, fills on the market events, then the snapshot.

    Args:
        engine: The router engine.
        commands: Risk's commands of the previous step, in the order risk made them.
        bars: Every market event of this event time (bars closing then, ticks), in
            instrument-id order.

    Returns:
        The order events, then the ``PortfolioSnapshot`` at the bars' event time.
    """
    if not bars:
        raise ValueError("a venue step needs the market events of its event time (none given)")
    events = venue_commands(engine, commands)
    for bar in bars:
        events.extend(engine.on_market(bar))
    events.append(engine.snapshot(bars[-1].event_time, bars[-1]))
    return events


def venue_finish(
    engine: OrderRouterEngine,
    commands: Iterable[Event],
    last_bars: Sequence[MarketEvent],
    *,
    close_at_end: bool,
) -> list[Event]:
    """The end of a backtest: the last commands, then (optionally) flatten the account.

    Args:
        engine: The router engine.
        commands: Risk's commands of the last step.
        last_bars: The last bar of each instrument, in instrument-id order (or, in a
            tick-driven run, its last tick).
        close_at_end: Close every position at the open of its instrument's last bar (at the
            touch of its last quote or book, at its last trade's price:
            ``OrderRouterEngine.close_all``) and take a final snapshot.
    """
    events = venue_commands(engine, commands)
    if close_at_end and last_bars:
        closing = engine.close_all(list(last_bars), price_field="open")
        events.extend(closing)
        if closing:
            when = max(bar.event_time for bar in last_bars)
            events.append(engine.snapshot(when, closing[-1]))
    return events
