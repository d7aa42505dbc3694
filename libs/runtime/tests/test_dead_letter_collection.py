"""Dead letters read back: one per message dead-lettered, its copies counted."""

from __future__ import annotations

from jules_contracts import DeadLetterReason
from jules_runtime.bus import InboundRecord
from jules_runtime.bus.dead_letters import collect_dead_letters
from jules_runtime.bus.records import dead_letter_message


def bad(offset: int) -> InboundRecord:
    """A message that could not be decoded, read at ``offset`` of md.bars.v1."""
    return InboundRecord("md.bars.v1", 0, offset, b"BTCUSD.COINBASE", b"{not json", (), 0)


def letter(record: InboundRecord, at: int) -> InboundRecord:
    """``record``'s dead letter as read back from the DLQ, at offset ``at`` there."""
    message = dead_letter_message(record, DeadLetterReason.UNDECODABLE, "no JSON", "features")
    headers = tuple((name, value.encode()) for name, value in message.headers.items())
    return InboundRecord(message.topic, 0, at, message.key, message.value, headers, 0)


def test_a_message_dead_lettered_again_after_a_crash_is_one_letter_with_two_copies() -> None:
    foreign = InboundRecord("md.bars.v1.dlq", 0, 4, None, b"put here by hand", (), 0)
    records = [letter(bad(7), 0), letter(bad(8), 1), letter(bad(7), 2), foreign]

    found = collect_dead_letters(records)

    assert [(d.origin_offset, d.reason, d.service) for d in found.letters] == [
        (7, DeadLetterReason.UNDECODABLE, "features"),
        (8, DeadLetterReason.UNDECODABLE, "features"),
    ]
    assert found.letters[0].payload == "{not json"
    assert [found.copies[d.event_id] for d in found.letters] == [2, 1]
    assert found.repeated == 1
    assert found.foreign == {"md.bars.v1.dlq": 1}
