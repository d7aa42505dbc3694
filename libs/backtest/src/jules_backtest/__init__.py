"""Backtests in embedded mode: configuration, the run, its metrics and its report."""
