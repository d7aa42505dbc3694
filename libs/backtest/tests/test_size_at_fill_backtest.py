"""Sizing at the fill on real data: all of equity, sized at each next open, never spends more
cash than the account has, and risk's book of working orders follows the router's."""

from __future__ import annotations

from itertools import groupby
from pathlib import Path
from typing import Any

import pytest
from jules_backtest.config import BacktestConfig
from jules_backtest.data import DataQuality, load_market
from jules_backtest.examples import coinbase_source
from jules_backtest.node import EmbeddedNode
from jules_backtest.outputs import RunRecorder
from jules_backtest.run import build_node, build_strategy_and_schema
from jules_contracts import Event, OrderDenied, OrderFilled, OrderResized, PortfolioSnapshot
from jules_runtime.instruments import load_instrument_table

from .sample_data import DATA_DIR, REPO_ROOT

DAYS = ("20180404", "20180405", "20180406")
CASH = 100_000.0
TABLE = REPO_ROOT / "examples" / "instruments.yaml"


def config(output_dir: Path, at: str, *, table: bool = False) -> BacktestConfig:
    raw: dict[str, Any] = {
        "name": "size-at-fill",
        "data_dir": str(DATA_DIR),
        "data": [coinbase_source("btcusd", day) for day in DAYS],
        "strategy": {"kind": "sma_cross", "fast": 10, "slow": 30, "mode": "long_short"},
        "risk": {
            "sizing": {"kind": "all_equity", "at": at},
            "limits": {"price_collar_bps": 5000},
        },
        "execution": {"fill_model": {"kind": "next_bar_open"}, "fees": {"taker_bps": 10}},
        "account": {"starting_cash": CASH},
        "monte_carlo": {"samples": 0},
        "output_dir": str(output_dir),
    }
    if table:
        raw["instruments"] = str(TABLE)
    return BacktestConfig.model_validate(raw)


def _working(node: EmbeddedNode) -> tuple[dict[str, float], dict[str, float]]:
    """Leaves quantities of the working orders, as risk and as the router know them."""
    risk = {o.client_order_id: o.leaves for o in node.risk.book.working_orders()}
    router = {o.client_order_id: o.leaves_quantity for o in node.router.working_orders}
    return risk, router


def run(cfg: BacktestConfig) -> list[Event]:
    """Run the embedded loop step by step, checking risk's book against the router's."""
    strategy, schema = build_strategy_and_schema(cfg)
    recorder = RunRecorder()
    events: list[Event] = []

    def emit(event: Event) -> None:
        recorder(event)
        events.append(event)

    node = build_node(cfg, strategy, schema, emit)
    for _, group in groupby(load_market(cfg, DataQuality()), key=lambda e: e.event_time):
        step = len(events)
        node.step(sorted(group, key=lambda e: e.instrument_id))
        risk, router = _working(node)
        for client_order_id, leaves in router.items():  # no phantom working quantity
            assert risk[client_order_id] == pytest.approx(leaves, rel=1e-12), client_order_id
        decided = {e.client_order_id for e in events[step:] if hasattr(e, "client_order_id")}
        assert set(risk) - set(router) <= decided  # approved in this step, at the venue next
    node.finish(close_at_end=True)
    assert _working(node) == ({}, {})
    for row in recorder.orders.values():  # orders.csv: the quantity the order had at the venue
        if row.status == "FILLED":
            assert row.filled_quantity == row.quantity, row
    return events


@pytest.mark.parametrize("table", [False, True], ids=["whole-units", "instrument-lots"])
def test_all_equity_at_the_fill_never_spends_more_cash_than_the_account_has(tmp_path, table):
    events = run(config(tmp_path, "fill", table=table))

    snapshots = [e for e in events if isinstance(e, PortfolioSnapshot)]
    resized = [e for e in events if isinstance(e, OrderResized)]
    filled = {e.client_order_id: e for e in events if isinstance(e, OrderFilled)}
    assert not any(isinstance(e, OrderDenied) for e in events)
    assert len(resized) > (20 if table else 2)  # whole units change less often than lots
    assert min(s.cash for s in snapshots) >= -1e-6  # all in, fees included, never beyond
    assert min(s.equity for s in snapshots) > 0
    for event in resized:  # sized at the price it filled at
        assert filled[event.client_order_id].last_price == event.price
        assert filled[event.client_order_id].cumulative_quantity == event.quantity
    if table:
        lots = load_instrument_table(TABLE)["BTCUSD.COINBASE"]
        assert all(lots.on_lot(e.quantity) for e in resized)
    else:
        assert all(e.quantity.is_integer() for e in resized)


def test_all_equity_at_the_decision_is_sized_at_the_close_and_borrows_when_the_open_gaps(
    tmp_path,
):
    events = run(config(tmp_path, "decision"))

    assert not any(isinstance(e, OrderResized) for e in events)
    assert min(e.cash for e in events if isinstance(e, PortfolioSnapshot)) < 0
