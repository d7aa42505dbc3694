"""Settings of the audit service (environment prefix ``JULES_AUDIT__``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar

from jules_runtime.settings import ServiceSettings, service_settings_config
from pydantic import Field, field_validator

__all__ = ["AuditSettings", "read_key"]

_Count = Annotated[int, Field(ge=1, le=100_000_000)]


def read_key(path: Path) -> bytes:
    """Read a checkpoint signing key: the file's bytes without a trailing line feed.

    Raises:
        ValueError: The file is empty (or holds only a line feed).
        OSError: The file cannot be read.
    """
    key = path.read_bytes().rstrip(b"\r\n")
    if not key:
        raise ValueError(f"the key file {path} is empty")
    return key


class AuditSettings(ServiceSettings):
    """Settings of the audit service.

    Attributes:
        directory: Where the log goes (``JULES_AUDIT__DIRECTORY``); created if missing, resumed
            if it holds a log (a log that fails verification is never written to: the service
            does not start).
        segment_records: Records per segment file.
        checkpoint_every: Records between two checkpoints inside a segment (a checkpoint also
            ends every segment and the log at shutdown).
        key_file: File holding the HMAC-SHA256 key that signs every checkpoint (a trailing
            line feed is ignored); without it checkpoints are unsigned.
        fsync_every_record: fsync the segment after every record, not only at checkpoints
            (a power loss then loses nothing that was acknowledged on Kafka).
    """

    service_name: ClassVar[str] = "audit"
    default_http_port: ClassVar[int] = 8106
    model_config = service_settings_config("audit")

    directory: Path
    segment_records: _Count = 10_000
    checkpoint_every: _Count = 1_000
    key_file: Path | None = None
    fsync_every_record: bool = False

    @field_validator("directory")
    @classmethod
    def _usable_directory(cls, path: Path) -> Path:
        if path.exists() and not path.is_dir():
            raise ValueError(f"{path} exists and is not a directory")
        return path

    @field_validator("key_file")
    @classmethod
    def _readable_key(cls, path: Path | None) -> Path | None:
        if path is None:
            return None
        if not path.is_file():
            raise ValueError(f"key file {path} not found")
        try:
            read_key(path)  # checked at start-up; the key itself is not kept in the settings
        except OSError as exc:
            raise ValueError(f"key file {path} cannot be read: {exc.strerror}") from None
        return path

    def signing_key(self) -> bytes | None:
        """The checkpoint signing key from ``key_file``, or ``None`` (unsigned checkpoints)."""
        return None if self.key_file is None else read_key(self.key_file)
