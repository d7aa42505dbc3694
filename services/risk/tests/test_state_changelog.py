"""The state machinery risk's changelog runs on (``jules_runtime.bus``): state as JSON, the
changelog's messages, and the bus hooks a stateful service uses."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

import pytest
from jules_contracts import Event, Trade, derive_event_id
from jules_contracts.enums import KillSwitchState
from jules_contracts.topics import MD_TRADES
from jules_runtime.bus import InMemoryBus
from jules_runtime.bus.changelog import OFFSETS, Changelog, StateWriter
from jules_runtime.bus.records import OutboundMessage
from jules_runtime.bus.state_codec import (
    StateCodecError,
    decode_state,
    dumps_state,
    encode_state,
    loads_state,
)


@dataclass(frozen=True)
class Level:
    price: float
    side: KillSwitchState


class Holder:
    def __init__(self) -> None:
        self.levels = {("a", 1): Level(1.5, KillSwitchState.HALTED)}
        self.times: deque[int] = deque([1, 2], maxlen=3)
        self.returns: deque[tuple[int, float]] = deque([(1, 0.5), (2, -0.25)], maxlen=4)
        self.mixed = (1, KillSwitchState.ACTIVE)
        self.seen = {"x", "y"}


HERE = ("jules_", __name__)


def trade(n: int) -> Trade:
    return Trade(
        event_id=derive_event_id("changelog", n),
        source="replay",
        event_time=1_000 + n,
        instrument_id="BTCUSDT.BINANCE",
        price=100.0 + n,
        size=1.0,
    )


def test_state_round_trips_objects_containers_enums_and_events() -> None:
    holder = Holder()
    value = {"holder": holder, "trade": trade(1), "nan": float("inf"), "t": (1, "a")}
    back = loads_state(dumps_state(value), packages=HERE)
    assert back["trade"] == trade(1)
    assert back["t"] == (1, "a")
    assert back["nan"] == float("inf")
    rebuilt = back["holder"]
    assert isinstance(rebuilt, Holder)
    assert rebuilt.levels == holder.levels
    assert rebuilt.times == holder.times
    assert rebuilt.times.maxlen == 3
    assert rebuilt.seen == holder.seen
    assert rebuilt.returns == holder.returns
    assert rebuilt.returns.maxlen == 4
    assert rebuilt.mixed == holder.mixed
    assert dumps_state(back) == dumps_state(value)


def test_only_the_platforms_classes_are_rebuilt() -> None:
    encoded = encode_state(Holder())
    encoded["c"] = "os:system"
    with pytest.raises(StateCodecError):
        decode_state(encoded)


def test_a_changelog_writes_what_changed_and_tombstones_what_is_gone() -> None:
    changelog = Changelog("t", "0/")
    first = changelog.changes({"a": 1, "b": 2})
    assert [(m.key, m.payload) for m in first] == [(b"0/a", b"1"), (b"0/b", b"2")]
    changelog.written()
    assert changelog.changes({"a": 1, "b": 2}) == []
    second = changelog.changes({"a": 3})
    assert [(m.key, m.payload) for m in second] == [(b"0/a", b"3"), (b"0/b", None)]


class Sent:
    def __init__(self) -> None:
        self.messages: list[OutboundMessage] = []

    async def send(self, messages: Sequence[OutboundMessage]) -> None:
        self.messages.extend(messages)

    async def enqueue(self, messages: Sequence[OutboundMessage]) -> Awaitable[object]:
        raise NotImplementedError


async def test_the_state_is_written_after_each_batch_and_restored_records_are_skipped() -> None:
    handled: list[str] = []

    async def handle(event: Event) -> Sequence[Event]:
        handled.append(event.event_id)
        return []

    sent = Sent()
    writer = StateWriter(sent, Changelog("changelog"), lambda: {"count": len(handled)})
    bus = InMemoryBus("stateful")
    processor = bus.subscribe((MD_TRADES,), handle, on_batch_done=writer.batch_done)
    await bus.start()
    await bus.publish(trade(1), trade(2), trade(3))
    processor.skip_applied({(MD_TRADES.name, 0): 2})  # a restored state holds the first two
    await bus.drain()

    assert handled == [trade(3).event_id]
    written = {m.key: loads_state(m.value) for m in sent.messages if not m.tombstone}
    assert written[b"count"] == 1
    assert written[OFFSETS.encode()] == {f"{MD_TRADES.name}:0": 3}
    assert writer.applied_offsets() == {(MD_TRADES.name, 0): 3}
    assert processor.stats.duplicates == 2


def test_restored_entities_keep_the_offsets_apart() -> None:
    writer = StateWriter(Sent(), Changelog("changelog"), dict)
    encoded = {"a": dumps_state(5), OFFSETS: dumps_state({"t:1": 7})}
    assert writer.restored(encoded) == {"a": 5}
    assert writer.applied_offsets() == {("t", 1): 7}
    assert writer.changelog.changes({"a": 5, OFFSETS: {"t:1": 7}}) == []
