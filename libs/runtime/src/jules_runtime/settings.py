"""Settings base of every service: pydantic-settings with one env prefix per service.

A service declares one frozen settings class::

    class RiskSettings(ServiceSettings):
        model_config = service_settings_config("risk")
        max_order_notional: PositiveFloat = 100_000.0

and reads it with ``load_settings(RiskSettings)``. Environment variables are
``JULES_<SERVICE>__<FIELD>`` with ``__`` for nesting (``JULES_RISK__KAFKA__BOOTSTRAP_SERVERS``).
Invalid values, and unknown variables carrying the service's prefix (a typo would otherwise
be ignored silently), stop the service at start-up with a ``ConfigError`` naming each one.
A choice is read in any case (``JULES_RISK__LOG__LEVEL=debug`` is ``DEBUG``).
"""

from __future__ import annotations

import difflib
import enum
import json
import os
import types
import typing
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar

from jules_contracts.any_case import AnyCase
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretBytes,
    SecretStr,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from jules_runtime.errors import ConfigError

__all__ = [
    "HttpSettings",
    "KafkaClientName",
    "KafkaSettings",
    "LockstepSettings",
    "LogSettings",
    "ServiceSettings",
    "env_prefix",
    "load_settings",
    "service_settings_config",
]

S = TypeVar("S", bound="ServiceSettings")

_Secret = (SecretStr, SecretBytes)
"""Types whose values a configuration error never echoes."""

_Millis = Annotated[int, Field(ge=0, le=3_600_000)]

KafkaClientName = Literal["aiokafka", "confluent"]
"""The Kafka clients the bus runs on (``KafkaSettings.client``)."""


