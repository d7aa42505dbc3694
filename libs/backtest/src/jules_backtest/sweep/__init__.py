"""Parameter sweeps: grids and Optuna searches, walk-forward folds, fanned out over Dask."""
