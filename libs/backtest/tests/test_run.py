"""Embedded-mode runs: run folder, determinism, risk denials, audit, bars from trades, windows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from jules_audit.store import verify
from jules_backtest.config import BacktestConfig
from jules_backtest.examples import small_config
from jules_backtest.run import run_backtest

from .sample_data import DATA_DIR

RUN_FILES = {
    "orders.csv",
    "fills.csv",
    "trades.csv",
    "equity.csv",
    "metrics.json",
    "data_quality.json",
    "config.json",
    "report.html",
    "run.json",
    "audit",
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bt") / "run"
    run_backtest(BacktestConfig.model_validate(small_config(DATA_DIR, out)))
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_the_run_folder_holds_every_output(run_dir):
    assert {p.name for p in run_dir.iterdir()} == RUN_FILES
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["monte_carlo"]) == {"total_return", "max_drawdown"}
    for key in (
        "total_return",
        "cagr",
        "sharpe",
        "sortino",
        "calmar",
        "max_drawdown",
        "win_rate",
        "profit_factor",
        "exposure",
        "turnover",
        "trade_count",
        "execution_success_rate",
    ):
        assert key in metrics["metrics"]
    html = (run_dir / "report.html").read_text()
    # the fixed plots and one price plot per instrument, drawn by the page's script
    assert html.count('<div class="plot" id="plot-') == 11
    assert html.count('id="plot-price-') == 2


def test_outputs_agree_with_each_other(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())["metrics"]
    equity = read_csv(run_dir / "equity.csv")
    trades = read_csv(run_dir / "trades.csv")
    fills = read_csv(run_dir / "fills.csv")
    orders = read_csv(run_dir / "orders.csv")
    assert float(equity[-1]["equity"]) == pytest.approx(metrics["end_equity"])
    assert metrics["trade_count"] == sum(1 for t in trades if t["exit_time"])
    # Everything is closed at the end: the net position of every instrument is zero.
    for instrument in {f["instrument_id"] for f in fills}:
        assert sum(float(f["quantity"]) for f in fills if f["instrument_id"] == instrument) == (
            pytest.approx(0.0, abs=1e-9)
        )
    # Cash accounting: end equity = start + Σ net PnL of round trips.
    net = sum(float(t["net_pnl"]) for t in trades)
    assert metrics["end_equity"] == pytest.approx(100_000 + net, rel=1e-9)
    denied = [o for o in orders if o["decision"] == "DENIED"]
    assert metrics["orders_denied"] == len(denied) > 0
    assert all(o["reasons"] == "ORDER_NOTIONAL_LIMIT" for o in denied)
    approved = [o for o in orders if o["decision"] == "APPROVED"]
    assert metrics["execution_success_rate"] == pytest.approx(
        sum(o["status"] == "FILLED" for o in approved) / len(approved)
    )


def test_fills_happen_at_the_next_bar_open(run_dir):
    orders = {o["client_order_id"]: o for o in read_csv(run_dir / "orders.csv")}
    for fill in read_csv(run_dir / "fills.csv"):
        order = orders[fill["client_order_id"]]
        if order["strategy_id"] == "close-at-end":
            continue
        assert fill["time"] > order["submitted_at"]


def test_the_audit_log_of_the_run_verifies_and_records_denials(run_dir):
    result = verify(run_dir / "audit")
    assert result.ok, result.summary()
    text = "".join(p.read_text() for p in sorted((run_dir / "audit").glob("segment-*.jsonl")))
    assert "risk.order_denied" in text
    assert "ORDER_NOTIONAL_LIMIT" in text


def test_same_input_and_seed_give_a_byte_identical_run_folder(run_dir, tmp_path):
    again = tmp_path / "again"
    run_backtest(BacktestConfig.model_validate(small_config(DATA_DIR, again)))
    for path in sorted(run_dir.rglob("*")):
        if path.is_file() and path.name != "run.json":
            assert (again / path.relative_to(run_dir)).read_bytes() == path.read_bytes(), path.name


def test_another_seed_changes_only_the_monte_carlo_intervals(run_dir, tmp_path):
    other = tmp_path / "other"
    run_backtest(BacktestConfig.model_validate(small_config(DATA_DIR, other, seed=99)))
    first = json.loads((run_dir / "metrics.json").read_text())
    second = json.loads((other / "metrics.json").read_text())
    assert first["metrics"] == second["metrics"]
    assert first["monte_carlo"] != second["monte_carlo"]


def test_trades_are_aggregated_into_bars_and_bad_trades_reported(tmp_path):
    config = small_config(DATA_DIR, tmp_path / "trades")
    config["data"] = [
        {
            "path": "pyalgotrade/testcases/data/bitstampUSD.csv",
            "instrument_id": "BTCUSD.BITSTAMP",
            "bar_interval": "1h",
        }
    ]
    summary = run_backtest(BacktestConfig.model_validate(config))
    quality = json.loads((tmp_path / "trades" / "data_quality.json").read_text())
    assert quality["rejected_by_reason"] == {"ZERO_SIZE": 1}  # line 8524 trades zero bitcoin
    assert quality["accepted_bars_by_instrument"]["BTCUSD.BITSTAMP"] == summary.bars > 100
    equity = read_csv(tmp_path / "trades" / "equity.csv")
    hours = {row["time"][:13] for row in equity}
    # one point per hourly bar, plus the snapshot after closing at the last bar's open
    assert len(equity) == len(hours) + 1
    assert equity[-1]["time"] == equity[-2]["time"]


def test_a_time_window_keeps_only_the_bars_closing_inside_it(tmp_path):
    config = BacktestConfig.model_validate(
        small_config(
            DATA_DIR,
            tmp_path / "window",
            start="2018-04-04T06:00:00Z",
            end="2018-04-04T12:00:00+00:00",
        )
    )
    run_backtest(config)

    equity = read_csv(tmp_path / "window" / "equity.csv")
    assert equity[0]["time"] == "2018-04-04T06:00:00.000000000Z"
    assert equity[-1]["time"] == "2018-04-04T11:59:00.000000000Z"
    quality = json.loads((tmp_path / "window" / "data_quality.json").read_text())
    assert quality["accepted_bars_by_instrument"] == {
        "BTCUSD.COINBASE": 360,
        "ETHUSD.COINBASE": 360,
    }


def test_a_window_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="must be after start"):
        BacktestConfig.model_validate(
            small_config(
                DATA_DIR, Path("x"), start="2018-04-04T12:00:00Z", end="2018-04-04T06:00:00Z"
            )
        )
