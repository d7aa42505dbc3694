"""Every Kafka topic of the platform, its key and its dead-letter topic.

This module is the only place topic names exist. Names are ``<domain>.<stream>.v<major>``;
each topic ``t`` has a dead-letter topic ``t.dlq``. A run scope prefixes every name
(``bt-<run>.md.trades.v1``) so many backtests share one cluster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from jules_contracts.base import Event
from jules_contracts.control import ChangeConfig, EngageKillSwitch, ReleaseKillSwitch, SwapModel
from jules_contracts.features import FeatureVector
from jules_contracts.market_data import Bar, BookDelta, BookSnapshot, Quote, Trade
from jules_contracts.orders import (
    CancelOrder,
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderResized,
    SubmitOrder,
)
from jules_contracts.portfolio import PortfolioSnapshot
from jules_contracts.risk import RiskAlert
from jules_contracts.signals import SignalGenerated
from jules_contracts.system import AuditCheckpoint, Watermark

__all__ = [
    "ALL_TOPICS",
    "AUDIT_CHECKPOINTS",
    "CONTROL",
    "CONTROL_STATE",
    "DLQ_SUFFIX",
    "FEATURES",
    "IN_BAND_WATERMARK_TOPICS",
    "MD_BARS",
    "MD_BOOK",
    "MD_QUOTES",
    "MD_TRADES",
    "ORDERS_DECISIONS",
    "ORDERS_EVENTS",
    "ORDERS_INTENTS",
    "ORDER_ROUTER_CHANGELOG",
    "PORTFOLIO",
    "RISK_ALERTS",
    "RISK_CHANGELOG",
    "SECONDARY_TOPICS",
    "SIGNALS",
    "SIGNALS_SHADOW",
    "STATE_TOPICS",
    "WATERMARKS",
    "StateTopic",
    "Topic",
    "backtest_scope",
    "topic_for",
    "topic_named",
]

DLQ_SUFFIX: Final = ".dlq"
_SCOPE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic: its name, what it carries and how its messages are keyed.

    Attributes:
        name: ``<domain>.<stream>.v<major>``.
        event_types: The event classes it carries.
        key_field: The event attribute whose value is the message key (per-key order is
            kept, so the key is the instrument wherever there is one).
        default_key: Key of an event whose ``key_field`` is ``None``.
        description: One line for people.
    """

    name: str
    event_types: tuple[type[Event], ...]
    key_field: str
    default_key: str
    description: str

    @property
    def dlq(self) -> str:
        """The dead-letter topic of this topic (unscoped)."""
        return self.name + DLQ_SUFFIX

    @property
    def checks_key(self) -> bool:
        """Whether a consumer refuses a message whose key is not ``key_for(event)``.

        True for topics keyed by instrument: a key that is not the event's instrument puts
        the event on another partition than its instrument's, out of its order. Consumers
        dead-letter such a message (``WRONG_KEY``).
        """
        return self.key_field == "instrument_id"

    def key_for(self, event: Event) -> str:
        """Return the message key of ``event`` on this topic."""
        value = getattr(event, self.key_field, None)
        return self.default_key if value is None else str(value)

    def scoped(self, scope: str | None) -> str:
        """Return the topic name within a run scope (``None``: the live, unscoped name)."""
        return self.name if scope is None else f"{_check_scope(scope)}.{self.name}"

    def scoped_dlq(self, scope: str | None) -> str:
        """Return the dead-letter topic name within a run scope."""
        return self.scoped(scope) + DLQ_SUFFIX


@dataclass(frozen=True, slots=True)
class StateTopic:
    """A compacted topic holding state by key (not events): the latest value of each key.

    Attributes:
        name: ``<owner>.<stream>.v<major>``.
        description: One line for people.
    """

    name: str
    description: str

    def scoped(self, scope: str | None) -> str:
        """Return the topic name within a run scope (``None``: the live, unscoped name)."""
        return self.name if scope is None else f"{_check_scope(scope)}.{self.name}"


def _check_scope(scope: str) -> str:
    if not _SCOPE_RE.fullmatch(scope):  # fullmatch: `$` alone lets a trailing newline in
        raise ValueError(
            f"run scope {scope!r} must be 1-63 lowercase letters, digits or '-', "
            "starting with a letter or digit"
        )
    return scope


def backtest_scope(run_id: str) -> str:
    """Return the scope of a backtest run's topics: ``bt-<run_id>``."""
    return _check_scope(f"bt-{run_id}")


