"""``jules backtest --mode kafka``: options that cannot work stop before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from jules.backtest_kafka import KafkaRunOptions, run_backtest_kafka
from jules.cli import app
from jules_backtest.config import BacktestConfig
from jules_backtest.examples import small_config
from typer.testing import CliRunner

from .backtest_helpers import DATA_DIR


def test_more_feature_replicas_than_partitions_is_refused_before_the_run(tmp_path: Path) -> None:
    config = BacktestConfig.model_validate(small_config(DATA_DIR, tmp_path / "run"))
    options = KafkaRunOptions(bootstrap="127.0.0.1:1", partitions=1, replicas={"features": 2})

    with pytest.raises(ValueError, match="2 replicas of features need at least as many"):
        run_backtest_kafka(config, options)

    assert not (tmp_path / "run").exists()  # nothing was written


@pytest.mark.parametrize("value", ["features", "features=0", "nosuch=2", "risk=two"])
def test_a_bad_replicas_option_names_what_is_wrong(value: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["backtest", "--mode", "kafka", "--replicas", value, "--no-progress"]
    )

    assert result.exit_code == 2
    assert "--replicas" in result.output
    assert repr(value) in result.output
