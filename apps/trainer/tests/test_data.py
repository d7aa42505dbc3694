"""Training data: bars as a backtest loads them, the data hash, folds and normalisation."""

from __future__ import annotations

import hashlib
from itertools import pairwise

import numpy as np
import pytest
from jules_backtest.data import DataQuality, load_bars
from jules_features.engine import FeatureEngine, FeatureSchema
from jules_trainer.config import FoldsConfig
from jules_trainer.data import (
    Window,
    compute_normalisation,
    feature_rows,
    load_dataset,
    walk_forward_folds,
)

from .env_helpers import BTC_PERP, DATA_DIR, FEATURES, INSTRUMENT, btc_perp_head, train_config


@pytest.fixture(scope="module")
def month():
    config = train_config(DATA_DIR)
    return config, load_dataset(config)


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    btc_perp_head(folder, 2000)
    config = train_config(folder, path="btc-perp-head.csv")
    return config, load_dataset(config)


def test_the_month_loads_as_one_instrument_with_the_files_hash(month):
    _, dataset = month

    assert list(dataset.bars) == [INSTRUMENT]
    bars = dataset.bars[INSTRUMENT]
    assert len(bars) == 45_031
    assert all(a.event_time < b.event_time for a, b in pairwise(bars))
    assert dataset.data_hash == hashlib.sha256((DATA_DIR / BTC_PERP).read_bytes()).hexdigest()
    assert dataset.quality["accepted_bars_by_instrument"] == {INSTRUMENT: 45_031}


def test_the_data_hash_follows_the_data(tmp_path):
    one = train_config(tmp_path, path=btc_perp_head(tmp_path, 500, "a.csv").name)
    same = train_config(tmp_path, path=btc_perp_head(tmp_path, 500, "b.csv").name)
    longer = train_config(tmp_path, path=btc_perp_head(tmp_path, 501, "c.csv").name)

    first = load_dataset(one)

    assert first.data_hash == load_dataset(same).data_hash
    assert first.data_hash != load_dataset(longer).data_hash
    assert len(first.bars[INSTRUMENT]) == 500


def test_a_missing_file_is_named(tmp_path):
    config = train_config(tmp_path, path="nope.csv")

    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        load_dataset(config)


@pytest.mark.parametrize("count", [1, 3])
def test_folds_are_ordered_in_time_and_do_not_overlap(month, count):
    _, dataset = month
    folds = walk_forward_folds(
        dataset, FoldsConfig(folds=count, train=0.6, validation=0.2, test=0.2)
    )

    windows = [w for fold in folds for w in (fold.train, fold.validation, fold.test)]
    assert [fold.index for fold in folds] == list(range(count))
    for earlier, later in pairwise(windows):
        assert earlier.start_ns < earlier.end_ns <= later.start_ns < later.end_ns
    sizes = [len(dataset.segments(w)[0].bars) for w in windows]
    assert sum(sizes) == 45_031  # every bar in exactly one window
    for fold in folds:
        train, validation, test = (
            len(dataset.segments(w)[0].bars) for w in (fold.train, fold.validation, fold.test)
        )
        assert train / (train + validation + test) == pytest.approx(0.6, abs=1e-3)
        assert validation / (train + validation + test) == pytest.approx(0.2, abs=1e-3)


def test_too_many_folds_for_the_bars_is_an_error(head):
    _, dataset = head

    with pytest.raises(ValueError, match="too few"):
        walk_forward_folds(dataset, FoldsConfig(folds=100, train=0.98, validation=0.01, test=0.01))


def test_a_window_in_iso_selects_the_same_bars_in_a_backtest(head, tmp_path):
    config, dataset = head
    fold = walk_forward_folds(dataset, config.folds)[0]

    for window in (fold.validation, fold.test):
        start, end = window.iso()
        backtest = config.backtest_config(model=tmp_path / "m.onnx", start=start, end=end)
        bars = tuple(load_bars(backtest, DataQuality()))
        assert bars == dataset.segments(window)[0].bars


def test_window_iso_and_order():
    window = Window(1_641_081_600_000_000_000, 1_641_081_660_000_000_001)

    assert window.iso() == ("2022-01-02T00:00:00+00:00", "2022-01-02T00:01:00.000001+00:00")
    assert window.contains(1_641_081_600_000_000_000)
    assert not window.contains(1_641_081_660_000_000_001)
    with pytest.raises(ValueError, match="after its start"):
        Window(5, 5)


def test_feature_rows_are_the_features_engine_values(head):
    config, dataset = head
    segment = dataset.segments(walk_forward_folds(dataset, config.folds)[0].train)[0]

    rows, closes = feature_rows(config, segment)

    engine = FeatureEngine(FeatureSchema.from_names(FEATURES))
    warm_up = engine.required_history - 1
    assert rows.shape == (len(segment.bars), len(FEATURES))
    assert np.isnan(rows[: warm_up - 1]).any(axis=1).all()
    assert np.isfinite(rows[warm_up:]).all()
    assert closes.tolist() == [bar.close for bar in segment.bars]
    vectors = [engine.on_bar(bar) for bar in segment.bars]
    assert rows[-1].tolist() == [vectors[-1].features[name] for name in FEATURES]


def test_normalisation_is_finite_with_positive_std(head):
    config, dataset = head
    segments = dataset.segments(walk_forward_folds(dataset, config.folds)[0].train)

    normalisation = compute_normalisation(config, segments)

    assert list(normalisation) == list(FEATURES)
    rows = feature_rows(config, segments[0])[0]
    for column, name in enumerate(FEATURES):
        mean, std = normalisation[name]
        assert np.isfinite(mean)
        assert np.isfinite(std)
        assert std > 0
        defined = rows[:, column][np.isfinite(rows[:, column])]
        assert mean == pytest.approx(defined.mean(), rel=1e-12, abs=1e-15)
        assert std == pytest.approx(defined.std(), rel=1e-12)
    assert 30 < normalisation["rsi_14"][0] < 70  # RSI is centred on 50 on real prices
