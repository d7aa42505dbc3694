"""Users' strategies on their fills: ``on_fill``, ``holding``, ``is_mine``, targets set on a
fill, quarantine, the handler, the lockstep driver's wait for the venue, and the RSI bracket
example."""

from __future__ import annotations

import pytest
from jules_contracts import (
    AlertCode,
    OrderFilled,
    OrderPartiallyFilled,
    OrderSide,
    SignalGenerated,
    derive_event_id,
)
from jules_contracts.ids import client_order_id
from jules_contracts.topics import FEATURES, MD_BARS, ORDERS_EVENTS
from jules_runtime.lockstep import StepBuffer, make_watermark
from jules_signal.engine import LiveSchema, PythonStrategy, StrategyQuarantinedError
from jules_signal.examples.rsi_bracket import RsiBracket, RsiBracketParams
from jules_signal.handlers import SignalHandler
from jules_signal.lockstep import SignalDriver
from jules_signal.sdk import Bar, Features, Fill, Params, Strategy

from .builders import BTC, ETH, SCHEMA_ID, T0, make_bar, make_features

MINUTE = 60_000_000_000
ROW = {"sma_5": 100.0}


def fill(
    index: int,
    order_id: str,
    side: OrderSide,
    quantity: float,
    price: float,
    *,
    leaves: float = 0.0,
    instrument: str = BTC,
) -> Fill:
    """A fill at the open of bar ``index`` (its start time)."""
    kind = OrderFilled if leaves == 0 else OrderPartiallyFilled
    return kind(
        event_id=derive_event_id("test-fill", order_id, index, repr(quantity)),
        source="order-router",
        event_time=T0 + index * MINUTE,
        client_order_id=order_id,
        instrument_id=instrument,
        side=side,
        fill_id=f"f-{order_id}-{index}",
        last_quantity=quantity,
        last_price=price,
        cumulative_quantity=quantity,
        leaves_quantity=leaves,
        average_price=price,
    )


class Notes(Strategy[Params]):
    """Goes long on its bars until a fill comes; notes every fill with its holding and whether
    it is its own; goes flat on a fill that leaves it holding more than 1 unit."""

    def on_start(self) -> None:
        self.seen: list[tuple[int, str, float, bool]] = []
        self.hooks: list[str] = []

    def on_bar(self, bar: Bar, features: Features) -> None:
        self.hooks.append("bar")
        if not self.seen:
            self.target(bar.instrument_id, 1.0)

    def on_fill(self, fill: Fill) -> None:
        self.hooks.append("fill")
        instrument = fill.instrument_id
        self.seen.append(
            (self.time, fill.client_order_id, self.holding(instrument), self.is_mine(fill))
        )
        if self.holding(instrument) > 1:
            self.target(instrument, 0.0)


def decide(strategy: PythonStrategy, index: int, close: float = 100.0) -> list[SignalGenerated]:
    bar = make_bar(index, close)
    return strategy.on_features(make_features(bar, ROW), bar)


def test_a_strategy_asks_for_fills_by_overriding_on_fill() -> None:
    assert PythonStrategy(Notes(Params()), "notes").asks_fills
    assert not PythonStrategy(Strategy(Params()), "plain").asks_fills


def test_fills_move_the_holding_and_tell_its_own_orders_from_others() -> None:
    strategy = PythonStrategy(Notes(Params()), "notes")
    [signal] = decide(strategy, 0)
    own = client_order_id("notes", signal.event_id)  # the id risk gives the signal's order

    assert strategy.on_fill(fill(1, own, OrderSide.BUY, 0.4, 101.0, leaves=0.6)) == []
    assert strategy.on_fill(fill(1, own, OrderSide.BUY, 0.6, 101.0)) == []
    assert strategy.on_fill(fill(2, "risk-stop-1", OrderSide.SELL, 0.25, 99.0)) == []

    user = strategy.strategy
    assert isinstance(user, Notes)
    assert user.seen == [
        (T0 + MINUTE, own, 0.4, True),
        (T0 + MINUTE, own, 1.0, True),
        (T0 + 2 * MINUTE, "risk-stop-1", 0.75, False),
    ]
    assert user.holding(BTC) == 0.75
    assert user.holding(ETH) == 0.0


def test_a_target_set_on_a_fill_is_a_signal_derived_from_it_at_the_latest_price() -> None:
    strategy = PythonStrategy(Notes(Params()), "notes")
    decide(strategy, 0, close=100.0)
    decide(strategy, 1, close=102.0)
    trigger = fill(2, "someone", OrderSide.BUY, 2.0, 102.5)

    [signal] = strategy.on_fill(trigger)

    assert signal.target_weight == 0.0
    assert signal.causation_id == trigger.event_id
    assert signal.reference_price == 102.0  # the latest bar's close, not the fill's price
    assert signal.event_time == trigger.event_time
    assert strategy.on_fill(trigger) == []  # the same target again is not news


class Broken(Strategy[Params]):
    def on_fill(self, fill: Fill) -> None:
        raise KeyError("no such order")


