"""``jules up --paper``: a session on live market data, its orders filled against the live book.

The session file is the backtest format: the strategy, risk, execution (the fill model of the
simulated venue), account and instrument table are used as they are; of its data sources only
the instrument ids and the bar interval count, since the market-data service streams the
configured venues instead of reading the files (``VENUES_FILE``). Every instrument of the
session file must trade on a configured venue.

The venues come from a venues file (``--venues-file``: real venues need no credentials for
public market data) or, by default, from a fake exchange the session starts itself
(``jules fake-exchange``: recorded data served as a live market over a real exchange's API), so
a paper session runs on any machine. The market-data service records what it published under
``<session>/recorded/`` (Parquet that ``jules backtest`` reads), so a live session can be
replayed as a backtest.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from jules_backtest.config import BacktestConfig
from jules_backtest.data import resolve
from jules_contracts import JulesError
from jules_market_data.loaders import default_instrument_id
from jules_venues import VenueConfigError, load_venue_configs

from jules.processes import ChildProcess, log_tail, spawn
from jules.session_env import service_environments

__all__ = [
    "FAKE_EXCHANGE",
    "RECORDED",
    "VENUES_FILE",
    "PaperConfigError",
    "paper_environments",
    "resume_fake_exchange",
    "start_fake_exchange",
]

VENUES_FILE = "venues.yaml"
"""The venues file a session's own fake exchange writes, in the session folder."""
RECORDED = "recorded"
"""The session folder's folder of what the market-data service published (Parquet)."""
FAKE_EXCHANGE = "fake-exchange"
"""The name of a session's own fake exchange (its log is ``logs/fake-exchange.log``)."""


class PaperConfigError(JulesError, ValueError):
    """A paper session cannot start with this session file and these venues."""


@dataclass(frozen=True)
class FakeExchangeOptions:
    """How a session's own fake exchange serves its recorded market.

    Attributes:
        dialect: The exchange API it speaks (``binance``, ``okx``).
        speed: Recorded seconds per second.
        data_dir: The sample data folder its default recordings are read from.
    """

    dialect: str = "binance"
    speed: float = 1.0
    data_dir: Path = Path("..") / "shared" / "data"


def paper_environments(
    config: BacktestConfig, run_dir: Path, venues_file: Path
) -> dict[str, dict[str, str]]:
    """Each service's settings for a paper session: the session file's, with live market data.

    Raises:
        PaperConfigError: The venues file is invalid, an instrument of the session file is on
            no venue, or its data sources ask for different bar intervals.
    """
    try:
        venues = load_venue_configs(venues_file)
    except VenueConfigError as exc:
        raise PaperConfigError(str(exc)) from None
    traded = {instrument for venue in venues.values() for instrument in venue.instruments}
    wanted = {
        source.instrument_id or default_instrument_id(resolve(config, source)) or source.path
        for source in config.data
    }
    missing = sorted(wanted - traded)
    if missing:
        raise PaperConfigError(
            f"{', '.join(missing)} of the session file trade on no venue of {venues_file} "
            f"(its instruments: {', '.join(sorted(traded)) or 'none'}); add them to a venue's "
            "instruments or change the session file's data instrument_id"
        )
    intervals = {source.bar_interval for source in config.data if source.bar_interval}
    if len(intervals) > 1:
        raise PaperConfigError(
            f"the data sources ask for bars of {', '.join(sorted(intervals))}: a paper "
            "session builds one bar interval from the live trades"
        )
    environments = service_environments(config, run_dir, None)
    market_data = {
        "VENUES_FILE": str(venues_file.resolve()),
        "LIVE__RECORD_DIR": str((run_dir / RECORDED).resolve()),
    }
    if intervals:
        market_data["LIVE__BAR_INTERVAL"] = intervals.pop()
    environments["market-data"] = market_data
    return environments


def start_fake_exchange(
    run_dir: Path, port: int, options: FakeExchangeOptions, timeout_s: float = 120
) -> ChildProcess:
    """Start ``jules fake-exchange`` for the session, paused; return once it wrote its venues file.

    The replay starts when the session's services are up (``resume_fake_exchange``), so they
    see the recorded market from its first event. Its venues file is ``<run_dir>/venues.yaml``
    (an earlier session's is replaced: the session wrote it); its log
    ``<run_dir>/logs/fake-exchange.log``.

    Raises:
        RuntimeError: It exited or did not write its venues file in ``timeout_s`` (its log's
            tail is included).
    """
    venues_file = run_dir / VENUES_FILE
    venues_file.unlink(missing_ok=True)
    command = [
        str(Path(sys.executable).parent / "jules"),
        "fake-exchange",
        "--dialect",
        options.dialect,
        "--port",
        str(port),
        "--speed",
        repr(options.speed),
        "--data-dir",
        str(options.data_dir.resolve()),
        "--venues-file",
        str(venues_file.resolve()),
        "--paused",
    ]
    log = run_dir / "logs" / f"{FAKE_EXCHANGE}.log"
    child = spawn(FAKE_EXCHANGE, command, {}, log, port)
    deadline = time.monotonic() + timeout_s
    while not venues_file.is_file() or not venues_file.read_text().strip():
        code = child.exit_code()
        if code is not None or time.monotonic() > deadline:
            how = f"exited with {code}" if code is not None else f"not up in {timeout_s:.0f}s"
            raise RuntimeError(f"the fake exchange {how}:\n{log_tail(log)}")
        time.sleep(0.1)
    return child


def resume_fake_exchange(port: int, speed: float) -> None:
    """Start the paused replay of the session's fake exchange at ``speed``.

    Raises:
        RuntimeError: The fake exchange did not answer.
    """
    import json
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/_fake/replay",
        data=json.dumps({"speed": speed}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            response.read()
    except OSError as exc:
        raise RuntimeError(f"the fake exchange did not start its replay: {exc}") from exc
