"""State that survives ``kill -9``: risk and the order-router restore their changelogs.

Each stateful service runs as its own process on the real broker over a recorded feed (real
Coinbase minute bars, as the services' own integration tests use) and is SIGKILLed three times
at different moments (while a burst of inputs is being processed, right after a command was
published, at rest), then restarted. At the end its state (positions, working orders with
their fills, limits, kill switch: the changelog's entities) equals that of an uninterrupted run
of the same feed, and so do its outputs: the same event ids (a message read again gives the
same events, deduplicated downstream by ``event_id``), no order lost, none doubled.

Inputs go one topic at a time and the test waits until the service's changelog says it has
applied everything published (its ``offsets`` entity reaches the end of every input topic):
the order across topics is then the same in both runs.

Also: a kill switch engaged and then ``kill -9`` stays engaged after the restart, and two
replicas of risk both obey one control command (``control.v1`` read by broadcast).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, Literal

from jules_contracts import (
    Bar,
    EngageKillSwitch,
    Event,
    KillSwitchState,
    OrderAccepted,
    OrderApproved,
    OrderPartiallyFilled,
    decode_event,
    derive_event_id,
    topic_for,
)
from jules_contracts.control import ChangeConfig
from jules_contracts.topics import (
    CONTROL_STATE,
    ORDER_ROUTER_CHANGELOG,
    ORDERS_DECISIONS,
    ORDERS_EVENTS,
    ORDERS_INTENTS,
    PORTFOLIO,
    RISK_ALERTS,
    RISK_CHANGELOG,
    StateTopic,
    Topic,
)
from jules_order_router.handlers import INPUT_TOPICS as ROUTER_INPUTS
from jules_risk.handlers import INPUT_TOPICS as RISK_INPUTS
from jules_runtime.bus import KafkaBus
from jules_runtime.bus.changelog import OFFSETS, decoded, read_state
from jules_runtime.bus.reader import end_offsets, read_records
from jules_runtime.bus.state_codec import dumps_state
from jules_runtime.settings import KafkaSettings

from . import test_order_router_service as router_it
from . import test_risk_service as risk_it
from .bus_helpers import create_scoped_topics, new_scope, wait_until
from .service_process import ServiceProcess, http_text, start_service

CLIENT = "it-state-restore"


async def changelog(settings: KafkaSettings, topic: StateTopic, scope: str) -> dict[str, Any]:
    """The entities of replica 0's changelog now."""
    return decoded(await read_state(settings, topic.scoped(scope), client_id=CLIENT, prefix="0/"))


async def caught_up(
    settings: KafkaSettings, topic: StateTopic, scope: str, inputs: Sequence[Topic]
) -> bool:
    """Whether the service's changelog holds the effects of everything on its input topics."""
    ends = {}
    for input_topic in inputs:
        ends.update(await end_offsets(settings, input_topic.scoped(scope), client_id=CLIENT))
    applied = (await changelog(settings, topic, scope)).get(OFFSETS, {})
    return all(applied.get(f"{tp.topic}:{tp.partition}", 0) >= end for tp, end in ends.items())


