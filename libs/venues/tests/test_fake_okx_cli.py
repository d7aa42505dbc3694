"""``jules fake-exchange --dialect okx``: started as a user would, the real ccxt okx against it."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import ccxt.pro
from jules_venues.fake import get_dialect

from .test_fake_support import REPO_ROOT, SPOT_FILE


async def test_fake_exchange_speaks_okx_from_the_command_line() -> None:
    command = [str(Path(sys.executable).parent / "jules"), "fake-exchange", "--dialect", "okx"]
    command += ["--port", "0", "--speed", "50", "--data", str(SPOT_FILE)]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, cwd=REPO_ROOT
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    # "fake okx exchange listening on http://127.0.0.1:P (websockets ws://127.0.0.1:P)"
    assert line.startswith("fake okx exchange listening on "), line
    http, ws = line.split()[5], line.split()[7].rstrip(")")
    exchange = ccxt.pro.okx(get_dialect("okx").ccxt_config(http, ws))
    try:
        markets = await exchange.load_markets()
        assert markets["BTC/USDT"]["precision"]["price"] == 0.01
        trades = await asyncio.wait_for(exchange.watch_trades("BTC/USDT"), 30)
        assert trades[0]["symbol"] == "BTC/USDT"
    finally:
        await exchange.close()
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
