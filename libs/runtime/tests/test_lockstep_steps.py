"""The one step definition: parts in the embedded order, rules, and the generic driver."""

from __future__ import annotations

import pytest
from jules_contracts import Event
from jules_contracts.topics import (
    FEATURES,
    MD_BARS,
    ORDERS_DECISIONS,
    ORDERS_EVENTS,
    ORDERS_INTENTS,
    PORTFOLIO,
    RISK_ALERTS,
    SIGNALS,
)
from jules_runtime.lockstep import (
    BARS,
    COLLECT_RULE,
    FEATURES_RULE,
    RISK,
    RISK_RULE,
    SIGNAL_RULE,
    STEP_ORDER,
    VECTORS,
    VENUE,
    VENUE_RULE,
    StepBuffer,
    StepDriver,
    StepOutput,
    StepRule,
    Taken,
    make_watermark,
)

from .lockstep_builders import BTC, ETH, T1, T2, bar


def test_the_step_order_is_the_embedded_loops():
    assert [part.name for part in STEP_ORDER] == ["bars", "venue", "vectors", "signals", "risk"]
    assert [t for part in STEP_ORDER for t in part.topics] == [
        MD_BARS,
        ORDERS_EVENTS,
        PORTFOLIO,
        FEATURES,
        SIGNALS,
        ORDERS_INTENTS,
        ORDERS_DECISIONS,
        RISK_ALERTS,
    ]


def test_each_services_rule_reads_and_writes_its_topics():
    assert VENUE_RULE.inputs == (MD_BARS, ORDERS_DECISIONS, ORDERS_INTENTS)
    assert VENUE_RULE.outputs == (ORDERS_EVENTS, PORTFOLIO)
    assert RISK_RULE.inputs == (MD_BARS, SIGNALS, ORDERS_EVENTS, PORTFOLIO)
    assert RISK_RULE.outputs == (ORDERS_INTENTS, ORDERS_DECISIONS, RISK_ALERTS)
    assert FEATURES_RULE.inputs == (MD_BARS,)
    assert FEATURES_RULE.outputs == (FEATURES,)
    assert SIGNAL_RULE.inputs == (MD_BARS, FEATURES)
    assert SIGNAL_RULE.outputs == (SIGNALS,)
    assert COLLECT_RULE.outputs == ()
    assert set(COLLECT_RULE.inputs) == {t for part in STEP_ORDER for t in part.topics}


def test_a_part_read_in_part_names_only_its_own_topics():
    assert RISK.only(ORDERS_DECISIONS).topics == (ORDERS_DECISIONS,)
    with pytest.raises(ValueError, match=r"no topic md\.bars"):
        RISK.only(MD_BARS)


class _Echo(StepDriver):
    """Returns the bars of each step; its finish returns what was left of them."""

    def step(self, time: int, taken: Taken) -> list[Event]:
        return list(taken.now[BARS.name])

    def finish(self, taken: Taken) -> list[Event]:
        return list(taken.now[BARS.name])


def _buffer() -> StepBuffer:
    return StepBuffer({t.name: [0] for t in (MD_BARS, FEATURES, ORDERS_EVENTS, PORTFOLIO)})


def test_a_step_runs_once_every_part_it_waits_on_reached_the_clocks_time():
    buffer = _buffer()
    driver = _Echo(StepRule(makes=VECTORS, now=(BARS, VECTORS)))
    buffer.add(MD_BARS.name, 0, bar(ETH, T1))
    buffer.add(MD_BARS.name, 0, bar(BTC, T1))
    buffer.add(MD_BARS.name, 0, make_watermark("replay", MD_BARS, 0, T1, final=False))
    assert driver.advance(buffer) == []  # the vectors of T1 are not all read
    buffer.add(FEATURES.name, 0, make_watermark("features", FEATURES, 0, T1, final=False))
    # the bars of a step come in instrument-id order
    assert driver.advance(buffer) == [StepOutput([bar(BTC, T1), bar(ETH, T1)], T1)]
    assert driver.previous == T1
    assert not driver.finished


def test_the_clock_is_the_first_part_a_rule_waits_on():
    buffer = _buffer()
    driver = _Echo(StepRule(makes=None, now=(VECTORS, BARS)))
    buffer.add(MD_BARS.name, 0, bar(BTC, T1))
    buffer.add(MD_BARS.name, 0, make_watermark("replay", MD_BARS, 0, T1, final=False))
    buffer.add(MD_BARS.name, 0, bar(BTC, T2))
    buffer.add(MD_BARS.name, 0, make_watermark("replay", MD_BARS, 0, T2, final=False))
    assert driver.advance(buffer) == []  # the clock (vectors) has no step yet
    buffer.add(FEATURES.name, 0, make_watermark("features", FEATURES, 0, T2, final=False))
    # T1 is a step of the bars only: the clock's first step is T2, which takes both bars
    assert driver.advance(buffer) == [StepOutput([bar(BTC, T1), bar(BTC, T2)], T2)]


def test_a_step_waits_for_the_parts_of_the_previous_step_it_takes():
    buffer = _buffer()
    rule = StepRule(makes=None, now=(BARS,), before=(VENUE,))
    driver = _Echo(rule)
    buffer.add(MD_BARS.name, 0, bar(BTC, T1))
    buffer.add(MD_BARS.name, 0, make_watermark("replay", MD_BARS, 0, T1, final=False))
    buffer.add(MD_BARS.name, 0, bar(BTC, T2))
    buffer.add(MD_BARS.name, 0, make_watermark("replay", MD_BARS, 0, T2, final=False))
    assert driver.advance(buffer) == [StepOutput([bar(BTC, T1)], T1)]  # nothing before T1
    for topic in VENUE.topics:
        buffer.add(topic.name, 0, make_watermark("router", topic, 0, T1, final=False))
    assert driver.advance(buffer) == [StepOutput([bar(BTC, T2)], T2)]


def test_the_final_step_comes_once_the_parts_it_ends_on_are_final():
    buffer = _buffer()
    driver = _Echo(StepRule(makes=None, now=(BARS, VENUE), final_on=(BARS,)))
    buffer.add(MD_BARS.name, 0, bar(BTC, T1))
    buffer.add(MD_BARS.name, 0, make_watermark("replay", MD_BARS, 0, T1, final=True))
    # the venue is not final, and need not be: the rule ends on the bars alone
    assert driver.advance(buffer) == [StepOutput([bar(BTC, T1)], 0, final=True)]
    assert driver.finished
    assert driver.advance(buffer) == []


def test_a_driver_whose_final_parts_are_not_final_waits():
    buffer = _buffer()
    driver = _Echo(StepRule(makes=None, now=(BARS, VENUE)))
    buffer.add(MD_BARS.name, 0, make_watermark("replay", MD_BARS, 0, T1, final=True))
    assert driver.advance(buffer) == []
    assert not driver.finished
