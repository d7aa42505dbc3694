"""Configuration of the audit log layout."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AuditLogConfig"]

_Count = Annotated[int, Field(strict=True, ge=1, le=100_000_000)]


class AuditLogConfig(BaseModel):
    """How the audit log is cut into segment files and checkpoints.

    Attributes:
        segment_records: Records per segment file; a full segment is closed with a checkpoint
            and the next record starts a new file.
        checkpoint_every: Records between two checkpoints inside a segment (a checkpoint also
            ends every segment and the log at close).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    segment_records: _Count = 10_000
    checkpoint_every: _Count = 1_000
