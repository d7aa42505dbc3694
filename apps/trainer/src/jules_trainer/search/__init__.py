"""Hyperparameter search: ``jules-train search``, on the search machinery of ``jules sweep``.

A search file (``config``) names a training config, the algorithm and the hyperparameters by
dotted key; each point is trained on every walk-forward fold's train window and scored on
its validation window (``trial``), never its test window; trials run over Dask
(``jules_backtest.sweep.search``); the best point becomes a ready training config
(``outputs``) and can be trained in full and registered (``runner.train_best``).
"""
