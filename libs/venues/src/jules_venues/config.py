"""A venue's configuration: which exchange, which instruments, where, and its credentials.

A ``VenueConfig`` names the venue (the registry key, ``binance``), the ccxt exchange that
speaks its dialect, the instruments it trades as ``our id -> ccxt symbol``
(``BTCUSDT.BINANCE: BTC/USDT``), an optional ccxt ``urls`` override (a local fake exchange)
and the client's options (book depth, rate limit, timeout).

API keys are ``SecretStr``: given inline, or read from an environment variable
(``api_key_env``) or a file (``api_key_file``, a mounted Kubernetes Secret). They never appear
in ``repr``, ``str``, a dump or an error message; ``ccxt_credentials`` is the one place that
reveals them, to hand them to the ccxt client.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Self

import yaml
from jules_contracts.base import InstrumentId
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    model_validator,
)

from jules_venues.errors import VenueConfigError

__all__ = ["VenueConfig", "load_venue_configs"]

VenueName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
"""A venue's registry name: lowercase (``binance``, ``okx``)."""

_SECRETS = ("api_key", "api_secret", "api_password")


class VenueConfig(BaseModel):
    """How to reach one venue and what to trade there.

    Attributes:
        name: The venue's registry name (``binance``); events carry ``source`` ``venue:<name>``.
        exchange_id: The ccxt exchange id of the venue's dialect; ``None``: ``name``.
        instruments: Our instrument ids and the ccxt symbols they trade as
            (``{"BTCUSDT.BINANCE": "BTC/USDT"}``); each symbol once.
        urls: Merged over the ccxt exchange's ``urls`` (point ``api`` at a fake exchange).
        api_key: The API key, if trading or private data is needed.
        api_secret: The API secret.
        api_password: The API passphrase, for venues that have one (OKX).
        api_key_env: An environment variable holding the API key (read at validation).
        api_secret_env: An environment variable holding the API secret.
        api_key_file: A file holding the API key (a mounted secret; surrounding blanks cut).
        api_secret_file: A file holding the API secret.
        book_depth: Levels per side in each published book snapshot.
        rate_limit_ms: Milliseconds between two REST requests (ccxt's throttle); ``None``: the
            venue's default in ccxt.
        timeout_ms: REST request timeout, in milliseconds.
        page_limit: Items asked for per REST page when backfilling bars or trades.
        sandbox: Use the venue's test network (ccxt ``set_sandbox_mode``).
        options: Extra ccxt ``options``, merged over the adapter's own.
    """

    # hide_input_in_errors: a validation error would otherwise print the input, secrets included.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    name: VenueName
    exchange_id: VenueName | None = None
    instruments: dict[InstrumentId, str] = Field(default_factory=dict)
    urls: dict[str, Any] | None = None
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    api_password: SecretStr | None = None
    api_key_env: str | None = None
    api_secret_env: str | None = None
    api_key_file: Path | None = None
    api_secret_file: Path | None = None
    book_depth: Annotated[int, Field(ge=1, le=5000)] = 20
    rate_limit_ms: Annotated[int, Field(ge=0)] | None = None
    timeout_ms: Annotated[int, Field(ge=100)] = 10_000
    page_limit: Annotated[int, Field(ge=1, le=5000)] = 1000
    sandbox: bool = False
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _read_secrets(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        values = dict(data)
        for field in ("api_key", "api_secret"):
            if values.get(field) is not None:
                continue
            env, file = values.get(f"{field}_env"), values.get(f"{field}_file")
            if env is not None:
                secret = os.environ.get(str(env))
                if secret is None:
                    raise ValueError(f"{field}_env: the environment variable {env} is not set")
                values[field] = secret.strip()
            elif file is not None:
                try:
                    values[field] = Path(file).read_text(encoding="utf-8").strip()
                except OSError as error:
                    reason = error.strerror or type(error).__name__
                    raise ValueError(f"{field}_file: {file} cannot be read ({reason})") from None
        return values

    @model_validator(mode="after")
    def _check(self) -> Self:
        seen: dict[str, str] = {}
        for instrument_id, symbol in self.instruments.items():
            if not symbol:
                raise ValueError(f"instruments: {instrument_id} has an empty ccxt symbol")
            if symbol in seen:
                raise ValueError(
                    f"instruments: {instrument_id} and {seen[symbol]} both trade as {symbol}"
                )
            seen[symbol] = instrument_id
        if self.api_secret is not None and self.api_key is None:
            raise ValueError("api_secret is set but api_key is not")
        return self

    @property
    def ccxt_id(self) -> str:
        """The ccxt exchange id (``exchange_id``, else ``name``)."""
        return self.exchange_id or self.name

    @property
    def source(self) -> str:
        """The ``source`` of the events this venue's adapter produces (``venue:binance``)."""
        return f"venue:{self.name}"

    def symbol(self, instrument_id: str) -> str:
        """The ccxt symbol of one of our instruments.

        Raises:
            VenueConfigError: The instrument is not configured for this venue.
        """
        try:
            return self.instruments[instrument_id]
        except KeyError:
            listed = ", ".join(sorted(self.instruments)) or "none"
            raise VenueConfigError(
                f"venue {self.name}: instrument {instrument_id} is not configured "
                f"(listed: {listed})"
            ) from None

    def instrument_of(self, symbol: str) -> str | None:
        """Our instrument id for a ccxt symbol, ``None`` when it is not configured."""
        for instrument_id, configured in self.instruments.items():
            if configured == symbol:
                return instrument_id
        return None

    def ccxt_credentials(self) -> dict[str, str]:
        """The ccxt constructor's credential keys (``apiKey``, ``secret``, ``password``).

        The only method that reveals the secrets: its result goes to the ccxt client and
        nowhere else (never log it).
        """
        names = {"api_key": "apiKey", "api_secret": "secret", "api_password": "password"}
        credentials: dict[str, str] = {}
        for field in _SECRETS:
            secret: SecretStr | None = getattr(self, field)
            if secret is not None:
                credentials[names[field]] = secret.get_secret_value()
        return credentials


def load_venue_configs(path: Path) -> dict[str, VenueConfig]:
    """Read a YAML file with a ``venues:`` list of venue configs.

    Args:
        path: The file.

    Returns:
        The configs by venue name.

    Raises:
        VenueConfigError: The file cannot be read, is not YAML (the message locates the
            fault without quoting the line), is not a mapping with a ``venues`` list, an
            entry is invalid (the message names it, never a secret's value) or a name repeats.
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise VenueConfigError(f"venue config {path}: cannot be read ({error})") from None
    except yaml.YAMLError as error:
        raise VenueConfigError(
            f"venue config {path}: not valid YAML ({_yaml_problem(error)})"
        ) from None
    entries = document.get("venues") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise VenueConfigError(f"venue config {path}: must be a mapping with a venues list")
    configs: dict[str, VenueConfig] = {}
    for index, entry in enumerate(entries):
        try:
            config = VenueConfig.model_validate(entry)
        except ValidationError as error:
            details = "; ".join(
                f"{'.'.join(map(str, item['loc'])) or 'entry'}: {item['msg']}"
                for item in error.errors(include_url=False, include_input=False)
            )
            raise VenueConfigError(f"venue config {path}: venues[{index}]: {details}") from None
        if config.name in configs:
            raise VenueConfigError(f"venue config {path}: venue {config.name} is listed twice")
        configs[config.name] = config
    return configs


def _yaml_problem(error: yaml.YAMLError) -> str:
    """What is wrong in a YAML document and where, without the quoted line.

    PyYAML's own message quotes the offending line, which may hold a secret (``api_key: …``).
    """
    if not isinstance(error, yaml.MarkedYAMLError):
        return type(error).__name__
    mark = error.problem_mark or error.context_mark
    where = "" if mark is None else f" at line {mark.line + 1}, column {mark.column + 1}"
    return f"{error.problem or error.context or 'invalid YAML'}{where}"