def test_an_on_fill_that_raises_quarantines_the_strategy() -> None:
    strategy = PythonStrategy(Broken(Params()), "broken")
    with pytest.raises(StrategyQuarantinedError, match="on_fill raised KeyError") as caught:
        strategy.on_fill(fill(1, "x", OrderSide.BUY, 1.0, 100.0))
    assert caught.value.hook == "on_fill"
    assert strategy.on_fill(fill(2, "x", OrderSide.SELL, 1.0, 100.0)) == []


def test_the_handler_runs_on_fill_for_a_strategy_that_asks_and_alerts_on_a_raise() -> None:
    schema = LiveSchema(SCHEMA_ID, ("sma_5",))
    asking = SignalHandler(PythonStrategy(Notes(Params()), "notes"), schema)
    asking.on_bar(make_bar(0))
    asking.on_features(make_features(make_bar(0), ROW))

    [signal] = asking.on_fill(fill(1, "other", OrderSide.BUY, 3.0, 100.0))
    assert isinstance(signal, SignalGenerated)
    assert signal.target_weight == 0.0

    plain = SignalHandler(PythonStrategy(Strategy(Params()), "plain"), schema)
    assert plain.on_fill(fill(1, "other", OrderSide.BUY, 3.0, 100.0)) == []

    broken = SignalHandler(PythonStrategy(Broken(Params()), "broken"), schema)
    [alert] = broken.on_fill(fill(1, "x", OrderSide.BUY, 1.0, 100.0))
    assert getattr(alert, "code", None) == AlertCode.STRATEGY_QUARANTINED


def _watermark(buffer: StepBuffer, producer: str, topic_name: str, time: int) -> None:
    topic = {t.name: t for t in (MD_BARS, FEATURES, ORDERS_EVENTS)}[topic_name]
    buffer.add(topic_name, 0, make_watermark(producer, topic, 0, time, final=False))


def test_the_lockstep_step_waits_for_the_venues_fills_and_runs_them_before_the_bars() -> None:
    strategy = PythonStrategy(Notes(Params()), "notes")
    driver = SignalDriver(SignalHandler(strategy, LiveSchema(SCHEMA_ID, ("sma_5",))))
    assert ORDERS_EVENTS in driver.inputs
    buffer = StepBuffer({MD_BARS.name: [0], FEATURES.name: [0], ORDERS_EVENTS.name: [0]})
    bar = make_bar(1)
    buffer.add(MD_BARS.name, 0, bar, 0)
    buffer.add(FEATURES.name, 0, make_features(bar, ROW), 0)
    _watermark(buffer, "replay", MD_BARS.name, bar.event_time)
    _watermark(buffer, "features", FEATURES.name, bar.event_time)
    assert driver.advance(buffer) == []  # the venue's step is not there yet

    buffer.add(ORDERS_EVENTS.name, 0, fill(1, "other", OrderSide.BUY, 1.0, 100.0), 0)
    _watermark(buffer, "order-router", ORDERS_EVENTS.name, bar.event_time)
    [output] = driver.advance(buffer)
    assert output.events == []  # the bar came after the fill: no long
    user = strategy.strategy
    assert isinstance(user, Notes)
    assert user.hooks == ["fill", "bar"]
    assert [seen[2] for seen in user.seen] == [1.0]


def test_a_strategy_without_on_fill_does_not_wait_for_the_venue() -> None:
    driver = SignalDriver(
        SignalHandler(
            PythonStrategy(Strategy(Params()), "plain"), LiveSchema(SCHEMA_ID, ("sma_5",))
        )
    )
    assert ORDERS_EVENTS not in driver.inputs


def test_the_rsi_bracket_exits_around_its_entrys_fill_price() -> None:
    params = RsiBracketParams(take_profit=0.01, stop_loss=0.005)
    strategy = PythonStrategy(RsiBracket(params), "bracket")

    def on(index: int, close: float, rsi: float | None) -> list[float]:
        bar = make_bar(index, close)
        return [
            s.target_weight for s in strategy.on_features(make_features(bar, {"rsi_14": rsi}), bar)
        ]

    assert on(0, 100.0, 50.0) == []
    [entry] = strategy.on_features(
        make_features(make_bar(1, 100.0), {"rsi_14": 25.0}), make_bar(1, 100.0)
    )
    assert entry.target_weight == 1.0
    order = client_order_id("bracket", entry.event_id)
    strategy.on_fill(fill(2, order, OrderSide.BUY, 5.0, 102.0))  # filled above the decision
    assert on(2, 101.6, 20.0) == []  # +1.6% from the decision's close, -0.4% from the fill
    assert on(3, 103.1, 20.0) == [0.0]  # +1.08% from the fill's price: the take-profit
    strategy.on_fill(fill(4, "exit", OrderSide.SELL, 5.0, 101.3))
    assert on(4, 101.0, 20.0) == [1.0]  # flat again: a new entry on an oversold RSI
