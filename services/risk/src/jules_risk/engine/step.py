"""One step of risk in event time: the risk engine's part of the backtest loop.

After the venue step at ``t`` (docs/architecture.md), risk takes the venue's
events of that step in the order the venue made them (order events, then the snapshot of the
account as of ``t``), then the market events of ``t`` in instrument-id order (bars, and in a
quote-, trade- or book-driven run those ticks: reference prices, stops), each instrument's
signals after its last event of ``t``, sized and checked against the portfolio as of ``t``.

The embedded node and the risk service in backtest mode both call ``risk_step``, so the two
give the same decisions by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from jules_contracts import Event, PortfolioSnapshot, SignalGenerated

from jules_risk.engine.book import OrderEvent
from jules_risk.engine.engine import RiskEngine
from jules_risk.engine.market import MarketEvent

__all__ = ["risk_step"]


def risk_step(
    engine: RiskEngine,
    venue_events: Iterable[Event],
    market: Sequence[MarketEvent],
    signals: Iterable[SignalGenerated],
) -> list[Event]:
    """Risk at one event time.

    Args:
        engine: The risk engine.
        venue_events: The venue's events of this step, in the order it made them.
        market: The market events of this event time (bars, ticks), in instrument-id order.
        signals: The signals decided on them (decided after their instrument's last event;
            a signal without an event here is decided after every event, by instrument id).

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
    for index, event in enumerate(market):
        events.extend(engine.on_market(event))
        instrument = event.instrument_id
        if index + 1 == len(market) or market[index + 1].instrument_id != instrument:
            events.extend(_decide(engine, waiting.pop(instrument, []), snapshot))
    for instrument in sorted(waiting):  # signals without an event of this time: at the end
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
