"""The run's audit log: which events a backtest records (``audit.level``) and where.

``all`` (the default) records every event of the run. ``decisions`` records what was decided
and done — signals, order intents, risk decisions, order events, risk alerts and control
commands — and leaves out the market data, feature vectors, portfolio snapshots and
watermarks, which the run folder's data and equity curve already hold: for parameter sweeps,
where the full log is most of a run's cost. ``off`` writes no audit log. Whatever the level,
what is recorded is chained and checkpointed exactly as in the full log, so
``jules audit verify`` checks it the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from jules_audit.store import AuditWriter
from jules_contracts import Event
from jules_contracts.topics import (
    FEATURES,
    MD_BARS,
    MD_BOOK,
    MD_QUOTES,
    MD_TRADES,
    PORTFOLIO,
    WATERMARKS,
)

from jules_backtest.config import AuditLevel

__all__ = ["NOT_DECISIONS", "audit_sink"]

NOT_DECISIONS = frozenset(
    event_type.EVENT_TYPE
    for topic in (MD_TRADES, MD_QUOTES, MD_BARS, MD_BOOK, FEATURES, PORTFOLIO, WATERMARKS)
    for event_type in topic.event_types
)
"""Event types the ``decisions`` level leaves out."""


@contextlib.contextmanager
def audit_sink(directory: Path, level: AuditLevel) -> Iterator[Callable[[Event], object]]:
    """Open the run's audit log at ``level``; yield what records one event.

    The log is checkpointed and closed on exit. With ``off`` nothing is created.
    """
    if level == "off":
        yield _ignore
        return
    with AuditWriter(directory, flush_every_record=False) as writer:
        if level == "all":
            yield writer.append
            return

        def append(event: Event) -> None:
            if event.event_type not in NOT_DECISIONS:
                writer.append(event)

        yield append


def _ignore(event: Event) -> None:
    return None
