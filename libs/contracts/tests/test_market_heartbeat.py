"""Live market-data's heartbeat: a ``Watermark`` on ``watermarks.v1`` telling the market time."""

from __future__ import annotations

from jules_contracts import (
    MARKET_HEARTBEAT_STREAM,
    Watermark,
    decode_event,
    encode_event,
    is_market_heartbeat,
    market_heartbeat,
)
from jules_contracts.topics import WATERMARKS, topic_for

T = 1_723_111_200_000_000_000


def test_a_heartbeat_is_market_datas_watermark_of_the_live_stream() -> None:
    beat = market_heartbeat(T)
    assert isinstance(beat, Watermark)
    assert (beat.source, beat.service, beat.stream, beat.watermark, beat.event_time) == (
        "market-data",
        "market-data",
        MARKET_HEARTBEAT_STREAM,
        T,
        T,
    )
    assert (beat.partition, beat.final) == (None, False)
    assert topic_for(beat) is WATERMARKS
    assert decode_event(encode_event(beat)) == beat


def test_a_heartbeats_id_is_derived_from_its_time() -> None:
    assert market_heartbeat(T).event_id == market_heartbeat(T).event_id
    assert market_heartbeat(T).event_id != market_heartbeat(T + 1).event_id


def test_only_market_datas_live_watermark_is_a_heartbeat() -> None:
    beat = market_heartbeat(T)
    assert is_market_heartbeat(beat)
    assert not is_market_heartbeat(beat.model_copy(update={"service": "order-router"}))
    assert not is_market_heartbeat(beat.model_copy(update={"stream": "md.bars.v1"}))
