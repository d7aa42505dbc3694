"""``jules up --paper``: the services' settings for live market data, what a session file and a
venues file must agree on, and the account as ``jules status`` prints it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from jules.cli import app
from jules.paper import PaperConfigError, paper_environments
from jules.session_portfolio import portfolio_json, portfolio_table
from jules_backtest.config import load_config
from jules_contracts.base import derive_event_id
from jules_contracts.portfolio import PortfolioSnapshot, Position
from jules_market_data.config import MarketDataSettings
from jules_runtime.settings import load_settings
from rich.console import Console
from typer.testing import CliRunner

from .backtest_helpers import REPO_ROOT

PAPER = REPO_ROOT / "examples" / "paper.yaml"


def _venues(tmp_path: Path, instruments: dict[str, str]) -> Path:
    path = tmp_path / "venues.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "venues": [
                    {
                        "name": "binance",
                        "instruments": instruments,
                        "urls": {"api": {"public": "http://127.0.0.1:1/api/v3"}},
                    }
                ]
            }
        )
    )
    return path


def test_the_market_data_service_streams_the_venues_and_records_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venues = _venues(tmp_path, {"BTCUSDT.BINANCE": "BTC/USDT"})
    environments = paper_environments(load_config(PAPER), tmp_path / "session", venues)

    market_data = environments["market-data"]
    assert "FILES" not in market_data  # no replay: the venues
    for name, value in market_data.items():
        monkeypatch.setenv(f"JULES_MARKET_DATA__{name}", value)
    settings = load_settings(MarketDataSettings)
    assert [v.name for v in settings.venues] == ["binance"]
    assert settings.live.bar_interval == "1m"  # the data source's
    assert settings.live.record_dir == (tmp_path / "session" / "recorded").resolve()
    # the strategy, risk, fill model and account are the session file's
    assert '"l2_book"' in environments["order-router"]["ENGINE"]
    assert environments["order-router"]["ACCOUNT_ID"] == "PAPER"
    assert "trade_flow" in environments["signal"]["STRATEGY"]


def test_an_instrument_on_no_venue_is_named(tmp_path: Path) -> None:
    venues = _venues(tmp_path, {"ETHUSDT.BINANCE": "ETH/USDT"})
    with pytest.raises(PaperConfigError, match=r"BTCUSDT\.BINANCE of the session file trade"):
        paper_environments(load_config(PAPER), tmp_path / "session", venues)


def test_an_invalid_venues_file_is_a_paper_config_error(tmp_path: Path) -> None:
    venues = tmp_path / "venues.yaml"
    venues.write_text("venues: [{name: binance, book_depth: 0}]\n")
    with pytest.raises(PaperConfigError, match=r"venues\[0\]: book_depth"):
        paper_environments(load_config(PAPER), tmp_path / "session", venues)


def test_two_bar_intervals_cannot_be_built_from_one_live_feed(tmp_path: Path) -> None:
    document = yaml.safe_load(PAPER.read_text())
    second = {**document["data"][0], "bar_interval": "5m", "instrument_id": "ETHUSDT.BINANCE"}
    document["data"].append(second)
    document.update(data_dir=str(REPO_ROOT.parent / "shared" / "data"), instruments=None)
    config = tmp_path / "two.yaml"
    config.write_text(yaml.safe_dump(document))
    venues = _venues(tmp_path, {"BTCUSDT.BINANCE": "BTC/USDT", "ETHUSDT.BINANCE": "ETH/USDT"})
    with pytest.raises(PaperConfigError, match="bars of 1m, 5m"):
        paper_environments(load_config(config), tmp_path / "session", venues)


def test_jules_up_paper_refuses_a_bad_venues_file_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    venues = _venues(tmp_path, {"ETHUSDT.BINANCE": "ETH/USDT"})
    up = ["up", "--paper", "-c", str(PAPER), "--venues-file", str(venues)]
    result = CliRunner().invoke(app, [*up, "--bootstrap", "127.0.0.1:1"])
    assert result.exit_code == 2, result.output
    assert "BTCUSDT.BINANCE" in result.output
    assert not (tmp_path / "runs").exists()  # refused before any folder or broker

    replay = CliRunner().invoke(app, ["up", "-c", str(PAPER), "--venues-file", str(venues)])
    assert replay.exit_code == 2
    assert "add --paper" in replay.output


def test_the_account_table_shows_each_position_and_the_totals() -> None:
    snapshot = PortfolioSnapshot(
        event_id=derive_event_id("test", "snapshot"),
        event_time=1_723_161_900_000_000_000,
        source="order-router",
        account_id="PAPER",
        currency="USD",
        cash=147_917.93,
        equity=98_550.83,
        positions=(
            Position(
                instrument_id="BTCUSDT.BINANCE",
                quantity=-0.80131,
                average_price=61_649.99,
                realized_pnl=-41.3,
                unrealized_pnl=33.66,
                last_price=61_607.99,
            ),
        ),
        realized_pnl=-41.3,
        unrealized_pnl=33.66,
        fees_paid=1_441.53,
    )
    console = Console(width=200, record=True)
    console.print(portfolio_table(snapshot))
    text = console.export_text()
    assert "account PAPER (USD) at 2024-08-09T00:05:00+00:00" in text
    assert "equity 98,550.83, cash 147,917.93" in " ".join(text.split())
    row = next(line for line in text.splitlines() if "BTCUSDT.BINANCE" in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells == ["BTCUSDT.BINANCE", "-0.80131", "61,649.99", "61,607.99", "-41.30", "33.66"]
    assert "fees 1,441.53" in text
    figures = portfolio_json(snapshot)
    assert figures["positions"][0]["quantity"] == -0.80131
    assert figures["equity"] == 98_550.83
