"""Riding out a broker outage: the producer waits for the broker instead of failing.

While the broker is away the clients reconnect by themselves (the consumers keep their
positions, the idempotent producer retries the batches it sent); three things would still
fail a send before the broker is back, and this module keeps them from failing for up to
the delivery timeout (``KafkaSettings.delivery_timeout_ms``):

* aiokafka's ``send`` waits for the topic's metadata, or for room in the accumulator, only
  ``request_timeout_ms``: ``send_patiently`` retries it with a bounded exponential backoff
  (the record was not handed to the producer, so retrying cannot duplicate or reorder it);
* aiokafka fails a batch that waited longer than ``request_timeout_ms`` for a partition
  leader: ``extend_batch_lifetime`` gives batches the delivery timeout (librdkafka's
  ``message.timeout.ms`` is set to it in ``jules_runtime.bus.confluent``);
* aiokafka's producer asks for metadata again as soon as an attempt failed, thousands of
  times a second while the broker is away: ``pace_metadata_updates`` spaces the attempts
  by the client's ``retry_backoff_ms``;
* ``watch_broker`` probes the broker while the bus runs and tells ``BrokerLink`` (health,
  the outage log lines) when it is lost and back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiokafka.errors import KafkaError, KafkaTimeoutError
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

from jules_runtime.broker_link import LINK, BrokerLink

__all__ = [
    "PROBE_INTERVAL_S",
    "PROBE_MISSES",
    "all_acknowledged",
    "extend_batch_lifetime",
    "pace_metadata_updates",
    "send_patiently",
    "stop_watching",
    "watch_broker",
]

RETRY_BACKOFF_MAX_S = 2.0
"""Longest pause between two attempts of a send that found no broker."""

PROBE_INTERVAL_S = 1.0
"""Pause between two probes of the broker."""

PROBE_MISSES = 3
"""Probes in a row without an answer before the broker counts as lost: one slow answer on a
busy machine is not an outage."""

T = TypeVar("T")


def _retriable(error: BaseException) -> bool:
    return isinstance(error, KafkaTimeoutError) or (
        isinstance(error, KafkaError) and bool(getattr(error, "retriable", False))
    )


async def send_patiently(send: Callable[[], Awaitable[T]], *, deadline_s: float) -> T:
    """``send()``, attempted again while it fails for want of a broker, for ``deadline_s``.

    The first attempt costs nothing more than the call; a retriable client error (no
    metadata, no room in the accumulator, no connection) is retried with an exponential
    backoff of at most ``RETRY_BACKOFF_MAX_S``; other errors, and the last one, are raised.
    """
    try:
        return await send()
    except Exception as error:
        if not _retriable(error):
            raise
    retrying = AsyncRetrying(
        retry=retry_if_exception(_retriable),
        wait=wait_exponential(multiplier=0.05, max=RETRY_BACKOFF_MAX_S),
        stop=stop_after_delay(deadline_s),
        reraise=True,
    )
    return await retrying(send)


def extend_batch_lifetime(producer: Any, seconds: float) -> None:
    """Let the batches of an aiokafka producer wait ``seconds`` for a partition leader.

    aiokafka fails a batch whose partition has no known leader once it is older than the
    producer's ``request_timeout_ms``; after a broker restart the leaders are unknown for a
    moment, so the batches made during an outage would fail although the idempotent
    producer could still deliver them exactly once.

    Raises:
        TypeError: The producer has no accumulator of the expected shape (aiokafka changed).
    """
    accumulator = getattr(producer, "_message_accumulator", None)
    if not isinstance(getattr(accumulator, "_batch_ttl", None), int | float):
        raise TypeError(f"unexpected aiokafka producer: {producer!r}")
    accumulator._batch_ttl = max(accumulator._batch_ttl, seconds)  # type: ignore[union-attr]


def pace_metadata_updates(client: Any, backoff_s: float) -> None:
    """Space an aiokafka client's metadata requests by ``backoff_s`` after a failed one.

    The producer's sender asks for metadata again as soon as an update fails, and an update
    fails at once while the broker refuses connections: a busy loop. After a failure, a
    request within ``backoff_s`` gets a future that completes (``False``: not updated) when
    the pause is over.

    Raises:
        TypeError: The client has no ``force_metadata_update`` (aiokafka changed).
    """
    force = getattr(client, "force_metadata_update", None)
    if not callable(force):
        raise TypeError(f"unexpected aiokafka client: {client!r}")
    loop = asyncio.get_running_loop()
    failed_at = -float("inf")

    def note(update: asyncio.Future[bool]) -> None:
        nonlocal failed_at
        if not update.cancelled() and update.exception() is None and update.result() is False:
            failed_at = loop.time()

    def paced() -> asyncio.Future[bool]:
        pause = failed_at + backoff_s - loop.time()
        if pause > 0:
            return asyncio.ensure_future(asyncio.sleep(pause, result=False))
        update: asyncio.Future[bool] = force()
        if update.done():  # awaiting it would not yield: note the failure now
            note(update)
        else:
            update.add_done_callback(note)
        return update

    client.force_metadata_update = paced


async def all_acknowledged(acks: Sequence[Awaitable[object]]) -> list[object]:
    """Wait for every acknowledgement; raise the first error once all have settled.

    Unlike ``asyncio.gather``, every failure is retrieved (none is reported as "never
    retrieved" later), and nothing is left pending when an error is raised.
    """
    results = await asyncio.gather(*acks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


async def watch_broker(
    ping: Callable[[float], Awaitable[bool]],
    link: BrokerLink = LINK,
    *,
    interval_s: float = PROBE_INTERVAL_S,
    misses: int = PROBE_MISSES,
) -> None:
    """Probe the broker every ``interval_s`` until cancelled; tell ``link`` what it found.

    The broker is lost after ``misses`` probes in a row go unanswered, and back at the first
    answer.
    """
    missed = 0
    while True:
        try:
            answered = await ping(interval_s)
        except Exception:  # a client in the middle of reconnecting: not an answer
            answered = False
        missed = 0 if answered else missed + 1
        if answered:
            link.restored()
        elif missed >= misses:
            link.lost(f"the broker did not answer {missed} probes in a row")
        await asyncio.sleep(interval_s)


async def stop_watching(task: asyncio.Task[None] | None) -> None:
    """Cancel a ``watch_broker`` task and wait for it."""
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
