"""The universe the benchmarks share: one real file under many instrument ids, windowed.

``bench/replay_throughput.py`` replays it through Kafka; ``bench/ftx_ema.py`` times it
embedded (whole process, ``--checkout`` for another checkout): a window and a universe must
cost what they select, not what the files hold.
"""

from __future__ import annotations

from pathlib import Path

import yaml

__all__ = ["FTX", "universe_config"]

FTX = "nautilus_trader/tests/test_data/btc-perp-20211231-20220201_1m.csv"


def universe_config(instruments: int, folder: Path, data_dir: Path) -> Path:
    """The FTX BTC-PERP bars under ``instruments`` ids, a 10-hour window (600 bars each)."""
    config = {
        "name": f"universe-{instruments}",
        "data_dir": str(data_dir),
        "data": [
            {"path": FTX, "instrument_id": f"BTC{i:03d}-PERP.FTX", "assume_utc": True}
            for i in range(instruments)
        ],
        "strategy": {"kind": "ema_cross", "fast": 9, "slow": 21, "mode": "long_short"},
        "risk": {"sizing": {"kind": "fixed_fraction", "fraction": 0.005}},
        "execution": {"fill_model": {"kind": "next_bar_open"}},
        "account": {"starting_cash": 1_000_000},
        "monte_carlo": {"samples": 100},
        "start": "2022-01-10T00:00:00+00:00",
        "end": "2022-01-10T10:00:00+00:00",
    }
    path = folder / f"universe-{instruments}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path
