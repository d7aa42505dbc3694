"""A user's strategy in an embedded backtest: loaded from a file next to the config, and
quarantined with an alert when it raises, the run going on to its end."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from jules_backtest.config import load_config
from jules_backtest.run import run_backtest

from .sample_data import DATA_DIR

STRATEGY = """
from jules_signal.sdk import Params, Strategy

class Flip(Strategy[Params]):
    def on_start(self):
        self.seen = 0

    def on_bar(self, bar, features):
        self.seen += 1
        if self.seen == 300:
            raise KeyError("no such column")
        self.target(bar.instrument_id, 1.0 if self.seen % 40 < 20 else -1.0)
"""


def test_a_strategy_file_beside_the_config_runs_and_is_quarantined_when_it_raises(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "mine"
    (folder / "strategies").mkdir(parents=True)
    (folder / "strategies" / "flip.py").write_text(STRATEGY)
    day = "QuantConnect_Lean/Data/crypto/coinbase/minute/btcusd/20180404_trade.zip"
    (folder / "flip.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "flip",
                "data": [{"path": day, "instrument_id": "BTCUSD.COINBASE"}],
                "strategy": {"kind": "python", "path": "strategies/flip.py:Flip"},
            }
        )
    )
    config = load_config(folder / "flip.yaml", data_dir=DATA_DIR, output_dir=tmp_path / "run")

    summary = run_backtest(config)  # from another working directory than the config's

    records = [
        json.loads(line)
        for segment in sorted((tmp_path / "run" / "audit").glob("segment-*.jsonl"))
        for line in segment.read_text().splitlines()
    ]
    kinds = [r["event_type"] for r in records]
    alerts = [r["payload"] for r in records if r["event_type"] == "risk.alert"]
    [quarantined] = [a for a in alerts if a["code"] == "STRATEGY_QUARANTINED"]
    assert "on_bar raised KeyError" in quarantined["message"]
    at = next(i for i, r in enumerate(records) if r["payload"] is quarantined)
    assert "signal.generated" in kinds[:at]
    assert "signal.generated" not in kinds[at:]  # nothing decided after the quarantine
    assert kinds.count("signal.generated") == 15  # a flip every 20 bars, before bar 300
    assert summary.metrics["trade_count"] >= 10
