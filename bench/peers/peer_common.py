"""What both peer scripts share: their command line and the JSON line they print."""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path


def argument_parser(description: str) -> argparse.ArgumentParser:
    """The command line of a peer script: the bars CSV and the strategy's parameters."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("bars", type=Path, help="bars CSV")
    parser.add_argument("--fast", type=int, default=10)
    parser.add_argument("--slow", type=int, default=30)
    parser.add_argument("--cash", type=float, default=100_000.0)
    return parser


def report(
    *,
    peer: str,
    version: str,
    bars_seen: int,
    bars_expected: int,
    refused: object,
    instruments: int,
    seconds: float,
    fills: int,
    equity: float,
) -> None:
    """Check the run saw every bar and refused nothing, then print its one JSON line."""
    if bars_seen != bars_expected:
        sys.exit(f"strategy saw {bars_seen} bars of {bars_expected}")
    if refused:
        sys.exit(f"orders refused: {refused}")
    result = {
        "peer": peer,
        "version": version,
        "bars": bars_seen,
        "instruments": instruments,
        "seconds": seconds,
        "bars_per_second": bars_seen / seconds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "trades": fills,
        "final_equity": round(equity, 2),
    }
    print(json.dumps(result), flush=True)