class KafkaSettings(BaseModel):
    """Kafka client options. Every option the clients use is set from here, explicitly.

    Producers always run with ``acks=all`` and idempotence on; those two are not settings.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    client: Annotated[KafkaClientName, AnyCase()] = "aiokafka"
    """The client library of the services' consumers and producer, through FastStream's
    transport of the same name: ``aiokafka`` (pure Python) or ``confluent`` (confluent-kafka,
    librdkafka in C). Both give the same guarantees. confluent-kafka has the shorter bare round
    trip and costs less CPU per message in the client (``bench/pipeline_costs.py``), but the
    services' pipeline is faster on aiokafka (``bench/tick_to_order_latency.py``,
    ``bench/replay_throughput.py``, docs/performance.md), hence the default."""

    bootstrap_servers: Annotated[str, StringConstraints(min_length=3)] = "127.0.0.1:9092"
    client_id: str | None = None
    """Defaults to ``jules-<service>``."""
    request_timeout_ms: Annotated[int, Field(ge=1000, le=300_000)] = 30_000
    retry_backoff_ms: Annotated[int, Field(ge=10, le=60_000)] = 100
    metadata_max_age_ms: Annotated[int, Field(ge=1000)] = 300_000
    connections_max_idle_ms: Annotated[int, Field(ge=1000)] = 540_000
    # producer
    linger_ms: Annotated[int, Field(ge=0, le=1000)] = 1
    max_batch_size: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = 16_384
    max_request_size: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1_048_576
    compression_type: Annotated[Literal["gzip", "snappy", "lz4", "zstd"] | None, AnyCase()] = None
    delivery_timeout_ms: Annotated[int, Field(ge=1000, le=3_600_000)] = 120_000
    """How long a record may wait for the broker before its send fails (Kafka's
    ``delivery.timeout.ms``, librdkafka's ``message.timeout.ms``; the default is the Java
    producer's). A broker outage shorter than this pauses the services; a longer one fails
    their sends, and they stop (``jules_runtime.bus.reconnect``). At least
    ``request_timeout_ms + linger_ms``."""
    # consumer
    auto_offset_reset: Annotated[Literal["earliest", "latest"], AnyCase()] = "earliest"
    isolation_level: Annotated[Literal["read_committed", "read_uncommitted"], AnyCase()] = (
        "read_committed"
    )
    fetch_min_bytes: Annotated[int, Field(ge=1)] = 1
    fetch_max_wait_ms: _Millis = 100
    fetch_max_bytes: Annotated[int, Field(ge=1024)] = 52_428_800
    max_partition_fetch_bytes: Annotated[int, Field(ge=1024)] = 262_144
    """Bytes one fetch brings per partition. Under a backlog the consumer holds a fetch of
    every assigned partition in memory: 256 KiB (about 600 events) keeps a service's peak RSS
    down (``bench/tick_to_order_latency.py`` prints it at 2,000 ticks/s)."""
    max_poll_records: Annotated[int, Field(ge=1, le=100_000)] = 200
    """Records in one batch at most (``KafkaBus`` handles, acknowledges and commits a batch at
    once): large enough to spread a batch's fixed cost, small enough for memory."""
    session_timeout_ms: Annotated[int, Field(ge=1000, le=300_000)] = 10_000
    heartbeat_interval_ms: Annotated[int, Field(ge=100, le=100_000)] = 3_000
    max_poll_interval_ms: Annotated[int, Field(ge=1000)] = 300_000
    consumer_timeout_ms: Annotated[int, Field(ge=1, le=60_000)] = 200
    graceful_timeout_s: Annotated[float, Field(gt=0, le=600)] = 15.0
    commit_interval_ms: Annotated[int, Field(ge=0, le=60_000)] = 0
    """Consumers handle what one fetch returned as a batch, await its outputs'
    acknowledgements once, then commit the batch's offsets. 0: commit after every batch.
    ``n``: commit at most every ``n`` ms (a timer commits what is left when no batch follows);
    fewer commit requests, and after a crash up to ``n`` ms of messages are read again, which
    the services' deduplication by ``event_id`` keeps from repeating their effects. A
    committed offset never runs ahead of acknowledged outputs either way."""

    def connection(self, client_id: str) -> dict[str, Any]:
        """The connection options of every Kafka client (producer, consumer, admin).

        Args:
            client_id: The client id the broker sees (``jules-<service>``, ``…-restore``).

        Returns:
            Keyword arguments of the aiokafka clients' constructors.
        """
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": client_id,
            "request_timeout_ms": self.request_timeout_ms,
            "retry_backoff_ms": self.retry_backoff_ms,
            "metadata_max_age_ms": self.metadata_max_age_ms,
            "connections_max_idle_ms": self.connections_max_idle_ms,
        }

    def membership(self, group: str) -> dict[str, Any]:
        """The consumer-group options of the bus's subscribers (either client)."""
        return {
            "group_id": group,
            "auto_offset_reset": self.auto_offset_reset,
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
            "max_poll_interval_ms": self.max_poll_interval_ms,
        }

    def fetching(self) -> dict[str, Any]:
        """The fetch options of every consumer (the bus's subscribers, lockstep and readers).

        Returns:
            Keyword arguments of ``AIOKafkaConsumer`` (and FastStream's subscribers).
        """
        return {
            "isolation_level": self.isolation_level,
            "fetch_min_bytes": self.fetch_min_bytes,
            "fetch_max_wait_ms": self.fetch_max_wait_ms,
            "fetch_max_bytes": self.fetch_max_bytes,
            "max_partition_fetch_bytes": self.max_partition_fetch_bytes,
            "check_crcs": True,
        }

    @model_validator(mode="after")
    def _check_heartbeat(self) -> Self:
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            raise ValueError(
                f"heartbeat_interval_ms ({self.heartbeat_interval_ms}) must be at most a third "
                f"of session_timeout_ms ({self.session_timeout_ms})"
            )
        if self.delivery_timeout_ms < self.request_timeout_ms + self.linger_ms:
            raise ValueError(
                f"delivery_timeout_ms ({self.delivery_timeout_ms}) must be at least "
                f"request_timeout_ms + linger_ms ({self.request_timeout_ms + self.linger_ms})"
            )
        return self


class LogSettings(BaseModel):
    """Logging options."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: Annotated[
        Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"], AnyCase()
    ] = "INFO"
    json_logs: bool = True
    """One JSON object per line (for machines); ``false`` gives readable lines."""


class HttpSettings(BaseModel):
    """Where the service serves ``/health``, ``/ready`` and ``/metrics``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: Annotated[str, StringConstraints(min_length=1)] = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] | None = None
    """Default: the service's own port (8101 market-data … 8106 audit); 0 picks a free one."""


