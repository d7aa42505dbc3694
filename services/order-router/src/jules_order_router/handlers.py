"""The order-router's handler: risk decisions, cancels and market data to the engine.

One engine (one account at the simulated venue) behind one consumer of:

* ``orders.decisions.v1``: ``OrderApproved`` -> ``OrderAccepted`` or ``OrderRejected``;
  ``OrderDenied`` -> nothing;
* ``orders.intents.v1``: ``CancelOrder`` -> ``OrderCanceled`` (nothing if the order is not
  working). ``SubmitOrder`` is ignored: only orders risk approved reach the venue, and they
  arrive as ``OrderApproved`` (which carries the ``SubmitOrder``);
* ``md.bars.v1``, ``md.quotes.v1``, ``md.book.v1`` (snapshots; deltas are ignored) and
  ``md.trades.v1``: fills of working orders (which of them fill depends on the fill model),
  and after each bar a ``PortfolioSnapshot`` at the bar's event time on ``portfolio.v1``.

Order events go to ``orders.events.v1``. Ids are derived from the causes, so the same inputs in
the same order give the same events as the engine run in process.

Delivered twice: Kafka delivers at least once, and a producer may publish a decision twice.

* An input whose outputs the broker has already acknowledged publishes nothing again: a
  decision or cancel delivered again creates no second order and no second reply (the last
  ``dedup_window`` acknowledged commands are remembered); a market event delivered again
  publishes no second fill or snapshot.
* An input read again because publishing its outputs failed gets the same events (same ids
  and values) again: a decision or a cancel gets its first outputs back
  (``jules_runtime.bus.Redelivery``), the engine answers the latest market event of an
  instrument seen before with its first reply, and the snapshot of a bar is kept until the
  next bar of that instrument.
* A bar older than the last bar processed for its instrument (late, or delivered again long
  after) changes no mark and fills no order that already saw a later event (the engine's
  rule); it gets no snapshot, since the account as of that older time is gone.
* A bar newer than the last bar of its instrument but older than a trade or quote already
  processed (live, the trade that closes a bar is published before the bar, on another
  topic) gets its snapshot at that latest market time: the account as it is, caused by the
  bar, so that risk can size and ``jules status`` shows the account bar after bar.

The engine's state lives in memory and on the router's compacted changelog, written after
each batch before the offsets are committed and restored at start-up before consuming
(``jules_order_router.restore``): a restarted router has the account, positions and working
orders it had, and handles no input twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from jules_contracts import (
    Bar,
    BookSnapshot,
    CancelOrder,
    Event,
    OrderApproved,
    PortfolioSnapshot,
    Quote,
    Trade,
)
from jules_contracts.topics import (
    MD_BARS,
    MD_BOOK,
    MD_QUOTES,
    MD_TRADES,
    ORDERS_DECISIONS,
    ORDERS_INTENTS,
)
from jules_runtime.bus import InboundRecord, Redelivery

from jules_order_router.engine import MarketEvent, OrderRouterEngine

__all__ = ["INPUT_TOPICS", "RouterHandler"]

INPUT_TOPICS = (ORDERS_DECISIONS, ORDERS_INTENTS, MD_BARS, MD_QUOTES, MD_BOOK, MD_TRADES)
"""What the router consumes, with one consumer (one engine sees one event at a time)."""


@dataclass
class _LatestMarket:
    """The latest event time seen for one instrument, and what is known about it."""

    event_time: int
    acknowledged: set[str] = field(default_factory=set)
    """Market events at ``event_time`` whose outputs the broker acknowledged."""
    snapshots: dict[str, PortfolioSnapshot] = field(default_factory=dict)
    """The snapshot of each bar at ``event_time`` (its first one, to publish it unchanged)."""


class RouterHandler:
    """The handler of the router's inputs, over one engine.

    ``handle`` is the bus handler; ``acknowledged`` is its ``on_outputs_published`` hook, told
    which inputs' outputs the broker has acknowledged (see the module docstring).

    Args:
        engine: The router engine (built once per service).
        dedup_window: How many acknowledged commands (decisions, cancels) are remembered.
    """

    def __init__(self, engine: OrderRouterEngine, *, dedup_window: int = 100_000) -> None:
        self.engine = engine
        self._commands = Redelivery(dedup_window)
        self.latest_market: dict[str, _LatestMarket] = {}
        """Per instrument, the latest market event time and what is known about it."""
        self.last_bar_time: dict[str, int] = {}
        """Per instrument, the event time of the last bar that got a snapshot."""

    async def handle(self, event: Event) -> Sequence[Event]:
        """Route one input to the engine; return the events to publish."""
        if isinstance(event, OrderApproved | CancelOrder):
            return self._commands.outputs(event.event_id, lambda: self._on_command(event))
        if isinstance(event, Bar | Quote | BookSnapshot | Trade):
            return self._on_market(event)
        # OrderDenied (nothing to route), SubmitOrder (not approved yet), BookDelta (the fill
        # models use book snapshots)
        return []

    def acknowledged(self, record: InboundRecord, event: Event, outputs: Sequence[Event]) -> None:
        """Remember that ``event``'s outputs are on their topics (before its offset commits)."""
        if isinstance(event, OrderApproved | CancelOrder):
            self._commands.acknowledge(event.event_id)
            return
        if isinstance(event, Bar | Quote | BookSnapshot | Trade):
            latest = self.latest_market.get(event.instrument_id)
            if latest is not None and latest.event_time == event.event_time:
                latest.acknowledged.add(event.event_id)

    def _on_command(self, command: OrderApproved | CancelOrder) -> list[Event]:
        if isinstance(command, CancelOrder):
            return self.engine.on_cancel(command)
        return self.engine.on_decision(command)

    def _on_market(self, event: MarketEvent) -> list[Event]:
        latest = self.latest_market.get(event.instrument_id)
        if latest is not None and event.event_time == latest.event_time:
            if event.event_id in latest.acknowledged:
                return []
        elif latest is None or event.event_time > latest.event_time:
            latest = self.latest_market[event.instrument_id] = _LatestMarket(event.event_time)
        events = self.engine.on_market(event)
        if isinstance(event, Bar):
            snapshot = self._bar_snapshot(event, latest)
            if snapshot is not None:
                events.append(snapshot)
        return events

    def _bar_snapshot(self, bar: Bar, latest: _LatestMarket) -> PortfolioSnapshot | None:
        """The snapshot after ``bar`` (module docstring), or ``None`` for a late bar."""
        instrument = bar.instrument_id
        if bar.event_time == latest.event_time:
            snapshot = latest.snapshots.get(bar.event_id)
            if snapshot is None:
                snapshot = self.engine.snapshot(bar.event_time, bar)
                latest.snapshots[bar.event_id] = snapshot
        elif bar.event_time > self.last_bar_time.get(instrument, -1):
            snapshot = self.engine.snapshot(latest.event_time, bar)
        else:
            return None
        self.last_bar_time[instrument] = max(self.last_bar_time.get(instrument, 0), bar.event_time)
        return snapshot
