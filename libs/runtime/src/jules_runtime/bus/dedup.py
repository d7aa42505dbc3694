"""Deduplication by ``event_id``, for effects that must happen once.

Kafka delivers at least once: a service that crashes after acting on a message but before
committing its offset reads the message again. An effect that must not repeat (an order sent,
a fill booked, an audit record written) is guarded by a store that remembers which event ids
took effect. ``SqliteDedupStore`` keeps them on disk and runs the effect in the same
transaction as the mark, so the two cannot disagree after a crash.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

__all__ = ["DedupStore", "MemoryDedupStore", "SqliteDedupStore"]


class DedupStore(Protocol):
    """Remembers which event ids have taken effect."""

    def first_time(self, event_id: str) -> bool:
        """Mark ``event_id`` as done; return ``True`` only the first time it is seen."""
        ...

    def seen(self, event_id: str) -> bool:
        """Whether ``event_id`` has been marked."""
        ...


class MemoryDedupStore:
    """An in-process store of the most recent ``capacity`` event ids (for the embedded node)."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be positive, not {capacity}")
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def first_time(self, event_id: str) -> bool:
        """Mark ``event_id`` as done; return ``True`` only the first time it is seen."""
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return False
        self._ids[event_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True

    def seen(self, event_id: str) -> bool:
        """Whether ``event_id`` has been marked."""
        return event_id in self._ids


class SqliteDedupStore:
    """A durable store in one SQLite file (WAL mode), for services that survive restarts."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS processed (event_id TEXT PRIMARY KEY)")

    @property
    def connection(self) -> sqlite3.Connection:
        """The SQLite connection, for effects stored beside the marks."""
        return self._db

    def first_time(self, event_id: str) -> bool:
        """Mark ``event_id`` as done; return ``True`` only the first time it is seen."""
        with self.once(event_id) as first:
            return first

    def seen(self, event_id: str) -> bool:
        """Whether ``event_id`` has been marked."""
        row = self._db.execute("SELECT 1 FROM processed WHERE event_id = ?", (event_id,))
        return row.fetchone() is not None

    @contextmanager
    def once(self, event_id: str) -> Iterator[bool]:
        """Run an effect at most once for ``event_id``, atomically with the mark.

        Yields ``True`` the first time (apply the effect through ``connection`` inside the
        block) and ``False`` after. The mark and the effect commit together when the block
        ends, and roll back together if it raises.
        """
        self._db.execute("BEGIN IMMEDIATE")
        try:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO processed (event_id) VALUES (?)", (event_id,)
            )
            yield cursor.rowcount == 1
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the database."""
        self._db.close()