RunScope = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class LockstepSettings(BaseModel):
    """Backtest mode: the service steps through a topic-replay run (``jules_runtime.lockstep``).

    Attributes:
        enabled: Read the run's topics from the beginning and step in event time on the
            producers' in-band watermarks (needs ``run_scope``).
        replica_index: This process's place among the replicas (features, signal: each owns
            the partitions ``replica_index mod replicas``).
        replicas: How many replicas share the partitions.
        ticks: The run is driven by quotes, trades or books too: a step's market part reads
            ``md.quotes``, ``md.trades`` and ``md.book`` besides ``md.bars``
            (``jules_runtime.lockstep.step_rules``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    ticks: bool = False
    replica_index: Annotated[int, Field(ge=0)] = 0
    replicas: Annotated[int, Field(ge=1)] = 1

    @model_validator(mode="after")
    def _index_in_range(self) -> Self:
        if self.replica_index >= self.replicas:
            raise ValueError(
                f"replica_index {self.replica_index} must be below replicas {self.replicas}"
            )
        return self


def env_prefix(service: str) -> str:
    """Return the environment prefix of a service: ``JULES_<SERVICE>__``."""
    return f"JULES_{service.upper().replace('-', '_')}__"


def service_settings_config(service: str) -> SettingsConfigDict:
    """Return the ``model_config`` of a service's settings class."""
    return SettingsConfigDict(
        env_prefix=env_prefix(service),
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
        case_sensitive=False,
        validate_default=True,
    )


class ServiceSettings(BaseSettings):
    """Settings every service has: Kafka, logging, and the run scope of its topics.

    Attributes:
        kafka: Kafka client options.
        log: Logging options.
        run_scope: Prefix of every topic (``bt-<run>`` for a backtest); ``None`` is live.
    """

    service_name: ClassVar[str] = "service"
    default_http_port: ClassVar[int] = 8100
    model_config = service_settings_config("service")

    kafka: KafkaSettings = KafkaSettings()
    log: LogSettings = LogSettings()
    http: HttpSettings = HttpSettings()
    run_scope: RunScope | None = None

    @model_validator(mode="before")
    @classmethod
    def _decode_nested_values(cls, data: Any) -> Any:
        """Read nested environment strings as JSON where the setting is not text.

        pydantic-settings passes a nested value (``JULES_RISK__ENGINE__SIZING__FRACTION=0.5``)
        as the string ``"0.5"``; engine configurations are strict models that refuse it. A value
        is read as JSON (a number, ``true``, ``null``, a list) wherever its setting does not
        accept text, and then validated exactly as in a configuration file.
        """
        if not isinstance(data, dict):
            return data
        return {
            name: _decode_section(cls.model_fields[name].annotation, value)
            if name in cls.model_fields
            else value
            for name, value in data.items()
        }

    @model_validator(mode="after")
    def _lockstep_needs_a_scope(self) -> Self:
        lockstep = getattr(self, "lockstep", None)
        if isinstance(lockstep, LockstepSettings) and lockstep.enabled and not self.run_scope:
            raise ValueError("lockstep (backtest mode) needs run_scope: the run's topics, bt-<run>")
        return self

    @property
    def http_port(self) -> int:
        """The HTTP port: the configured one or the service's default."""
        return self.default_http_port if self.http.port is None else self.http.port

    @property
    def client_id(self) -> str:
        """The Kafka client id: the configured one or ``jules-<service>``."""
        return self.kafka.client_id or f"jules-{self.service_name}"

    @property
    def consumer_group(self) -> str:
        """The consumer group of the service: ``jules-<service>``, scoped for a backtest."""
        group = f"jules-{self.service_name}"
        return group if self.run_scope is None else f"{self.run_scope}.{group}"


def _decode_section(annotation: Any, value: Any) -> Any:
    """Decode the string values of a nested settings section (recursively), see above."""
    if not (isinstance(value, dict) and isinstance(annotation, type)):
        return value
    if not issubclass(annotation, BaseModel):
        return value
    decoded = {}
    for name, item in value.items():
        field = annotation.model_fields.get(name)
        if field is None:
            decoded[name] = item
        elif isinstance(item, dict):
            decoded[name] = _decode_section(field.annotation, item)
        elif isinstance(item, str) and not _accepts_text(field.annotation):
            try:
                decoded[name] = json.loads(item)
            except ValueError:
                decoded[name] = item  # validation names the variable and the value
        else:
            decoded[name] = item
    return decoded


