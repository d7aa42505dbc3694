"""One step of risk in event time: the risk engine's part of the backtest loop.

After the venue step at ``t`` (docs/architecture.md), risk takes the venue's
events of that step in the order the venue made them (order events, then the snapshot of the
account as of ``t``), then for each bar of ``t`` in instrument-id order the bar itself
(reference prices, stops) and the signals decided on it, which it sizes and checks against
the portfolio as of ``t``.

The embedded node and the risk service in backtest mode both call ``risk_step``, so the two
give the same decisions by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from jules_contracts import Bar, Event, PortfolioSnapshot, SignalGenerated

from jules_risk.engine.book import OrderEvent
from jules_risk.engine.engine import RiskEngine

__all__ = ["risk_step"]


def risk_step(
    engine: RiskEngine,
    venue_events: Iterable[Event],
    bars: Sequence[Bar],
    signals: Iterable[SignalGenerated],
) -> list[Event]:
    """Risk at one event time.

    Args:
        engine: The risk engine.
        venue_events: The venue's events of this step, in the order it made them.
        bars: The bars of this event time, in instrument-id order.
        signals: The signals decided on those bars (decided after their bar; a signal
            without a bar here is decided after every bar, by instrument id).

    Returns:
        Everything risk publishes in this step, in the order it made it.

    Raises:
        ValueError: A signal came but the venue's events held no portfolio snapshot.
    """
    events: list[Event] = []
    snapshot: PortfolioSnapshot | None = None
    for event in venue_events:
        if isinstance(event, PortfolioSnapshot):
            events.extend(engine.on_portfolio(event))
            snapshot = event
        elif isinstance(event, OrderEvent):
            events.extend(engine.on_order_event(event))
    waiting: dict[str, list[SignalGenerated]] = {}
    for signal in signals:
        waiting.setdefault(signal.instrument_id, []).append(signal)
    for bar in bars:
        events.extend(engine.on_market(bar))
        events.extend(_decide(engine, waiting.pop(bar.instrument_id, []), snapshot))
    for instrument in sorted(waiting):  # signals without a bar of this time: after the bars
        events.extend(_decide(engine, waiting[instrument], snapshot))
    return events


def _decide(
    engine: RiskEngine, signals: list[SignalGenerated], snapshot: PortfolioSnapshot | None
) -> list[Event]:
    events: list[Event] = []
    for signal in signals:
        if snapshot is None:
            raise ValueError(
                f"signal {signal.event_id} at {signal.event_time} cannot be decided: the "
                "venue published no portfolio snapshot in this step"
            )
        events.extend(engine.on_signal(signal, snapshot))
    return events
