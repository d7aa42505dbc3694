"""Message-rate throttle over a rolling window of event time."""

from __future__ import annotations

from collections import deque

__all__ = ["RollingThrottle"]


class RollingThrottle:
    """Counts orders in the rolling window ``(now - window, now]`` of event time.

    An order at ``t`` stops counting at ``t + window``. The window length and the limit are
    passed at each call, so a configuration change applies at once.
    """

    def __init__(self) -> None:
        self._times: deque[int] = deque()

    def count(self, now: int, window_ns: int) -> int:
        """Orders recorded in ``(now - window_ns, now]``."""
        while self._times and self._times[0] <= now - window_ns:
            self._times.popleft()
        return len(self._times)

    def record(self, time: int) -> None:
        """Record an order sent at ``time``; times never decrease (the engine's clock)."""
        if self._times and time < self._times[-1]:
            raise ValueError(f"throttle time {time} is before the last one {self._times[-1]}")
        self._times.append(time)
