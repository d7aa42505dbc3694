"""Shared helpers of the market-data tests: where the real data is, cached loads, README counts."""

from __future__ import annotations

import gc
import io
import os
import re
import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from jules_contracts import Event
from jules_market_data import Rejection, load

DATA = Path(
    os.environ.get("JULES_DATA_DIR", Path(__file__).resolve().parents[3].parent / "shared" / "data")
)
LEAN = DATA / "QuantConnect_Lean" / "Data"
OANDA_TICKS = LEAN / "forex" / "oanda" / "tick" / "eurusd"
OANDA_MINUTES = LEAN / "forex" / "oanda" / "minute" / "eurusd"
FXCM_TICKS = LEAN / "forex" / "fxcm" / "tick" / "eurusd"
COINBASE = LEAN / "crypto" / "coinbase"
HFT = DATA / "hftbacktest" / "examples"
NAUTILUS = DATA / "nautilus_trader" / "tests" / "test_data"
BITSTAMP = DATA / "pyalgotrade" / "testcases" / "data" / "bitstampUSD.csv"


def load_all(path: Path, **options: object) -> tuple[Event | Rejection, ...]:
    """``load(path, **options)`` as a tuple, with the cyclic garbage collector paused.

    Loading creates hundreds of thousands of long-lived objects and no garbage cycles; the
    collector would only rescan them (a fifth of the load time).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return tuple(load(path, **options))  # type: ignore[arg-type]
    finally:
        if enabled:
            gc.enable()


@cache
def loaded(path: Path, **options: object) -> tuple[Event | Rejection, ...]:
    """``load_all(path, **options)`` once per test session (the big files take seconds).

    The events stay alive for the session: ``gc.freeze`` moves them out of the collector's
    generations so later collections do not rescan them.
    """
    items = load_all(path, **options)
    gc.freeze()
    return items


def split(items: Iterable[Event | Rejection]) -> tuple[list[Event], list[Rejection]]:
    """Events and rejections of a loaded stream."""
    events: list[Event] = []
    rejections: list[Rejection] = []
    for item in items:
        if isinstance(item, Rejection):
            rejections.append(item)
        else:
            events.append(item)
    return events, rejections


def rejection(item: object) -> Rejection:
    """``item``, which must be a ``Rejection``."""
    assert isinstance(item, Rejection), item
    return item


def ns(text: str) -> int:
    """UTC nanoseconds of an ISO time written without offset (``2014-05-05 05:00:03.074``)."""
    stamp = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return int(stamp.timestamp()) * 1_000_000_000 + stamp.microsecond * 1000


@cache
def readme_rows() -> dict[str, int]:
    """Data rows per file, from the per-file tables of the data README."""
    rows = {}
    pattern = re.compile(r"^\| `(?P<file>[^`]+)` \| `[^`]+` \| [\d,]+ \| (?P<rows>[\d,]+) \|")
    for line in (DATA / "README.md").read_text().splitlines():
        match = pattern.match(line)
        if match:
            rows[match["file"]] = int(match["rows"].replace(",", ""))
    return rows


def readme_count(path: Path) -> int:
    """The README's row count of ``path``."""
    return readme_rows()[path.relative_to(DATA).as_posix()]


def zip_lines(path: Path) -> list[str]:
    """The non-empty lines of the CSV inside a Lean zip, read independently of the loaders."""
    with zipfile.ZipFile(path) as archive:
        [member] = archive.namelist()
        text = archive.read(member).decode()
    return [line for line in io.StringIO(text, newline=None).read().splitlines() if line.strip()]
