"""The live feed's market clock (``jules_market_data.live_clock``) and heartbeat setting."""

from __future__ import annotations

import pytest
from jules_market_data.config import LiveSettings
from jules_market_data.live_clock import MarketClock
from pydantic import ValidationError

SECOND = 1_000_000_000
VENUE_T = 1_723_111_200 * SECOND  # a recorded market: far behind the local clock


class FakeClock:
    def __init__(self) -> None:
        self.ns = 5 * SECOND

    def __call__(self) -> int:
        return self.ns


def test_the_clock_knows_no_time_before_the_first_event() -> None:
    assert MarketClock(FakeClock()).now() is None


def test_the_clock_runs_on_from_the_last_event_while_nothing_arrives() -> None:
    local = FakeClock()
    clock = MarketClock(local)
    clock.observe(VENUE_T)
    local.ns += 7 * SECOND
    assert clock.now() == VENUE_T + 7 * SECOND


def test_a_later_event_moves_the_clock_on_and_an_older_one_does_not_pull_it_back() -> None:
    local = FakeClock()
    clock = MarketClock(local)
    clock.observe(VENUE_T)
    local.ns += SECOND
    clock.observe(VENUE_T + 30 * SECOND)  # a venue replaying faster than real time
    assert clock.now() == VENUE_T + 30 * SECOND
    clock.observe(VENUE_T - 60 * SECOND)  # a backfilled trade
    local.ns += 2 * SECOND
    assert clock.now() == VENUE_T + 32 * SECOND


def test_the_heartbeat_is_on_by_default_and_can_be_turned_off() -> None:
    assert LiveSettings().heartbeat_s == 1.0
    assert LiveSettings(heartbeat_s=None).heartbeat_s is None


@pytest.mark.parametrize("bad", [0, -1, float("inf"), 7_200])
def test_a_heartbeat_interval_out_of_range_is_refused(bad: float) -> None:
    with pytest.raises(ValidationError, match="heartbeat_s"):
        LiveSettings(heartbeat_s=bad)
