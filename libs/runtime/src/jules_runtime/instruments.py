"""Instrument tables: YAML files of instrument specs, and the setting that names one.

A table is a YAML file with one key, ``instruments``, a list of ``InstrumentSpec`` entries::

    instruments:
      - instrument_id: 6EH4.XCME
        tick_size: 0.00005
        lot_size: 1.0
        min_quantity: 1.0
        multiplier: 125000.0
        quote_currency: USD
        fee_per_contract: 1.18

``InstrumentTableSource`` is the type of a setting that gives a table: a file's path, or the
entries themselves (a list, in a backtest config or as JSON in an environment variable). It is
validated when the setting is (a file is read then), so a bad table stops a service or a
backtest at start-up with a message naming the file, the entry and the field.
``InstrumentTableSettings`` adds that setting, ``instruments``, to a settings class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from jules_contracts.instruments import (
    InstrumentSpec,
    InstrumentTable,
    InstrumentTableError,
    instrument_table,
)
from pydantic import BaseModel, BeforeValidator, Field

__all__ = [
    "InstrumentTableSettings",
    "InstrumentTableSource",
    "load_instrument_table",
    "resolve_instrument_table",
]


def load_instrument_table(path: Path) -> dict[str, InstrumentSpec]:
    """Read and validate an instrument table file.

    Args:
        path: A YAML file with an ``instruments:`` list.

    Returns:
        The specs by instrument id.

    Raises:
        InstrumentTableError: The file cannot be read or parsed, is not a mapping with an
            ``instruments`` list, or an entry is invalid (the message names the entry and the
            field), or lists an instrument twice.
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InstrumentTableError(
            f"instrument table {path}: cannot be read ({error.strerror or error})"
        ) from None
    except yaml.YAMLError as error:
        raise InstrumentTableError(f"instrument table {path}: not valid YAML: {error}") from None
    if not isinstance(document, dict) or set(document) != {"instruments"}:
        found = (
            sorted(map(str, document)) if isinstance(document, dict) else type(document).__name__
        )
        raise InstrumentTableError(
            f"instrument table {path}: must be a mapping with one key, instruments (found {found})"
        )
    entries = document["instruments"]
    if not isinstance(entries, list):
        raise InstrumentTableError(
            f"instrument table {path}: instruments must be a list of entries, "
            f"not {type(entries).__name__}"
        )
    return instrument_table(entries, source=f"instrument table {path}: instruments")


def resolve_instrument_table(
    source: Path | tuple[InstrumentSpec, ...] | None,
) -> dict[str, InstrumentSpec]:
    """The specs a setting gives: a file's (read now), the entries', or none.

    Raises:
        InstrumentTableError: The file is invalid (see ``load_instrument_table``).
    """
    if source is None:
        return {}
    if isinstance(source, Path):
        return load_instrument_table(source)
    return instrument_table(source)


def _checked(value: Any) -> Any:
    """A path whose table is valid, or the validated entries of an inline table."""
    if isinstance(value, str | Path):
        path = Path(value)
        load_instrument_table(path)
        return path
    if isinstance(value, list | tuple):
        return tuple(instrument_table(value).values())
    raise InstrumentTableError(
        f"instruments must be a table file's path or a list of entries, not {type(value).__name__}"
    )


def _is_none(value: object) -> bool:
    return value is None


InstrumentTableSource = Annotated[Path | tuple[InstrumentSpec, ...], BeforeValidator(_checked)]
"""A setting that gives an instrument table: a YAML file's path or a list of entries."""


class InstrumentTableSettings(BaseModel):
    """The ``instruments`` setting, for a settings class whose engines take an instrument table.

    Attributes:
        instruments: The instrument table: a YAML file's path, or its entries; ``None``: no
            table (every instrument trades with multiplier 1 and no rounding).
    """

    # Left out of a dump when unset, so a config without a table dumps as it did before.
    instruments: InstrumentTableSource | None = Field(default=None, exclude_if=_is_none)

    def instrument_table(self) -> InstrumentTable:
        """The specs of ``instruments`` by instrument id; a file is read again on each call.

        Raises:
            InstrumentTableError: The file changed since validation and is now invalid.
        """
        return resolve_instrument_table(self.instruments)
