"""How FastStream hands the bus a batch: parsed without decoding, whatever its headers hold."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiokafka import ConsumerRecord
from faststream.message import StreamMessage

__all__ = ["any_headers", "undecoded"]


async def undecoded(message: StreamMessage[Any]) -> StreamMessage[Any]:
    """FastStream's decoder: the message itself, undecoded.

    The processor decodes and validates each record (or dead-letters it); FastStream's own
    decoder would parse every JSON body of the batch first, for nothing.
    """
    return message


async def any_headers(
    raw: Any, parse: Callable[[Any], Awaitable[StreamMessage[Any]]]
) -> StreamMessage[Any]:
    """FastStream's parser, made to take header values that are not UTF-8 text.

    FastStream decodes every header value of a batch as UTF-8; one that is not (or is absent)
    would fail the whole batch before the bus sees it. Such a batch is parsed with those values
    escaped (``backslashreplace``), and the bus still gets the records as received: the
    processor handles or dead-letters each one as usual.
    """
    try:
        return await parse(raw)
    except (UnicodeDecodeError, AttributeError):
        message = await parse(_text_headers(raw))
        message.raw_message = raw
        return message


def _text_headers(raw: Any) -> Any:
    """The records of ``raw`` with every header value UTF-8 text (invalid bytes escaped)."""

    def text(value: bytes | str | None) -> bytes:
        if isinstance(value, str):
            return value.encode()
        return (value or b"").decode("utf-8", "backslashreplace").encode()

    records = raw if isinstance(raw, tuple) else (raw,)
    copies = []
    for record in records:
        if isinstance(record, ConsumerRecord):
            copies.append(replace(record, headers=[(k, text(v)) for k, v in record.headers]))
        else:  # a confluent-kafka Message (a C object): its headers are replaced in place
            record.set_headers([(k, text(v)) for k, v in record.headers() or ()])
            copies.append(record)
    return tuple(copies) if isinstance(raw, tuple) else copies[0]
