"""The embedded node: every engine wired in one process by a deterministic event loop.

The loop is the reference semantics of the platform (docs/architecture.md). For each distinct
event time ``t``, with the bars closing at ``t`` taken in instrument-id order:

1. the simulated venue fills working orders against the bars at ``t`` (an order decided at
   ``t-1`` fills at ``t``'s open) and marks the portfolio; one ``PortfolioSnapshot`` for ``t``;
2. per bar: risk sees the market (reference prices, stops), features computes the vector,
   the strategy may signal, risk sizes and checks it against the portfolio as of ``t``, and an
   approved order goes to the venue, where it can fill from ``t+1``.

Every event goes to ``emit`` in the order it is produced, so the audit log and the run
outputs are a function of the input alone.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import groupby

from jules_contracts import (
    Bar,
    CancelOrder,
    Event,
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    PortfolioSnapshot,
)
from jules_features.engine import FeatureEngine
from jules_order_router.engine import OrderRouterEngine
from jules_risk.engine import RiskEngine
from jules_signal.engine import Strategy

__all__ = ["EmbeddedNode", "Emit"]

Emit = Callable[[Event], None]

_ORDER_EVENTS = (
    OrderAccepted,
    OrderRejected,
    OrderPartiallyFilled,
    OrderFilled,
    OrderCanceled,
    OrderExpired,
)


class EmbeddedNode:
    """Runs bars through features → strategy → risk → simulated venue, in event time.

    Args:
        features: The features engine (its schema covers what the strategy needs).
        strategy: A rule strategy or an ONNX policy.
        risk: The risk engine.
        router: The order-router engine with its simulated venue.
        emit: Receives every event, in order.
    """

    def __init__(
        self,
        *,
        features: FeatureEngine,
        strategy: Strategy,
        risk: RiskEngine,
        router: OrderRouterEngine,
        emit: Emit,
    ) -> None:
        self.features = features
        self.strategy = strategy
        self.risk = risk
        self.router = router
        self._emit = emit
        self.last_bars: dict[str, Bar] = {}
        self.last_snapshot: PortfolioSnapshot | None = None

    def run(self, bars: Iterable[Bar], *, close_at_end: bool = True) -> PortfolioSnapshot | None:
        """Process bars (already in event-time order) and return the final portfolio.

        Args:
            bars: Bars of every instrument, merged in event-time order.
            close_at_end: Close open positions at the open of each instrument's last bar.
        """
        for _, group in groupby(bars, key=lambda bar: bar.event_time):
            self.step(sorted(group, key=lambda bar: bar.instrument_id))
        if close_at_end and self.last_bars:
            self.close_all()
        return self.last_snapshot

    def step(self, bars: list[Bar]) -> None:
        """Process every bar closing at one event time (in instrument-id order)."""
        for bar in bars:
            self._emit(bar)
            self.last_bars[bar.instrument_id] = bar
        for bar in bars:
            self._dispatch(self.router.on_market(bar))
        snapshot = self._snapshot(bars[-1].event_time, bars[-1])
        self._dispatch(self.risk.on_portfolio(snapshot))
        for bar in bars:
            self._dispatch(self.risk.on_market(bar))
            vector = self.features.on_bar(bar)
            self._emit(vector)
            signal = self.strategy.on_features(vector, bar)
            if signal is not None:
                self._emit(signal)
                self._dispatch(self.risk.on_signal(signal, snapshot))

    def close_all(self) -> None:
        """Flatten the account at the open of each instrument's last bar (end of a backtest)."""
        bars = [self.last_bars[key] for key in sorted(self.last_bars)]
        closing = self.router.close_all(bars, price_field="open")
        self._dispatch(closing)
        cause: Event = closing[-1] if closing else bars[-1]
        if closing:
            self._snapshot(max(bar.event_time for bar in bars), cause)

    def _snapshot(self, event_time: int, cause: Event) -> PortfolioSnapshot:
        snapshot = self.router.snapshot(event_time, cause)
        self._emit(snapshot)
        self.last_snapshot = snapshot
        return snapshot

    def _dispatch(self, events: Iterable[Event]) -> None:
        """Emit events and route each to the engines that consume it, breadth first."""
        queue: deque[Event] = deque(events)
        while queue:
            event = queue.popleft()
            self._emit(event)
            queue.extend(self._route(event))

    def _route(self, event: Event) -> Iterator[Event]:
        if isinstance(event, OrderApproved | OrderDenied):
            yield from self.router.on_decision(event)
        elif isinstance(event, CancelOrder):
            yield from self.router.on_cancel(event)
        elif isinstance(event, _ORDER_EVENTS):
            yield from self.risk.on_order_event(event)
