"""Deduplication by event_id: in memory and durable in SQLite."""

from __future__ import annotations

import pytest
from jules_runtime.bus import MemoryDedupStore, SqliteDedupStore


def test_memory_store_reports_first_time_only_once():
    store = MemoryDedupStore()
    assert store.first_time("a") is True
    assert store.first_time("a") is False
    assert store.seen("a")
    assert not store.seen("b")


def test_memory_store_forgets_the_oldest_beyond_capacity():
    store = MemoryDedupStore(capacity=2)
    for event_id in ("a", "b", "c"):
        store.first_time(event_id)
    assert not store.seen("a")
    assert store.seen("b")
    assert store.seen("c")


def test_memory_store_refuses_a_non_positive_capacity():
    with pytest.raises(ValueError, match="capacity"):
        MemoryDedupStore(capacity=0)


def test_sqlite_store_remembers_across_reopening(tmp_path):
    path = tmp_path / "dedup.sqlite"
    store = SqliteDedupStore(path)
    assert store.first_time("e1") is True
    store.close()

    reopened = SqliteDedupStore(path)
    assert reopened.first_time("e1") is False
    assert reopened.seen("e1")


def test_sqlite_effect_and_mark_commit_together(tmp_path):
    store = SqliteDedupStore(tmp_path / "dedup.sqlite")
    store.connection.execute("CREATE TABLE effects (event_id TEXT)")
    for _ in range(3):
        with store.once("e1") as first:
            if first:
                store.connection.execute("INSERT INTO effects VALUES ('e1')")
    assert store.connection.execute("SELECT count(*) FROM effects").fetchone() == (1,)


def test_sqlite_effect_that_fails_rolls_back_the_mark(tmp_path):
    store = SqliteDedupStore(tmp_path / "dedup.sqlite")
    with pytest.raises(RuntimeError), store.once("e1"):
        raise RuntimeError("crash inside the effect")
    assert not store.seen("e1")
    assert store.first_time("e1") is True
