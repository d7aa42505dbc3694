"""The embedded node: every engine wired in one process by a deterministic event loop.

The loop is the reference semantics of the platform (docs/architecture.md). For each distinct
event time ``t``, with the market events of ``t`` taken in instrument-id order (bars closing at
``t``; in a quote-, trade- or book-driven run also the ticks of ``t``, each instrument's in the
order loaded), it runs the parts of a step in ``jules_runtime.lockstep.STEP_ORDER`` (the one
step definition, which the services' lockstep drivers and the Kafka-mode collector share):

1. ``bars``: the market events;
2. ``venue``: the venue step (``jules_order_router.engine.step``): risk's commands of the
   previous step, then fills of working orders against the market events at ``t`` (an order
   decided at ``t-1`` fills at ``t``'s open, or on the first tick after it), then one
   ``PortfolioSnapshot`` for ``t``;
3. ``vectors``: one feature vector per bar;
4. ``signals``: the strategy's signals, on each fill of the venue's step when a user's strategy
   asks for fills, then on each bar with its vector and on each tick a user's strategy asked
   for (a user's strategy that raises is quarantined: a ``STRATEGY_QUARANTINED`` alert, then
   no more signals);
5. ``risk``: the risk step (``jules_risk.engine.step``): the venue's events, then the market
   events and each instrument's signals, sized and checked against the portfolio as of ``t``.
   Its decisions and cancels reach the venue at the start of the next step.

Every event goes to ``emit`` in that order, so the audit log and the run outputs are a function
of the input alone. A topic-replay backtest runs the same steps in separate services, and its
collector puts their events in the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby

from jules_contracts import (
    Bar,
    CancelOrder,
    Event,
    FeatureVector,
    MarketEvent,
    OrderApproved,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    PortfolioSnapshot,
    SignalGenerated,
)
from jules_features.engine import FeatureEngine
from jules_order_router.engine import OrderRouterEngine
from jules_order_router.engine.step import LastMarket, venue_finish, venue_step
from jules_risk.engine import RiskEngine
from jules_risk.engine.step import risk_step
from jules_runtime.lockstep import BARS, RISK, SIGNALS_PART, STEP_ORDER, VECTORS, VENUE, Part
from jules_signal.engine import (
    PythonStrategy,
    Strategy,
    StrategyQuarantinedError,
    Tick,
    quarantine_alert,
)

__all__ = ["DECIDE_PARTS", "MARKET_PARTS", "EmbeddedNode", "Emit", "venue_commands_of"]

Emit = Callable[[Event], None]


def venue_commands_of(events: Iterable[Event]) -> list[Event]:
    """Risk's outputs the venue takes in the next step: decisions and cancels, in order."""
    return [e for e in events if isinstance(e, OrderApproved | OrderDenied | CancelOrder)]


MARKET_PARTS: tuple[Part, ...] = STEP_ORDER[: STEP_ORDER.index(VECTORS) + 1]
"""The parts of a step that need no decision (``EmbeddedNode.market``)."""

DECIDE_PARTS: tuple[Part, ...] = STEP_ORDER[len(MARKET_PARTS) :]
"""The rest of a step: the strategy and risk (``EmbeddedNode.decide``)."""


@dataclass
class _Step:
    """What one step has made so far, by part name."""

    market: Sequence[MarketEvent]
    made: dict[str, Sequence[Event]] = field(default_factory=dict)
    vectors: list[FeatureVector] = field(default_factory=list)
    signals: list[SignalGenerated] = field(default_factory=list)

    @property
    def bars(self) -> list[Bar]:
        """The step's bars, in market order."""
        return [event for event in self.market if isinstance(event, Bar)]


