"""``compute_features_csv``: an existing output file is replaced only with ``overwrite``."""

from __future__ import annotations

import pytest
from jules_features.bar_csv import compute_features_csv
from jules_features.engine import FeatureSchema
from jules_runtime.output_paths import OutputRefusedError

SCHEMA = FeatureSchema.from_names(["sma_2"])
BARS = (
    "timestamp,open,high,low,close,volume\n"
    "2024-01-02T09:30:00Z,10,11,9,10.5,100\n"
    "2024-01-02T09:31:00Z,10.5,12,10,11.5,120\n"
)


def test_an_existing_output_is_refused_before_the_input_is_read(tmp_path):
    output = tmp_path / "out.csv"
    output.write_text("someone's\n")

    with pytest.raises(OutputRefusedError, match="--overwrite"):
        compute_features_csv(tmp_path / "missing.csv", output, SCHEMA, instrument_id="X.Y")

    assert output.read_text() == "someone's\n"
    assert list(tmp_path.iterdir()) == [output]


def test_overwrite_replaces_the_output(tmp_path):
    source = tmp_path / "bars.csv"
    source.write_text(BARS)
    output = tmp_path / "out.csv"
    output.write_text("old\n")

    summary = compute_features_csv(source, output, SCHEMA, instrument_id="X.Y", overwrite=True)

    assert summary.rows == 2
    assert output.read_text().splitlines()[-1].endswith(",11.0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bars.csv", "out.csv"]
