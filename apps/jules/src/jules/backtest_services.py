"""The services of a topic-replay backtest: a constant the ``--replicas`` option checks.

A module of its own so that ``jules backtest`` validates ``--replicas`` without importing the
Kafka mode (``jules.backtest_kafka``).
"""

from __future__ import annotations

__all__ = ["BACKTEST_SERVICES"]

BACKTEST_SERVICES = ("order-router", "risk", "signal", "features")
"""The services of a topic-replay backtest."""
