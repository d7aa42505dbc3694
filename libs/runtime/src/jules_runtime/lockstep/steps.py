"""The one definition of a backtest step: its parts, in order, and what each lockstep waits on.

The embedded node (``jules_backtest.node``) is the reference semantics: for each distinct event
time ``t`` it runs the parts of ``STEP_ORDER`` in that order, the bars, the venue, the feature
vectors, the signals and risk (docs/architecture.md). In a topic-replay
backtest each part is made by its own service and travels on its own topics; a service's
``StepRule`` says which parts its step at ``t`` waits on (``now``: their watermark ``>= t``;
``before``: their watermark ``>= t'``, the previous step), which it takes, and which part it
makes. ``StepDriver`` runs any rule over a ``StepBuffer``; a service binds its rule to its
engine's step function. The collector of ``jules backtest --mode kafka`` puts every part back in
``STEP_ORDER``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from jules_contracts import Event, Topic
from jules_contracts.topics import (
    FEATURES,
    MD_BARS,
    MD_BOOK,
    MD_QUOTES,
    MD_TRADES,
    ORDERS_DECISIONS,
    ORDERS_EVENTS,
    ORDERS_INTENTS,
    PORTFOLIO,
    RISK_ALERTS,
    SIGNALS,
)

from jules_runtime.lockstep.buffer import END_OF_TIME, StepBuffer, by_instrument, in_step_order

__all__ = [
    "BARS",
    "COLLECT_RULE",
    "FEATURES_RULE",
    "RISK",
    "RISK_RULE",
    "SIGNALS_PART",
    "SIGNAL_RULE",
    "STEP_ORDER",
    "TICKS",
    "VECTORS",
    "VENUE",
    "VENUE_RULE",
    "LockstepDriver",
    "Part",
    "StepDriver",
    "StepOutput",
    "StepRule",
    "StepRules",
    "Taken",
    "step_rules",
]


@dataclass(frozen=True)
class Part:
    """One part of a step: its name, the topics its events travel on, and how they are ordered.

    Attributes:
        name: ``bars``, ``venue``, ``vectors``, ``signals`` or ``risk``.
        topics: Where the part's events are published.
        made_in_order: ``True`` when one producer makes the part in an order that matters (its
            ``jules-seq`` order is kept); ``False`` when it is per instrument (taken in
            instrument-id order, each instrument's in the order read).
    """

    name: str
    topics: tuple[Topic, ...]
    made_in_order: bool

    def only(self, *topics: Topic) -> Part:
        """The same part as read by a service that takes some of its topics only."""
        missing = [t.name for t in topics if t not in self.topics]
        if missing:
            raise ValueError(f"part {self.name} has no topic {', '.join(missing)}")
        return Part(self.name, tuple(topics), self.made_in_order)

    def reached(self, buffer: StepBuffer, time: int) -> bool:
        """Whether every partition of every topic of the part has a watermark ``>= time``."""
        return all(buffer.reached(topic.name, time) for topic in self.topics)

    def is_final(self, buffer: StepBuffer) -> bool:
        """Whether every topic of the part got its producer's final watermark."""
        return all(buffer.is_final(topic.name) for topic in self.topics)

    def take(self, buffer: StepBuffer, upto: int, *, final: bool = False) -> list[Event]:
        """Remove and return the part's events up to watermark ``upto``, in the part's order."""
        items = [item for t in self.topics for item in buffer.take(t.name, upto, final=final)]
        return in_step_order(items) if self.made_in_order else by_instrument(items)


BARS = Part("bars", (MD_BARS,), made_in_order=False)
TICKS = Part("bars", (MD_BARS, MD_QUOTES, MD_TRADES, MD_BOOK), made_in_order=True)
"""The market part of a quote-, trade- or book-driven run: bars and ticks, in the replay's
order (event time, instrument id, then as loaded: ``jules_backtest.data.load_market``)."""
VENUE = Part("venue", (ORDERS_EVENTS, PORTFOLIO), made_in_order=True)
VECTORS = Part("vectors", (FEATURES,), made_in_order=False)
SIGNALS_PART = Part("signals", (SIGNALS,), made_in_order=False)
RISK = Part("risk", (ORDERS_INTENTS, ORDERS_DECISIONS, RISK_ALERTS), made_in_order=True)

STEP_ORDER: tuple[Part, ...] = (BARS, VENUE, VECTORS, SIGNALS_PART, RISK)
"""The parts of a step, in the order of the embedded loop."""


@dataclass(frozen=True)
class StepRule:
    """What a lockstep service's step at ``t`` waits on and takes, and what it makes.

    Attributes:
        makes: The part it publishes (``None``: it publishes nothing, the collector).
        now: Parts of step ``t`` it waits for and takes (the first is the clock: its
            watermarks give the step times).
        before: Parts of the previous step it waits for and takes (the venue takes risk's
            commands of ``t'`` at ``t``).
        final_on: Parts whose final watermarks end the run for it (default: ``now``).
    """

    makes: Part | None
    now: tuple[Part, ...]
    before: tuple[Part, ...] = ()
    final_on: tuple[Part, ...] | None = None

    @property
    def inputs(self) -> tuple[Topic, ...]:
        """Every topic the service reads, each once."""
        return tuple(dict.fromkeys(t for part in (*self.now, *self.before) for t in part.topics))

    @property
    def outputs(self) -> tuple[Topic, ...]:
        """The topics whose every partition gets the service's watermark after each step."""
        return self.makes.topics if self.makes is not None else ()


@dataclass(frozen=True)
class StepRules:
    """The rule of every lockstep service of a run, and the run's parts in step order.

    Attributes:
        order: The parts of a step, in the order of the embedded loop.
        venue: The order-router: the market of ``t`` and risk's commands of ``t'`` (not its
            alerts).
        features: Features: the bars of ``t`` (runs ahead of the venue and risk).
        signal: Signal: the market and vectors of ``t`` (runs ahead of the venue and risk),
            and the venue's order events of ``t`` for a strategy that asks for fills.
        risk: Risk: the market, signals and the venue's events of ``t``.
        collect: The collector of a run: every part of ``t``.
    """

    order: tuple[Part, ...]
    venue: StepRule
    features: StepRule
    signal: StepRule
    risk: StepRule
    collect: StepRule


def step_rules(*, ticks: bool = False, fills: bool = False) -> StepRules:
    """The rules of a bar-driven run, or with ``ticks`` of a quote-, trade- or book-driven one.

    In a tick-driven run the market part (``TICKS``) reads ``md.quotes``, ``md.trades`` and
    ``md.book`` besides ``md.bars``, in the replay's order; features read the bars only. With
    ``fills`` (a strategy with ``on_fill``) the signal step at ``t`` also waits for and takes
    the venue's order events of ``t``, as the embedded loop runs the strategy after the venue.
    """
    market = TICKS if ticks else BARS
    signal_now = (market, VECTORS, VENUE.only(ORDERS_EVENTS)) if fills else (market, VECTORS)
    return StepRules(
        order=(market, VENUE, VECTORS, SIGNALS_PART, RISK),
        venue=StepRule(
            makes=VENUE, now=(market,), before=(RISK.only(ORDERS_DECISIONS, ORDERS_INTENTS),)
        ),
        features=StepRule(makes=VECTORS, now=(market.only(MD_BARS),)),
        signal=StepRule(makes=SIGNALS_PART, now=signal_now),
        risk=StepRule(makes=RISK, now=(market, SIGNALS_PART, VENUE), final_on=(market, VENUE)),
        collect=StepRule(
            makes=None,
            now=(market, VENUE, VECTORS, SIGNALS_PART, RISK),
            final_on=(market, VENUE, RISK),
        ),
    )


_BAR_RULES = step_rules()
VENUE_RULE = _BAR_RULES.venue
"""The order-router of a bar-driven run."""
FEATURES_RULE = _BAR_RULES.features
"""Features of a bar-driven run."""
SIGNAL_RULE = _BAR_RULES.signal
"""Signal of a bar-driven run."""
RISK_RULE = _BAR_RULES.risk
"""Risk of a bar-driven run."""
COLLECT_RULE = _BAR_RULES.collect
"""The collector of a bar-driven run."""


@dataclass(frozen=True)
class StepOutput:
    """What one step publishes: its events (in order), then its watermark on every output."""

    events: Sequence[Event]
    time: int
    final: bool = False


@dataclass(frozen=True)
class Taken:
    """The inputs of one step, by part name, each in its part's order."""

    now: Mapping[str, list[Event]]
    before: Mapping[str, list[Event]]


class LockstepDriver(Protocol):
    """A service's lockstep logic: which topics it reads and writes, and its steps."""

    finished: bool
    """Set once the driver has published its final step."""

    @property
    def inputs(self) -> Sequence[Topic]:
        """The topics the driver reads (every partition, from the beginning)."""
        ...

    @property
    def outputs(self) -> Sequence[Topic]:
        """The topics whose every partition gets the driver's watermark after each step."""
        ...

    def advance(self, buffer: StepBuffer) -> list[StepOutput]:
        """Run every step whose inputs are complete; return what they publish, in order."""
        ...


class StepDriver(ABC):
    """Runs a ``StepRule``: each step once its inputs are read, then a final step.

    Step ``t`` (a watermark of the clock part) runs once every ``now`` part reached ``t`` and
    every ``before`` part reached the previous step's time. Once the ``final_on`` parts got
    their final watermarks and no step is left, ``finish`` runs and the driver publishes its
    final watermark. Subclasses bind the rule to their engine (``step``, ``finish``).

    Args:
        rule: What the steps wait on and take.
    """

    def __init__(self, rule: StepRule) -> None:
        self.rule = rule
        self.finished = False
        self.previous: int | None = None

    @property
    def inputs(self) -> tuple[Topic, ...]:
        """The topics the driver reads."""
        return self.rule.inputs

    @property
    def outputs(self) -> tuple[Topic, ...]:
        """The topics the driver writes its watermarks to."""
        return self.rule.outputs

    @abstractmethod
    def step(self, time: int, taken: Taken) -> list[Event]:
        """Compute step ``time`` from its inputs; return its outputs, in order."""

    def finish(self, taken: Taken) -> list[Event]:
        """The final step, with what was left of the inputs (nothing by default)."""
        return []

    def advance(self, buffer: StepBuffer) -> list[StepOutput]:
        """Run every step whose inputs are all read."""
        rule = self.rule
        clock = rule.now[0].topics[0].name
        outputs: list[StepOutput] = []
        while not self.finished:
            previous = self.previous
            if previous is not None and not all(p.reached(buffer, previous) for p in rule.before):
                break
            time = buffer.next_watermark(clock)
            if time is not None:
                if not all(part.reached(buffer, time) for part in rule.now):
                    break
                taken = Taken(
                    {part.name: part.take(buffer, time) for part in rule.now},
                    self._before(buffer, previous),
                )
                self.previous = time
                outputs.append(StepOutput(self.step(time, taken), time))
            elif all(part.is_final(buffer) for part in rule.final_on or rule.now):
                taken = Taken(
                    {part.name: part.take(buffer, END_OF_TIME, final=True) for part in rule.now},
                    self._before(buffer, previous),
                )
                outputs.append(StepOutput(self.finish(taken), previous or 0, final=True))
                self.finished = True
            else:
                break
        return outputs

    def _before(self, buffer: StepBuffer, previous: int | None) -> dict[str, list[Event]]:
        if previous is None:
            return {part.name: [] for part in self.rule.before}
        return {part.name: part.take(buffer, previous) for part in self.rule.before}
