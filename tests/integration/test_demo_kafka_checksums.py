"""The demo backtest through Kafka writes the recorded run folder of the embedded demo."""

from __future__ import annotations

from pathlib import Path

import pytest
from jules.backtest_kafka import KafkaRunOptions, run_backtest_kafka
from jules_backtest.config import load_config

from tests.demo_runs import CONFIGS, REPO_ROOT, expected_checksums, run_folder_checksums

from .kafka_helpers import KafkaEndpoint

pytestmark = pytest.mark.integration


def test_the_kafka_mode_demo_is_byte_identical_to_the_recorded_embedded_run(
    kafka: KafkaEndpoint, tmp_path, monkeypatch
):
    monkeypatch.chdir(REPO_ROOT)  # and the config named from there, as make demo does: its
    # data_dir is then the recorded config.json's (relative paths start at the file's folder)
    config = load_config(Path(CONFIGS["demo"])).model_copy(
        update={"output_dir": tmp_path / "demo-kafka"}
    )

    run = run_backtest_kafka(config, KafkaRunOptions(bootstrap=kafka.bootstrap))

    assert run_folder_checksums(run.run_dir) == expected_checksums("demo")
