"""Sizing at the fill (``sizing.at: fill``): risk sizes an estimate at the decision and tells
the order-router how to size the order at the fill price; its book follows the router's
``OrderResized``."""

from __future__ import annotations

import json

import pytest
from jules_contracts import (
    OrderApproved,
    OrderPartiallyFilled,
    OrderResized,
    SizeAtFill,
    SubmitOrder,
    derive_event_id,
    encode_event,
)
from jules_contracts.control import ChangeConfig
from jules_contracts.instruments import InstrumentSpec
from jules_risk.engine import RiskConfig, RiskEngine, SizingConfig
from jules_risk.engine.config import RiskControls
from pydantic import ValidationError

from .helpers import (
    ACCOUNT,
    BTC,
    T0,
    accepted,
    bar,
    canceled,
    filled,
    make_engine,
    signal,
    snapshot,
)


def _order(
    engine: RiskEngine, weight: float, equity: float = 10_000.0, **held: float
) -> SubmitOrder:
    engine.on_market(bar(T0, 333.0))
    events = engine.on_signal(signal(T0, weight, price=333.0), snapshot(T0, equity, held or None))
    order = events[0]
    assert isinstance(order, SubmitOrder)
    assert isinstance(events[1], OrderApproved)
    return order


@pytest.mark.parametrize("kind", ["fixed_fraction", "all_equity"])
def test_fill_is_valid_for_the_kinds_that_need_only_price_and_equity(kind):
    assert SizingConfig(kind=kind, at="fill").at == "fill"
    assert SizingConfig(kind=kind).at == "decision"


@pytest.mark.parametrize("kind", ["atr_risk", "volatility_target"])
def test_fill_is_refused_for_the_kinds_that_size_on_an_atr_or_a_volatility(kind):
    with pytest.raises(
        ValidationError, match=f"at 'fill' sizes with fixed_fraction or all_equity only, not {kind}"
    ):
        SizingConfig(kind=kind, at="fill")


def test_a_configuration_sized_at_the_decision_is_written_without_at():
    assert "at" not in SizingConfig().model_dump(mode="json")
    assert SizingConfig(at="fill").model_dump(mode="json")["at"] == "fill"
    controls = RiskControls.model_validate({"sizing": {"kind": "all_equity", "at": "fill"}})
    assert RiskControls.model_validate(controls.model_dump(mode="json")) == controls


def test_at_can_be_changed_at_run_time_and_is_validated_as_at_start_up():
    engine = make_engine(sizing=SizingConfig(kind="all_equity"))

    def change(key: str, value: object) -> None:
        engine.on_control(
            ChangeConfig(
                event_id=derive_event_id("test-change", key, str(value)),
                source="test",
                event_time=T0,
                target="risk",
                key=key,
                value=value,  # type: ignore[arg-type]
                operator="bob",
            )
        )

    change("sizing.at", "fill")
    assert engine.config.sizing.at == "fill"
    change("sizing.kind", "atr_risk")  # refused: atr_risk cannot size at the fill
    assert engine.config.sizing.kind == "all_equity"


def test_the_decision_quantity_is_the_estimate_and_the_order_says_how_to_size_at_fill():
    at_decision = _order(make_engine(sizing=SizingConfig(fraction=0.5)), 0.8)
    at_fill = _order(make_engine(sizing=SizingConfig(fraction=0.5, at="fill")), 0.8)

    assert at_fill.quantity == at_decision.quantity == pytest.approx(0.4 * 10_000 / 333)
    assert at_fill.size_at_fill == SizeAtFill(fraction=0.4, step=None)
    assert at_decision.size_at_fill is None
    assert "size_at_fill" not in json.loads(encode_event(at_decision))  # bytes as before


@pytest.mark.parametrize(
    ("sizing", "spec_lot", "step"),
    [
        (SizingConfig(kind="all_equity", at="fill"), None, 1.0),
        (SizingConfig(kind="all_equity", at="fill"), 0.01, 0.01),
        (SizingConfig(kind="all_equity", at="fill", lot_size=0.5), 0.01, 0.5),
        (SizingConfig(at="fill", whole_units=True), None, 1.0),
        (SizingConfig(at="fill"), 0.001, 0.001),
    ],
    ids=["whole-units", "instrument-lot", "run-lot-wins", "fixed-whole", "fixed-lot"],
)
def test_the_step_at_the_fill_is_the_decision_step(sizing, spec_lot, step):
    specs = None
    if spec_lot is not None:
        spec = InstrumentSpec(
            instrument_id=BTC, tick_size=0.01, lot_size=spec_lot, quote_currency="USDT"
        )
        specs = {BTC: spec}
    engine = RiskEngine(RiskConfig(account_id=ACCOUNT, sizing=sizing), specs)

    order = _order(engine, -0.5)

    fraction = -1.0 if sizing.kind == "all_equity" else -0.5
    assert order.size_at_fill == SizeAtFill(fraction=fraction, step=step)


def test_a_flat_signal_asks_for_a_flat_position_at_the_fill():
    engine = make_engine(sizing=SizingConfig(kind="all_equity", at="fill"))

    order = _order(engine, 0.0, **{BTC: 30.0})

    assert order.quantity == 30.0
    assert order.size_at_fill == SizeAtFill(fraction=0.0, step=1.0)


def _resized(order: SubmitOrder, quantity: float) -> OrderResized:
    return OrderResized(
        event_id=derive_event_id("test-resized", order.client_order_id),
        source="test",
        event_time=T0 + 60_000_000_000,
        client_order_id=order.client_order_id,
        instrument_id=order.instrument_id,
        quantity=quantity,
        previous_quantity=order.quantity,
        price=330.0,
        equity=10_000.0,
    )


def test_the_book_takes_the_quantity_sized_at_the_fill_then_the_fills_leaves():
    engine = make_engine(sizing=SizingConfig(kind="all_equity", at="fill"))
    order = _order(engine, 1.0)
    assert engine.book.working_net(BTC) == order.quantity == 30.0
    later = T0 + 60_000_000_000

    engine.on_order_event(accepted(order, T0))
    engine.on_order_event(_resized(order, 31.0))
    assert engine.book.working_net(BTC) == 31.0
    sized = order.model_copy(update={"quantity": 31.0})
    part = filled(sized, later, 330.0, quantity=11.0)
    assert isinstance(part, OrderPartiallyFilled)
    engine.on_order_event(part)
    assert engine.book.working_net(BTC) == 20.0
    engine.on_order_event(filled(sized, later, 330.0, quantity=20.0, cumulative=31.0, fill_id="f2"))

    assert engine.book.working_orders() == []
    assert engine.book.position(BTC) == 31.0


def test_an_order_canceled_at_the_fill_leaves_no_working_quantity():
    engine = make_engine(sizing=SizingConfig(kind="all_equity", at="fill"))
    order = _order(engine, 1.0)

    engine.on_order_event(accepted(order, T0))
    engine.on_order_event(canceled(order, T0 + 60_000_000_000))

    assert engine.book.working_orders() == []
    assert engine.book.working_net(BTC) == 0.0