MD_TRADES: Final = Topic(
    "md.trades.v1", (Trade, Watermark), "instrument_id", "", "Trades printed by venues."
)
MD_QUOTES: Final = Topic(
    "md.quotes.v1", (Quote, Watermark), "instrument_id", "", "Best bid and offer."
)
MD_BARS: Final = Topic("md.bars.v1", (Bar, Watermark), "instrument_id", "", "OHLCV bars, closed.")
MD_BOOK: Final = Topic(
    "md.book.v1",
    (BookSnapshot, BookDelta, Watermark),
    "instrument_id",
    "",
    "L2 order books: snapshots and the deltas after them.",
)
FEATURES: Final = Topic(
    "features.v1",
    (FeatureVector, Watermark),
    "instrument_id",
    "",
    "Feature vectors per instrument.",
)
SIGNALS: Final = Topic(
    "signals.v1",
    (SignalGenerated, Watermark),
    "instrument_id",
    "",
    "Signals of strategies and policies.",
)
SIGNALS_SHADOW: Final = Topic(
    "signals.shadow.v1",
    (SignalGenerated,),
    "instrument_id",
    "",
    "Signals of a model in shadow mode: compared with production, never traded on.",
)
ORDERS_INTENTS: Final = Topic(
    "orders.intents.v1",
    (SubmitOrder, CancelOrder, Watermark),
    "instrument_id",
    "",
    "Order commands, before risk.",
)
ORDERS_DECISIONS: Final = Topic(
    "orders.decisions.v1",
    (OrderApproved, OrderDenied, Watermark),
    "instrument_id",
    "",
    "Risk decisions on order commands.",
)
ORDERS_EVENTS: Final = Topic(
    "orders.events.v1",
    (
        OrderAccepted,
        OrderRejected,
        OrderResized,
        OrderPartiallyFilled,
        OrderFilled,
        OrderCanceled,
        OrderExpired,
        Watermark,
    ),
    "instrument_id",
    "",
    "Order lifecycle reported by the order-router.",
)
PORTFOLIO: Final = Topic(
    "portfolio.v1", (PortfolioSnapshot, Watermark), "account_id", "", "Cash, positions and PnL."
)
RISK_ALERTS: Final = Topic(
    "risk.alerts.v1",
    (RiskAlert, Watermark),
    "instrument_id",
    "portfolio",
    "Limit breaches, halts, refused models.",
)
CONTROL: Final = Topic(
    "control.v1",
    (EngageKillSwitch, ReleaseKillSwitch, ChangeConfig, SwapModel),
    "target",
    "*",
    "Kill switch, configuration changes and model swaps.",
)
WATERMARKS: Final = Topic(
    "watermarks.v1",
    (Watermark,),
    "service",
    "",
    "How far in event time each service has processed.",
)
AUDIT_CHECKPOINTS: Final = Topic(
    "audit.checkpoints.v1",
    (AuditCheckpoint,),
    "segment",
    "",
    "Checkpoints of the hash-chained audit record.",
)

RISK_CHANGELOG: Final = StateTopic(
    "risk.changelog.v1",
    "The risk service's state by entity (positions, working orders, limits, kill switch).",
)
ORDER_ROUTER_CHANGELOG: Final = StateTopic(
    "order-router.changelog.v1",
    "The order-router's state by entity (account, positions, working orders).",
)
CONTROL_STATE: Final = StateTopic(
    "control-state.v1",
    "The control state in force by target: kill switch, configuration changes, model.",
)
STATE_TOPICS: Final[tuple[StateTopic, ...]] = (
    RISK_CHANGELOG,
    ORDER_ROUTER_CHANGELOG,
    CONTROL_STATE,
)
"""Compacted state topics (``cleanup.policy=compact``); not event topics (``ALL_TOPICS``)."""

ALL_TOPICS: Final[tuple[Topic, ...]] = (
    MD_TRADES,
    MD_QUOTES,
    MD_BARS,
    MD_BOOK,
    FEATURES,
    SIGNALS,
    SIGNALS_SHADOW,
    ORDERS_INTENTS,
    ORDERS_DECISIONS,
    ORDERS_EVENTS,
    PORTFOLIO,
    RISK_ALERTS,
    CONTROL,
    WATERMARKS,
    AUDIT_CHECKPOINTS,
)
"""Every topic (dead-letter topics are ``topic.dlq``)."""

IN_BAND_WATERMARK_TOPICS: Final[tuple[Topic, ...]] = (
    MD_BARS,
    MD_QUOTES,
    MD_TRADES,
    MD_BOOK,
    FEATURES,
    SIGNALS,
    ORDERS_INTENTS,
    ORDERS_DECISIONS,
    ORDERS_EVENTS,
    PORTFOLIO,
    RISK_ALERTS,
)
"""Data topics that also carry their producers' ``Watermark`` events (topic-replay backtests).

A watermark's own topic is ``watermarks.v1``; on these topics it is written to one partition
(``Watermark.partition``) with ``Watermark.stream`` naming the topic."""

SECONDARY_TOPICS: Final[tuple[Topic, ...]] = (SIGNALS_SHADOW,)
"""Topics carrying events whose home is another topic: a shadow model's signals are
``SignalGenerated`` events like production's, but ``topic_for`` names ``signals.v1`` and the
producer names the secondary topic explicitly."""

_BY_EVENT: Final[dict[type[Event], Topic]] = {
    cls: topic
    for topic in ALL_TOPICS
    if topic not in SECONDARY_TOPICS
    for cls in topic.event_types
    if cls is not Watermark or topic is WATERMARKS
}


def topic_for(event: Event | type[Event]) -> Topic:
    """Return the topic an event is published on.

    Raises:
        KeyError: The event has no topic of its own (a dead-letter record).
    """
    cls = event if isinstance(event, type) else type(event)
    return _BY_EVENT[cls]


_BY_NAME: Final[dict[str, Topic]] = {topic.name: topic for topic in ALL_TOPICS}


def topic_named(name: str) -> Topic:
    """Return the topic called ``name`` (unscoped).

    Raises:
        KeyError: No topic has that name.
    """
    return _BY_NAME[name]
