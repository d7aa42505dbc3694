"""The ``jules`` command: the embedded node, the demo, backtests, replay and reports."""