class EmbeddedNode:
    """Runs market events through the venue, features, strategy and risk, in event time.

    Args:
        features: The features engine (its schema covers what the strategy needs).
        strategy: A rule strategy, an ONNX policy or a user's strategy.
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
        self.last = LastMarket()
        self._tick_kinds: frozenset[type[Tick]] = (
            strategy.market_kinds if isinstance(strategy, PythonStrategy) else frozenset()
        )
        self._fills = isinstance(strategy, PythonStrategy) and strategy.asks_fills
        self.last_snapshot: PortfolioSnapshot | None = None
        self._commands: list[Event] = []
        self._parts: dict[str, Callable[[_Step], Sequence[Event]]] = {
            BARS.name: self._bars,
            VENUE.name: self._venue,
            VECTORS.name: self._vectors,
            SIGNALS_PART.name: self._signals,
            RISK.name: self._risk,
        }

    def run(
        self, market: Iterable[MarketEvent], *, close_at_end: bool = True
    ) -> PortfolioSnapshot | None:
        """Process market events (already in event-time order) and return the final portfolio.

        Args:
            market: Bars (and ticks) of every instrument, merged in event-time order.
            close_at_end: Close open positions at the open of each instrument's last bar (at
                its last tick, in a tick-driven run).
        """
        for _, group in groupby(market, key=lambda event: event.event_time):
            self.step(sorted(group, key=lambda event: event.instrument_id))
        self.finish(close_at_end=close_at_end)
        return self.last_snapshot

    def step(self, market: Sequence[MarketEvent]) -> None:
        """Process every market event of one event time (in instrument-id order)."""
        self._run(_Step(market), STEP_ORDER)

    def market(self, bars: list[Bar]) -> tuple[list[Event], list[FeatureVector]]:
        """First half of a step: the parts up to the feature vectors (``MARKET_PARTS``).

        Returns:
            The venue's events (ending with the snapshot for ``t``) and the vectors, in bar
            order; pass both to ``decide`` before the next ``market``.
        """
        step = self._run(_Step(bars), MARKET_PARTS)
        return list(step.made[VENUE.name]), list(step.vectors)

    def decide(
        self, bars: list[Bar], venue: Sequence[Event], vectors: Sequence[FeatureVector]
    ) -> None:
        """Second half of a step: the signals, then the risk step (``DECIDE_PARTS``)."""
        step = _Step(bars, {VENUE.name: venue}, list(vectors))
        self._run(step, DECIDE_PARTS)

    def _run(self, step: _Step, parts: Sequence[Part]) -> _Step:
        for part in parts:
            events = self._parts[part.name](step)
            step.made[part.name] = events
            self._emit_all(events)
        return step

    def _bars(self, step: _Step) -> Sequence[Event]:
        self.last.remember(step.market)
        return step.market

    def _venue(self, step: _Step) -> Sequence[Event]:
        return venue_step(self.router, self._commands, step.market)

    def _vectors(self, step: _Step) -> Sequence[Event]:
        step.vectors = [self.features.on_bar(bar) for bar in step.bars]
        return step.vectors

    def _signals(self, step: _Step) -> Sequence[Event]:
        signals: list[SignalGenerated] = []
        alerts: list[Event] = []
        if self._fills:
            assert isinstance(self.strategy, PythonStrategy)
            for made in step.made[VENUE.name]:
                if not isinstance(made, OrderFilled | OrderPartiallyFilled):
                    continue
                try:
                    signals.extend(self.strategy.on_fill(made))
                except StrategyQuarantinedError as error:
                    alerts.append(quarantine_alert(made, error))
        vectors = iter(step.vectors)
        for event in step.market:
            cause: FeatureVector | Tick = event if not isinstance(event, Bar) else next(vectors)
            try:
                if isinstance(event, Bar):
                    assert isinstance(cause, FeatureVector)
                    signals.extend(self.strategy.on_features(cause, event))
                elif type(event) in self._tick_kinds:
                    assert isinstance(self.strategy, PythonStrategy)
                    signals.extend(self.strategy.on_market(event))
            except StrategyQuarantinedError as error:  # a user's strategy raised
                alerts.append(quarantine_alert(cause, error))
        # by instrument, each instrument's in the order made: as a topic replay's collector
        # reads the part (a spread may set another instrument's target on a bar)
        signals.sort(key=lambda signal: signal.instrument_id)
        step.signals = signals
        return [*alerts, *signals]

    def _risk(self, step: _Step) -> Sequence[Event]:
        decided = risk_step(self.risk, step.made[VENUE.name], step.market, step.signals)
        self._commands = venue_commands_of(decided)
        return decided

    def finish(self, *, close_at_end: bool = True) -> None:
        """End the run: the last commands reach the venue, which may flatten the account.

        An instrument closes at its last bar's open, or at its last tick when it had ticks.
        """
        venue = venue_finish(
            self.router, self._commands, self.last.closing(), close_at_end=close_at_end
        )
        self._commands = []
        self._emit_all(venue)
        self._emit_all(risk_step(self.risk, venue, [], []))

    def _emit_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self._emit(event)
            if isinstance(event, PortfolioSnapshot):
                self.last_snapshot = event
