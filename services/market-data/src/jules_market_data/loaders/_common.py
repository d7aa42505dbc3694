"""Shared pieces of the file loaders: reading lines, parsing numbers and times, building events.

Every loader turns each row into a contract event or a ``Rejection`` with a reason code; a row
is never dropped silently (only blank lines are skipped: they hold no row).
"""

from __future__ import annotations

import gzip
import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, TypeVar

from jules_contracts import Event, JulesError, derive_event_id, parse_utc_nanos
from jules_contracts.base import InstrumentId
from pydantic import TypeAdapter, ValidationError

from jules_market_data.engine.rejections import (
    Rejection,
    RejectReason,
    reason_for_validation_error,
)

__all__ = [
    "EPOCH_MAGNITUDES",
    "EPOCH_UNIT_NS",
    "SOURCE",
    "LoadedItem",
    "LoaderError",
    "RowError",
    "RowSink",
    "check_instrument_id",
    "open_text",
    "parse_float",
    "parse_int",
    "parse_time",
]

SOURCE = "market-data"
"""``source`` of every event the loaders create."""

LoadedItem = Event | Rejection
E = TypeVar("E", bound=Event)

_INSTRUMENT = TypeAdapter(InstrumentId)
_EPOCH_RE = re.compile(r"^\d+(\.\d+)?$")
_NAIVE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?$")
# Epoch numbers are read by magnitude: seconds below 1e11 (until the year 5138), milliseconds
# below 1e14, microseconds below 1e17, nanoseconds above.
EPOCH_MAGNITUDES = ((10**11, 10**9), (10**14, 10**6), (10**17, 10**3))
"""Epoch numbers below each limit are in the unit of its scale (s, ms, us); above, ns."""
EPOCH_UNIT_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


class LoaderError(JulesError, ValueError):
    """A file-level problem: missing file, unknown format, missing column, bad argument."""


