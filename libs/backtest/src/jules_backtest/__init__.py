"""Backtests in embedded mode: the embedded node, the run, its outputs, metrics and report.

The one library allowed to import the services' engines: ``node`` wires them in one process,
``run`` drives a run from a ``config.BacktestConfig`` over the bars ``data`` loads and writes the
run folder (``outputs``, ``trades``, ``metrics``, ``report``). The ``jules`` command and the
trainer import it; it imports neither.
"""