def _accepts_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return any(isinstance(arg, str) for arg in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType, Annotated):
        return any(_accepts_text(arg) for arg in typing.get_args(annotation))
    return isinstance(annotation, type) and issubclass(annotation, enum.Enum)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Read and validate a service's settings from the environment (``os.environ``).

    Args:
        cls: The service's settings class.
        **overrides: Values that win over the environment (from command-line flags).

    Returns:
        The validated, frozen settings.

    Raises:
        ConfigError: A value is invalid, or a variable with the service's prefix names no
            setting. The message names every variable at fault and its value, unless
            the setting can hold a secret (a ``SecretStr`` anywhere in it).
    """
    env = dict(os.environ)
    prefix = str(cls.model_config.get("env_prefix", ""))
    problems = _unknown_variables(cls, env, prefix)
    settings: S | None = None
    try:
        settings = cls(**overrides)
    except ValidationError as exc:
        problems.extend(_describe(cls, exc, env, prefix))
    except ValueError as exc:  # a source that cannot parse a variable (bad JSON)
        problems.append(str(exc))
    if problems or settings is None:
        raise ConfigError(cls.service_name, problems)
    return settings


def _field_paths(model: type[BaseModel], base: str = "") -> set[str]:
    paths: set[str] = set()
    for name, field in model.model_fields.items():
        path = f"{base}{name.upper()}"
        paths.add(path)
        for member in _models_in(field.annotation):
            paths |= _field_paths(member, f"{path}__")
    return paths


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models a setting's annotation holds: itself, or the members of a union of models."""
    if isinstance(annotation, type):
        return [annotation] if issubclass(annotation, BaseModel) else []
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, Annotated):
        return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]
    return []


def _unknown_variables(cls: type[ServiceSettings], env: dict[str, str], prefix: str) -> list[str]:
    known = _field_paths(cls)
    unknown = [
        name
        for name in env
        if name.upper().startswith(prefix.upper()) and name[len(prefix) :].upper() not in known
    ]
    problems = []
    for name in sorted(unknown):
        close = difflib.get_close_matches(name[len(prefix) :].upper(), sorted(known), n=1)
        hint = f"did you mean {prefix}{close[0]}?" if close else "no such setting"
        problems.append(f"{name}: unknown setting; {hint}")
    return problems


def _describe(
    cls: type[BaseModel], exc: ValidationError, env: dict[str, str], prefix: str
) -> list[str]:
    """One line per error: the variable at fault, its value unless it may hold a secret."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        variable = prefix + "__".join(part.upper() for part in loc) if loc else prefix.rstrip("_")
        value = next((v for k, v in env.items() if k.upper() == variable.upper()), None)
        if value is None:
            shown = ""
        elif _may_hold_secret(_setting_annotation(cls, error["loc"])):
            shown = " (value not shown: it may hold secrets)"
        else:
            shown = f"={value!r}"
        problems.append(f"{variable}{shown}: {error['msg']}")
    return problems


def _setting_annotation(cls: type[BaseModel], loc: tuple[int | str, ...]) -> Any:
    """The annotation of the setting at ``loc``, as deep as the path names model fields."""
    annotation: Any = cls
    for part in loc:
        fields = [m.model_fields[part] for m in _models_in(annotation) if part in m.model_fields]
        if not isinstance(part, str) or not fields:
            break
        annotation = fields[0].annotation
    return annotation


def _may_hold_secret(annotation: Any, seen: frozenset[type] = frozenset()) -> bool:
    """Whether a value of ``annotation`` can hold a ``SecretStr``/``SecretBytes`` anywhere."""
    if isinstance(annotation, type):
        if issubclass(annotation, _Secret):
            return True
        if issubclass(annotation, BaseModel) and annotation not in seen:
            return any(
                _may_hold_secret(field.annotation, seen | {annotation})
                for field in annotation.model_fields.values()
            )
    return any(_may_hold_secret(arg, seen) for arg in typing.get_args(annotation))
