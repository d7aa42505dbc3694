"""``jules fake-exchange``: started as a user would, with the real ccxt connecting to it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import ccxt
import ccxt.pro
from jules.cli import app
from jules_venues.fake import get_dialect
from typer.testing import CliRunner

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
SPOT_FILE = DATA_DIR / "hftbacktest" / "examples" / "spot" / "btcusdt_20240808.gz"
JULES = Path(sys.executable).parent / "jules"


async def test_fake_exchange_serves_ccxt_until_interrupted() -> None:
    process = await asyncio.create_subprocess_exec(
        str(JULES),
        *("fake-exchange", "--port", "0", "--speed", "50", "--data", str(SPOT_FILE)),
        *("--faults", '{"rate_limit": {"count": 1, "retry_after": 2}}'),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=REPO_ROOT,
    )
    assert process.stdout is not None
    try:
        banner = await asyncio.wait_for(process.stdout.readuntil(b"Ctrl-C stops it."), 60)
        printed = banner.decode()
        match = re.search(r"listening on (http://\S+) \(websockets (ws://\S+)\)", printed)
        assert match is not None, printed
        http, ws = match.groups()
        assert f"get_dialect('binance').ccxt_config({http!r}, {ws!r})" in printed
        exchange = ccxt.pro.binance(
            get_dialect("binance").ccxt_config(http, ws) | {"enableRateLimit": False}
        )
        try:
            try:
                await exchange.load_markets()
                raise AssertionError("the first request should have been refused (--faults)")
            except ccxt.DDoSProtection:
                assert exchange.last_response_headers["Retry-After"] == "2"
            markets = await exchange.load_markets()
            assert markets["BTC/USDT"]["precision"]["price"] == 0.01
            book = await exchange.fetch_order_book("BTC/USDT")
            assert book["bids"][0][0] < book["asks"][0][0]
            trades = await asyncio.wait_for(exchange.watch_trades("BTC/USDT"), 30)
            assert trades[0]["symbol"] == "BTC/USDT"
        finally:
            await exchange.close()
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, printed + rest.decode()
    assert "fake exchange stopped" in rest.decode()


def test_unknown_dialect_and_bad_faults_are_refused() -> None:
    runner = CliRunner()
    unknown = runner.invoke(app, ["fake-exchange", "--dialect", "nope"])
    assert unknown.exit_code == 2
    assert "unknown --dialect 'nope' (known: binance, okx)" in unknown.output
    bad = runner.invoke(app, ["fake-exchange", "--faults", '{"latency_ms": -5}'])
    assert bad.exit_code == 2
    assert "invalid --faults" in bad.output
    missing = runner.invoke(app, ["fake-exchange", "--data", "no/such/file.gz"])
    assert missing.exit_code == 2
    assert "data file not found" in missing.output


async def test_the_venues_file_points_the_live_market_data_at_the_fake(tmp_path: Path) -> None:
    from jules_venues import BinanceAdapter, load_venue_configs

    venues_file = tmp_path / "venues.yaml"
    process = await asyncio.create_subprocess_exec(
        str(JULES),
        *("fake-exchange", "--port", "0", "--speed", "20", "--data", str(SPOT_FILE)),
        *("--venues-file", str(venues_file)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=REPO_ROOT,
    )
    assert process.stdout is not None
    try:
        printed = await asyncio.wait_for(process.stdout.readuntil(b"jules-market-data run"), 60)
        assert f"JULES_MARKET_DATA__VENUES_FILE={venues_file}" in printed.decode()
        config = load_venue_configs(venues_file)["binance"]
        assert config.instruments == {"BTCUSDT.BINANCE": "BTC/USDT"}
        async with BinanceAdapter(config) as venue:  # what the market-data service builds
            spec = (await venue.instruments())["BTCUSDT.BINANCE"]
            assert spec.tick_size == 0.01
            stream = venue.watch_trades("BTCUSDT.BINANCE")
            trade = await asyncio.wait_for(anext(stream), 30)
        assert trade.instrument_id == "BTCUSDT.BINANCE"
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.communicate(), 30)


def test_the_venues_file_is_never_replaced(tmp_path: Path) -> None:
    mine = tmp_path / "venues.yaml"
    mine.write_text("mine")
    result = CliRunner().invoke(app, ["fake-exchange", "--venues-file", str(mine)])
    assert result.exit_code == 2
    assert "exists: give a new file" in result.output
    assert mine.read_text() == "mine"
