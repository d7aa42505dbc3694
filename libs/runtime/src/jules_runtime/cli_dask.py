"""The Dask options of the commands that fan work out (``jules sweep``, ``jules-train search``).

Typer only: importing this module imports no Dask.
"""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["DaskScheduler", "DaskWorkers"]

DaskScheduler = Annotated[
    str | None,
    typer.Option(
        envvar="DASK_SCHEDULER_ADDRESS",
        help="A running Dask scheduler (tcp://host:8786); default: a local cluster.",
    ),
]
"""``--scheduler``: where the trials run (default: a new local cluster)."""

DaskWorkers = Annotated[
    int | None, typer.Option(min=1, help="Local cluster: worker processes (default: cores).")
]
"""``--workers``: the local cluster's worker processes."""
