from __future__ import annotations

from pathlib import Path

import pytest
from jules_contracts.base import Event

from .auditlog import KEY, realistic_events, write_log


@pytest.fixture(scope="session")
def events() -> list[Event]:
    return realistic_events()


@pytest.fixture
def log_dir(tmp_path: Path, events: list[Event]) -> Path:
    """A closed, unsigned log of 324 records: 7 segments of 50 (the last 24), 20 checkpoints."""
    return write_log(tmp_path / "audit", events)


@pytest.fixture
def signed_log_dir(tmp_path: Path, events: list[Event]) -> Path:
    return write_log(tmp_path / "signed", events, key=KEY)