class RowError(JulesError):
    """A row that cannot become an event; becomes a ``Rejection``."""

    def __init__(self, reason: RejectReason, detail: str, event_time: int | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.event_time = event_time


def check_instrument_id(instrument_id: str) -> str:
    """Return ``instrument_id`` if it is ``SYMBOL.VENUE``, else raise ``LoaderError``."""
    try:
        return _INSTRUMENT.validate_python(instrument_id)
    except ValidationError:
        raise LoaderError(
            f"instrument_id {instrument_id!r} is not SYMBOL.VENUE (for example BTCUSD.COINBASE)"
        ) from None


def check_file(path: Path) -> Path:
    """Return ``path`` if it is a readable file, else raise ``LoaderError``."""
    if not path.is_file():
        raise LoaderError(f"{path}: no such file")
    return path


@contextmanager
def open_text(path: Path) -> Iterator[IO[str]]:
    """Open a text file, a ``.gz`` file or a single-member ``.zip`` with universal newlines.

    CRLF and LF line endings both read as a newline; a last line without a newline is kept.
    """
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = [name for name in archive.namelist() if not name.endswith("/")]
            if len(members) != 1:
                raise LoaderError(f"{path}: expected one CSV in the zip, found {members}")
            with archive.open(members[0]) as raw:
                yield io.TextIOWrapper(raw, encoding="utf-8", newline=None)
    elif path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8", newline=None) as handle:
            yield handle
    else:
        with path.open(encoding="utf-8", newline=None) as handle:
            yield handle


def parse_float(text: object, column: str) -> float:
    """A number from a cell; ``NaN``/``inf`` pass (the contract refuses them as NON_FINITE)."""
    if text.__class__ is not bool:
        try:
            return float(text)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            pass
    raise RowError(RejectReason.MALFORMED, f"{column}: {text!r} is not a number")


def parse_int(text: object, column: str) -> int:
    """An integer from a cell."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    try:
        return int(str(text))
    except ValueError:
        raise RowError(RejectReason.MALFORMED, f"{column}: {text!r} is not an integer") from None


def parse_time(
    value: object, column: str, *, assume_utc: bool = False, epoch_unit: str | None = None
) -> int:
    """A UTC timestamp in nanoseconds from a cell.

    Args:
        value: Integer nanoseconds (Parquet timestamps are converted to these), an epoch
            number (text or number; unit ``epoch_unit`` or, if ``None``, by magnitude: seconds
            below 1e11, milliseconds below 1e14, microseconds below 1e17, else nanoseconds),
            or an ISO-8601 string with a UTC offset.
        column: The column name, for messages.
        assume_utc: Read ISO-8601 strings without an offset as UTC (else they are refused:
            a naive time is ambiguous).
        epoch_unit: ``s``, ``ms``, ``us`` or ``ns`` for epoch numbers.

    Raises:
        RowError: ``BAD_TIMESTAMP`` (or ``NON_FINITE`` for NaN/infinity).
    """
    text = str(value).strip()
    if isinstance(value, int | float | Decimal) or _EPOCH_RE.match(text):
        return _epoch_nanos(text, column, epoch_unit)
    if assume_utc and _NAIVE_RE.match(text):  # the usual case of such files, without a detour
        try:
            return parse_utc_nanos(text + "Z")
        except ValueError:
            pass  # refused below, the message naming the text as given
    try:
        return parse_utc_nanos(text)
    except ValueError as exc:
        if assume_utc:
            try:
                return parse_utc_nanos(text + "Z")
            except ValueError:
                pass
        naive = _NAIVE_RE.match(text)
        hint = (
            " (no UTC offset: if the file is in UTC, set assume_utc: true on its data source)"
            if naive
            else ""
        )
        raise RowError(RejectReason.BAD_TIMESTAMP, f"{column}: {text!r}: {exc}{hint}") from None


def _epoch_nanos(text: str, column: str, unit: str | None) -> int:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise RowError(RejectReason.BAD_TIMESTAMP, f"{column}: {text!r} is not a time") from None
    if not number.is_finite():
        raise RowError(RejectReason.NON_FINITE, f"{column}: {text!r} is not a finite time")
    if unit is not None:
        scale = EPOCH_UNIT_NS[unit]
    else:
        scale = next((s for limit, s in EPOCH_MAGNITUDES if abs(number) < limit), 1)
    nanos = int(number * scale)
    if not 0 <= nanos < 2**63:
        raise RowError(RejectReason.BAD_TIMESTAMP, f"{column}: {text!r} is outside 1970..2262 UTC")
    return nanos


class RowSink:
    """Builds events (or rejections) for the rows of one file.

    Attributes:
        fmt: The loader format, the ``source`` of its rejections.
        file_name: The file's name, used in locations and event ids.
        instrument_id: The instrument of every event.
    """

    def __init__(self, fmt: str, path: Path, instrument_id: str) -> None:
        self.fmt = fmt
        self.file_name = path.name
        self.instrument_id = instrument_id

    def location(self, line: int | str) -> str:
        """``<file>:<line>`` (or ``<file>:<text>`` for a non-numeric position)."""
        return f"{self.file_name}:{line}"

    def position_id(self, kind: str, line: int | str, *extra: str | int) -> str:
        """A deterministic event id from the file name and the line (for ticks, book rows)."""
        return derive_event_id(f"md.{kind}", self.instrument_id, self.file_name, line, *extra)

    def reject(
        self, line: int | str, reason: RejectReason, detail: str, event_time: int | None = None
    ) -> Rejection:
        """A rejection of the row at ``line``."""
        return Rejection(
            source=self.fmt,
            location=self.location(line),
            reason=reason,
            detail=detail,
            event_time=event_time,
            instrument_id=self.instrument_id,
        )

    def from_error(self, line: int | str, error: RowError) -> Rejection:
        """A rejection from a ``RowError``."""
        return self.reject(line, error.reason, error.detail, error.event_time)

    def build(self, cls: type[E], line: int | str, fields: dict[str, Any]) -> E | Rejection:
        """Validate ``fields`` (plus source and instrument) into ``cls``, or reject the row."""
        fields["source"] = SOURCE
        fields["instrument_id"] = self.instrument_id
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            reason, detail = reason_for_validation_error(exc)
            time = fields.get("event_time")
            valid_time = isinstance(time, int) and 0 <= time < 2**63
            return self.reject(line, reason, detail, time if valid_time else None)
