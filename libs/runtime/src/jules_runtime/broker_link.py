"""Whether this process reaches its Kafka broker, and the clients' noise while it does not.

While the broker is away, the Kafka clients log every failed connection and metadata attempt:
thousands of lines a second from aiokafka. ``BrokerLink`` holds the process's state of the
link (one per process: logging is per process too) and logs each change once, ``Kafka broker
unreachable`` and ``Kafka broker reachable again``. ``OutageLogFilter``, on the clients'
loggers, turns the first connection failure into the first of those lines and drops (and
counts) every client record while the link is down. The bus's probe
(``jules_runtime.bus.reconnect``) tells the link when the broker answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from jules_runtime.logging import logger

__all__ = ["LINK", "BrokerLink", "LinkSnapshot", "OutageLogFilter", "quiet_client_loggers"]

CLIENT_LOGGER_PREFIXES = ("aiokafka", "kafka")
"""Loggers of the Kafka clients (aiokafka; FastStream's confluent transport logs librdkafka's
lines on the bus's own logger, which gets the filter from the bus)."""

CONNECTION_FAILURES = (
    "Connect call failed",
    "Connection at ",
    "NodeNotReadyError",
    "KafkaConnectionError",
    "Connection refused",
    "brokers are down",
)
"""Substrings of the clients' messages that mean the broker cannot be reached."""


@dataclass(frozen=True)
class LinkSnapshot:
    """The link's state at one moment.

    Attributes:
        reachable: Whether the broker answered last.
        down_since: ``time.monotonic()`` when the current outage began (``None`` when up).
        outages: Outages since the process started.
        suppressed: Client log records dropped during outages.
    """

    reachable: bool
    down_since: float | None
    outages: int
    suppressed: int


class BrokerLink:
    """The state of the link to the broker: up or down, with counts (thread-safe).

    Args:
        grace_s: After the broker is back, connection failures of this many seconds are
            taken as the clients' stale connections, not as a new outage.
    """

    def __init__(self, grace_s: float = 3.0) -> None:
        self._lock = threading.Lock()
        self._grace_s = grace_s
        self._down_since: float | None = None
        self._up_since = -float("inf")
        self._outages = 0
        self._suppressed = 0
        self._kinds: Counter[str] = Counter()  # of this outage's dropped records
        self._last_dropped: str | None = None

    def snapshot(self) -> LinkSnapshot:
        """The current state."""
        with self._lock:
            return LinkSnapshot(
                self._down_since is None, self._down_since, self._outages, self._suppressed
            )

    @property
    def reachable(self) -> bool:
        """Whether the broker answered last."""
        return self._down_since is None

    def lost(self, detail: str) -> bool:
        """The broker could not be reached; logs the change once.

        Returns:
            ``True`` when this call began an outage.
        """
        with self._lock:
            now = time.monotonic()
            if self._down_since is not None or now - self._up_since < self._grace_s:
                self._suppressed += 1
                return False
            self._down_since = now
            self._outages += 1
        logger.warning("Kafka broker unreachable", detail=detail)
        return True

    def restored(self) -> bool:
        """The broker answered; logs the change once.

        Returns:
            ``True`` when this call ended an outage.
        """
        with self._lock:
            if self._down_since is None:
                return False
            now = time.monotonic()
            seconds, self._down_since, self._up_since = now - self._down_since, None, now
            suppressed, kinds, last = self._suppressed, self._kinds, self._last_dropped
            self._kinds, self._last_dropped = Counter(), None
        logger.warning(
            "Kafka broker reachable again",
            outage_s=round(seconds, 3),
            suppressed_log_records=suppressed,
            dropped_by_kind=" ".join(f"{kind}={n}" for kind, n in kinds.most_common(8)),
            last_dropped=last,
        )
        return True

    def suppress(self, record: logging.LogRecord) -> bool:
        """Whether a client's log record is outage noise (and then count it).

        A connection failure while the link is up begins an outage (logged once by
        ``lost``); any client record of level WARNING or above while it is down is dropped,
        counted by kind (its first word: librdkafka's facility, or aiokafka's verb) and the
        last kept, for the line that ends the outage.
        """
        if record.levelno < logging.WARNING:
            return False
        message = record.getMessage()
        if self.reachable:
            if not any(marker in message for marker in CONNECTION_FAILURES):
                return False
            self.lost(message[:300])
            return True
        kind = message.split(" ", 1)[0].rstrip(":")
        with self._lock:
            self._suppressed += 1
            self._kinds[kind] += 1
            self._last_dropped = message[:300]
        return True


LINK = BrokerLink()
"""This process's link to its broker."""


class OutageLogFilter(logging.Filter):
    """Drops the Kafka clients' records that only repeat that the broker is away."""

    def __init__(self, link: BrokerLink = LINK) -> None:
        super().__init__()
        self.link = link

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record unless it is outage noise."""
        return not self.link.suppress(record)


_FILTER = OutageLogFilter()


def quiet_client_loggers(extra: Iterable[str] = ()) -> None:
    """Put the outage filter on the Kafka clients' loggers (and ``extra`` ones); idempotent.

    A filter of a logger sees only the records logged on that logger, so it goes on every
    client logger that exists (each client module makes its own at import).
    """
    names = [
        name
        for name in list(logging.root.manager.loggerDict)
        if name.split(".")[0] in CLIENT_LOGGER_PREFIXES
    ]
    for name in (*names, *CLIENT_LOGGER_PREFIXES, *extra):
        logging.getLogger(name).addFilter(_FILTER)