async def wait_caught_up(
    settings: KafkaSettings,
    topic: StateTopic,
    scope: str,
    inputs: Sequence[Topic],
    service: ServiceProcess,
    timeout_s: float = 60,
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await caught_up(settings, topic, scope, inputs):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{service.name} not caught up: {service.log.read_text()[-3000:]}")
        await asyncio.sleep(0.2)


async def events_on(settings: KafkaSettings, topic: Topic, scope: str) -> list[Event]:
    records = await read_records(settings, topic.scoped(scope), client_id=CLIENT)
    return [decode_event(record.value) for record in records]


class Run:
    """One service process over one scope, killed and restarted on demand."""

    def __init__(self, name: str, bootstrap: str, scope: str, log_dir: Path, **env: str) -> None:
        self.name, self.bootstrap, self.scope = name, bootstrap, scope
        self.log_dir, self.env = log_dir, env
        self.lives = 0
        self.kills = 0
        self.service = self._start()

    def _start(self) -> ServiceProcess:
        self.lives += 1
        directory = self.log_dir / f"{self.name}-{self.scope}-{self.lives}"
        directory.mkdir(parents=True)
        service = start_service(self.name, self.bootstrap, self.scope, directory, **self.env)
        service.wait_ready()
        return service

    def kill_and_restart(self) -> None:
        """``kill -9`` the service, then start it again (its state is restored first)."""
        assert self.service.kill() == -9
        self.kills += 1
        self.service = self._start()
        assert '"message":"state restored"' in self.service.log.read_text()

    def stop(self) -> None:
        self.service.terminate()


def stable(entities: dict[str, Any]) -> dict[str, str]:
    """Entities as comparable text, without the offsets (a killed run reads some twice)."""
    return {k: dumps_state(v).decode() for k, v in entities.items() if k != OFFSETS}


def once_each(
    events: Sequence[Event], cls: type[OrderAccepted] | type[OrderApproved]
) -> Counter[str]:
    """How many distinct events of ``cls`` each client order id has (by event id)."""
    distinct = {e.event_id: e for e in events if isinstance(e, cls)}
    return Counter(e.client_order_id for e in distinct.values())


def events(items: Sequence[Event]) -> list[Event]:
    return list(items)


# --- risk -------------------------------------------------------------------------------


def risk_feed() -> list[list[Event]]:
    """Risk's inputs, one topic per step: bars, snapshots, signals, fills, control commands."""
    bars = risk_it.real_bars(40)
    reference = risk_it.Reference()
    steps: list[list[Event]] = [[risk_it.snapshot(bars[0], 100_000.0)], events(bars[0:20])]
    buy = risk_it.signal(bars[19], 0.5)
    for event in steps[0] + steps[1]:
        reference.feed(event)
    approved = reference.feed(buy)[-1]
    assert isinstance(approved, OrderApproved)
    accepted, _ = risk_it.fill(approved, bars[20])
    assert isinstance(accepted, OrderAccepted)
    half = approved.quantity / 2
    partial = OrderPartiallyFilled.derive(
        accepted,
        source="order-router",
        client_order_id=approved.client_order_id,
        instrument_id=approved.instrument_id,
        venue_order_id="sim-1",
        side=approved.order.side,
        fill_id="sim-fill-half",
        last_quantity=half,
        last_price=bars[20].open,
        cumulative_quantity=half,
        leaves_quantity=approved.quantity - half,
        average_price=bars[20].open,
    )
    limit = ChangeConfig(
        event_id=derive_event_id("it-state-limit"),
        source="it-operator",
        event_time=bars[25].event_time,
        target="risk",
        key="limits.max_open_orders",
        value=3,
        operator="alice",
    )
    reducing = EngageKillSwitch(
        event_id=derive_event_id("it-state-kill"),
        source="it-operator",
        event_time=bars[26].event_time,
        target="risk",
        state=KillSwitchState.REDUCING,
        instrument_id=risk_it.ETH,
        operator="alice",
        reason="venue slow",
    )
    steps += [
        [buy],
        [accepted, partial],
        events(bars[20:30]),
        [risk_it.snapshot(bars[29], 100_500.0, half, bars[20].open)],
        [limit],
        [reducing],
        events(bars[30:40]),
        [risk_it.signal(bars[38], 0.4)],
        [risk_it.signal(bars[39], 0.1)],
    ]
    return steps


async def feed_with_kills(
    settings: KafkaSettings,
    run: Run,
    steps: Sequence[Sequence[Event]],
    kill_at: dict[int, str],
    changelog_topic: StateTopic,
    inputs: Sequence[Topic],
) -> None:
    """Publish each step and wait until it is applied; ``kill_at``: step index → ``published``
    (``kill -9`` at once, while the step is handled) or ``done`` (once it is applied)."""
    try:
        async with KafkaBus("it-feed", settings, run.scope) as feed:
            for index, step in enumerate(steps):
                assert len({topic_for(event) for event in step}) == 1
                await feed.publish(*step)
                if kill_at.get(index) == "published":
                    run.kill_and_restart()
                if isinstance(step[0], ChangeConfig | EngageKillSwitch):
                    await wait_control_state(settings, run.scope, step[0])
                else:
                    await wait_caught_up(settings, changelog_topic, run.scope, inputs, run.service)
                if kill_at.get(index) == "done":
                    run.kill_and_restart()
            await wait_caught_up(settings, changelog_topic, run.scope, inputs, run.service)
    finally:
        run.stop()


async def run_risk(
    settings: KafkaSettings, bootstrap: str, log_dir: Path, kill_at: dict[int, str]
) -> tuple[str, Run]:
    """Feed risk, killed at ``kill_at`` (see ``feed_with_kills``)."""
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    run = Run("risk", bootstrap, scope, log_dir, **risk_it.SETTINGS)
    await feed_with_kills(settings, run, risk_feed(), kill_at, RISK_CHANGELOG, RISK_INPUTS)
    return scope, run


async def wait_control_state(settings: KafkaSettings, scope: str, command: Event) -> None:
    async def applied() -> bool:
        state = decoded(await read_state(settings, CONTROL_STATE.scoped(scope), client_id=CLIENT))
        return any(entry["command"].event_id == command.event_id for entry in state.values())

    deadline = asyncio.get_running_loop().time() + 60
    while not await applied():
        assert asyncio.get_running_loop().time() < deadline, "control command not applied"
        await asyncio.sleep(0.2)


async def test_risk_killed_three_times_ends_as_an_uninterrupted_run(kafka, tmp_path):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    reference_scope, _ = await run_risk(settings, kafka.bootstrap, tmp_path, {})
    kills = {1: "published", 3: "published", 6: "done"}
    scope, run = await run_risk(settings, kafka.bootstrap, tmp_path, kills)
    assert run.kills == 3

    expected = await changelog(settings, RISK_CHANGELOG, reference_scope)
    restored = await changelog(settings, RISK_CHANGELOG, scope)
    assert stable(restored) == stable(expected)
    book = restored["book"]
    assert restored["config"].limits.max_open_orders == 3
    assert restored[f"position/{risk_it.ETH}"]["quantity"] > 0
    assert restored["kill_switch"]._instruments == {risk_it.ETH: KillSwitchState.REDUCING}
    assert book["working"], "the partially filled order is still working"

    for topic in (ORDERS_INTENTS, ORDERS_DECISIONS, RISK_ALERTS):
        ours = await events_on(settings, topic, scope)
        theirs = await events_on(settings, topic, reference_scope)
        assert {e.event_id for e in ours} == {e.event_id for e in theirs}, topic.name
    decisions = await events_on(settings, ORDERS_DECISIONS, scope)
    assert set(once_each(decisions, OrderApproved).values()) == {1}


def engage(
    name: str, state: Literal[KillSwitchState.REDUCING, KillSwitchState.HALTED]
) -> EngageKillSwitch:
    """An operator's kill switch for the whole book."""
    return EngageKillSwitch(
        event_id=derive_event_id(name),
        source="it-operator",
        event_time=1,
        target="risk",
        state=state,
        operator="alice",
        reason="test",
    )


async def test_a_kill_switch_engaged_survives_kill_9(kafka, tmp_path):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    run = Run("risk", kafka.bootstrap, scope, tmp_path, **risk_it.SETTINGS)
    halt = engage("it-state-halt", KillSwitchState.HALTED)
    try:
        async with KafkaBus("it-feed", settings, scope) as feed:
            await feed.publish(halt)
        # killed as soon as the switch is engaged (perhaps before it is on the control state):
        # the restarted service reads the command again
        await wait_until(partial(halted, run.service), timeout_s=30)
        run.kill_and_restart()
        await wait_until(partial(halted, run.service), timeout_s=30)
        # killed once the switch is on the control state: engaged as soon as it is ready
        await wait_control_state(settings, scope, halt)
        run.kill_and_restart()
        assert halted(run.service)
    finally:
        run.stop()


async def test_two_risk_replicas_both_obey_a_control_command(kafka, tmp_path):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    replicas = [
        Run("risk", kafka.bootstrap, scope, tmp_path / name, REPLICA=name, **risk_it.SETTINGS)
        for name in ("0", "1")
    ]
    command = engage("it-state-broadcast", KillSwitchState.REDUCING)
    try:
        async with KafkaBus("it-feed", settings, scope) as feed:
            await feed.publish(command)
        for replica in replicas:
            await wait_until(partial(reducing, replica.service), 30)
    finally:
        for replica in replicas:
            replica.stop()


def reducing(service: ServiceProcess) -> bool:
    return kill_switch(service) == "REDUCING"


def halted(service: ServiceProcess) -> bool:
    return kill_switch(service) == "HALTED"


def kill_switch(service: ServiceProcess) -> str:
    state: str = json.loads(http_text(service.base_url + "/kill-switch"))["state"]
    return state


# --- order-router -----------------------------------------------------------------------


def router_feed() -> list[list[Event]]:
    """The router's inputs, one topic per step: bursts of bars, decisions, a cancel."""
    steps: list[list[Event]] = []
    for step in router_it.script(router_it.real_bars(router_it.MINUTES)):
        if isinstance(step, Bar) and steps and isinstance(steps[-1][0], Bar):
            steps[-1].append(step)
        else:
            steps.append([step])
    return steps


async def run_router(
    settings: KafkaSettings, bootstrap: str, log_dir: Path, kill_at: dict[int, str]
) -> tuple[str, Run]:
    """Feed the router, killed at ``kill_at`` (see ``feed_with_kills``)."""
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    run = Run("order-router", bootstrap, scope, log_dir, **router_it.SETTINGS)
    steps = router_feed()
    await feed_with_kills(settings, run, steps, kill_at, ORDER_ROUTER_CHANGELOG, ROUTER_INPUTS)
    return scope, run


async def test_router_killed_three_times_ends_as_an_uninterrupted_run(kafka, tmp_path):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    reference_scope, _ = await run_router(settings, kafka.bootstrap, tmp_path, {})
    steps = router_feed()
    decision = next(i for i, s in enumerate(steps) if isinstance(s[0], OrderApproved))
    kills = {decision + 1: "published", decision + 2: "published", decision + 5: "done"}
    scope, run = await run_router(settings, kafka.bootstrap, tmp_path, kills)
    assert run.kills == 3

    expected = await changelog(settings, ORDER_ROUTER_CHANGELOG, reference_scope)
    restored = await changelog(settings, ORDER_ROUTER_CHANGELOG, scope)
    assert stable(restored) == stable(expected)
    assert any(key.startswith("position/") for key in restored)
    assert any(key.startswith("done/") for key in restored)

    ours = await events_on(settings, ORDERS_EVENTS, scope)
    theirs = await events_on(settings, ORDERS_EVENTS, reference_scope)
    assert {e.event_id for e in ours} == {e.event_id for e in theirs}
    assert set(once_each(ours, OrderAccepted).values()) == {1}
    assert once_each(ours, OrderAccepted) == once_each(theirs, OrderAccepted)
    snapshots = await events_on(settings, PORTFOLIO, scope)
    expected_snapshots = await events_on(settings, PORTFOLIO, reference_scope)
    assert snapshots[-1] == expected_snapshots[-1]
