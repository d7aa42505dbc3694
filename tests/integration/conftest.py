"""Fixtures for tests that run against a real Apache Kafka broker.

Every test under ``tests/integration`` is marked ``integration`` (``-m "not integration"``
leaves them out). The session fixture ``kafka`` finds a broker, in this order:

1. ``JULES_KAFKA_BOOTSTRAP`` (``host:port``): an existing broker, e.g. ``make kafka-up`` or
   ``docker compose up -d kafka``; optional ``JULES_KAFKA_DATA_DIR`` says where its log
   segments are (e.g. ``.local/kafka/data``) and ``JULES_KAFKA_LIB_DIR`` a folder of Kafka jars
   to read them with (default: the jars of ``make kafka-fetch``, when fetched).
2. a Docker engine that answers: the official ``apache/kafka`` image through testcontainers
   (``JULES_KAFKA_DOCKER=0`` skips this step, ``=1`` insists on it);
3. otherwise ``deploy/local/kafka/kafka-local.sh``: one broker per session in a temporary
   state folder on free ports, stopped at the end of the session (and at interpreter exit).
"""

import atexit
import os
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest
from jules_runtime.settings import KafkaClientName

from .kafka_helpers import (
    KafkaEndpoint,
    LocalBroker,
    docker_engine_available,
    local_lib_dir,
    start_kafka_container,
    topic_name,
)

_HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)  # before -m deselects anything
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test collected from this folder ``integration``."""
    for item in items:
        if item.path.resolve().is_relative_to(_HERE):
            item.add_marker(pytest.mark.integration)


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value) if value else None


def _use_docker() -> bool:
    mode = os.environ.get("JULES_KAFKA_DOCKER", "auto").strip().lower() or "auto"
    if mode not in {"auto", "0", "1"}:
        raise pytest.UsageError(f"JULES_KAFKA_DOCKER must be auto, 0 or 1 (got {mode!r})")
    return mode == "1" or (mode == "auto" and docker_engine_available())


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaEndpoint]:
    """A running Kafka broker for the whole session (see the module docstring)."""
    bootstrap = os.environ.get("JULES_KAFKA_BOOTSTRAP", "").strip()
    if bootstrap:
        data_dir = _env_path("JULES_KAFKA_DATA_DIR")
        lib_dir = _env_path("JULES_KAFKA_LIB_DIR")
        if lib_dir is None and data_dir is not None and (local_lib_dir() / ".complete").exists():
            lib_dir = local_lib_dir()  # any Kafka's tools read the segments
        yield KafkaEndpoint(bootstrap, data_dir=data_dir, lib_dir=lib_dir, log_file=None)
        return

    if _use_docker():
        container = start_kafka_container()
        atexit.register(container.stop)
        try:
            yield KafkaEndpoint(container.bootstrap, data_dir=None, lib_dir=None, log_file=None)
        finally:
            atexit.unregister(container.stop)
            container.stop()
        return

    broker = LocalBroker(tmp_path_factory.mktemp("kafka"))
    atexit.register(broker.stop)  # also when the session dies before the finalizer runs
    try:
        yield broker.start()
    finally:
        atexit.unregister(broker.stop)
        broker.stop()


@pytest.fixture
def unique_topic(request: pytest.FixtureRequest) -> str:
    """A topic name no other test uses: ``it-<test name>-<8 hex>``."""
    return topic_name(request.node.name)


@pytest.fixture(params=get_args(KafkaClientName))
def kafka_client(request: pytest.FixtureRequest) -> str:
    """Each Kafka client the bus offers (``KafkaSettings.client``): a test taking this
    fixture runs once with each against the real broker."""
    return str(request.param)
