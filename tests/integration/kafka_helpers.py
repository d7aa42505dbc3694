"""Helpers for tests that run against a real Apache Kafka broker.

Plain functions and types shared by ``conftest.py`` and the integration tests:

* :class:`KafkaEndpoint`, what the session fixture ``kafka`` returns;
* :func:`kafka_local`, a call of ``deploy/local/kafka/kafka-local.sh`` with its own state folder;
* :func:`create_topics`, topic creation with aiokafka's admin client;
* :func:`start_kafka_container`, the official ``apache/kafka`` image through testcontainers.
"""

import asyncio
import os
import re
import subprocess
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_LOCAL_SCRIPT = REPO_ROOT / "deploy" / "local" / "kafka" / "kafka-local.sh"
KAFKA_IMAGE = "apache/kafka:4.1.1"
BOOTSTRAP_RE = re.compile(r"^127\.0\.0\.1:(\d{1,5})$")


@dataclass(frozen=True)
class KafkaEndpoint:
    """A reachable Kafka broker.

    Attributes:
        bootstrap: ``host:port`` for ``bootstrap_servers``.
        data_dir: the broker's ``log.dirs`` folder (one sub-folder per topic partition), so a
            test can read the log segments, e.g. with Kafka's ``DumpLogSegments``; None when
            the broker's disk is not reachable from the tests.
        lib_dir: a folder of Kafka jars (``java -cp '<lib_dir>/*' kafka.tools.DumpLogSegments``);
            None when unknown.
        log_file: the broker's ``server.log``; None when unknown.
    """

    bootstrap: str
    data_dir: Path | None
    lib_dir: Path | None
    log_file: Path | None


# --- deploy/local/kafka/kafka-local.sh -------------------------------------------------------


def _script_default(name: str) -> str:
    """The default of ``NAME="${NAME:-default}"`` in kafka-local.sh, with $REPO_ROOT expanded."""
    text = KAFKA_LOCAL_SCRIPT.read_text(encoding="utf-8")
    match = re.search(rf'^{name}="\$\{{{name}:-([^}}]*)\}}"', text, flags=re.MULTILINE)
    if match is None:
        raise LookupError(f"no default for {name} in {KAFKA_LOCAL_SCRIPT}")
    return match.group(1).replace("$REPO_ROOT", str(REPO_ROOT))


def local_lib_dir(env: Mapping[str, str] | None = None) -> Path:
    """The jars folder kafka-local.sh uses: ``$KAFKA_CACHE_DIR/kafka_2.13-$KAFKA_VERSION/libs``."""
    env = os.environ if env is None else env
    cache_dir = env.get("KAFKA_CACHE_DIR") or _script_default("KAFKA_CACHE_DIR")
    version = env.get("KAFKA_VERSION") or _script_default("KAFKA_VERSION")
    return Path(cache_dir) / f"kafka_2.13-{version}" / "libs"


def kafka_local(
    command: str,
    *,
    state_dir: Path,
    port: str = "auto",
    controller_port: str = "auto",
    fresh: bool = False,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """Run ``kafka-local.sh <command>`` for the broker whose state lives in ``state_dir``.

    Args:
        command: ``fetch``, ``start``, ``stop`` or ``status``.
        state_dir: KAFKA_STATE_DIR (config, data, logs, pid file).
        port: KAFKA_PORT, a number or ``auto``.
        controller_port: KAFKA_CONTROLLER_PORT, a number or ``auto``.
        fresh: KAFKA_FRESH=1, wipe the data folder before starting.
        timeout: seconds before the call is abandoned.

    Returns:
        The finished process with its text stdout and stderr; the exit code is not checked.
    """
    env = {
        **os.environ,
        "KAFKA_STATE_DIR": str(state_dir),
        "KAFKA_PORT": port,
        "KAFKA_CONTROLLER_PORT": controller_port,
        "KAFKA_FRESH": "1" if fresh else "0",
    }
    return subprocess.run(
        [str(KAFKA_LOCAL_SCRIPT), command],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def last_line(text: str) -> str:
    """The last non-empty line of ``text`` ("" when there is none)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def local_endpoint(state_dir: Path, bootstrap: str) -> KafkaEndpoint:
    """The endpoint of a broker started by kafka-local.sh with KAFKA_STATE_DIR=state_dir."""
    return KafkaEndpoint(
        bootstrap=bootstrap,
        data_dir=state_dir / "data",
        lib_dir=local_lib_dir(),
        log_file=state_dir / "logs" / "server.log",
    )


class LocalBroker:
    """A broker run by kafka-local.sh in its own state folder, on free ports."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.endpoint: KafkaEndpoint | None = None

    def start(self) -> KafkaEndpoint:
        """Start the broker (fresh data, auto ports) and wait until it answers.

        Raises:
            RuntimeError: the script failed or did not print a bootstrap address.
        """
        result = kafka_local("start", state_dir=self.state_dir, fresh=True)
        bootstrap = last_line(result.stdout)
        if result.returncode != 0 or not BOOTSTRAP_RE.match(bootstrap):
            self.stop()
            raise RuntimeError(
                f"{KAFKA_LOCAL_SCRIPT.name} start failed (exit {result.returncode})\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        self.endpoint = local_endpoint(self.state_dir, bootstrap)
        return self.endpoint

    def stop(self) -> None:
        """Stop the broker; harmless when it is not running (safe to call twice)."""
        kafka_local("stop", state_dir=self.state_dir, timeout=60)


# --- topics ----------------------------------------------------------------------------------


def topic_name(test_name: str, prefix: str = "it") -> str:
    """A fresh topic name ``<prefix>-<test name>-<8 hex>`` made of ``[A-Za-z0-9-]`` only.

    Dots and underscores are replaced too: Kafka warns about (and refuses) topics whose names
    differ only by ``.`` versus ``_``.
    """
    slug = re.sub(r"[^A-Za-z0-9-]+", "-", test_name).strip("-")[:180] or "test"
    return f"{prefix}-{slug}-{uuid.uuid4().hex[:8]}"


async def create_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int = 1,
    *,
    exist_ok: bool = False,
    timeout_s: float = 30.0,
) -> None:
    """Create topics (replication factor 1) and wait until every partition has a leader.

    Args:
        bootstrap: ``host:port`` of the broker.
        names: topic names.
        partitions: partitions per topic.
        exist_ok: do not fail when a topic already exists.
        timeout_s: how long to wait for the partition leaders.

    Raises:
        aiokafka.errors.KafkaError: the broker refused a topic.
        TimeoutError: the leaders were not elected in time.
    """
    topics = list(dict.fromkeys(names))
    if not topics:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in topics]
        )
        for topic, code, message, *_ in response.topic_errors:
            if code == 0 or (exist_ok and code == TopicAlreadyExistsError.errno):
                continue
            raise for_code(code)(f"creating topic {topic!r}: {message}")
        async with asyncio.timeout(timeout_s):  # poll the broker's metadata
            while True:
                if _all_led(await admin.describe_topics(topics), topics):
                    break
                await asyncio.sleep(0.05)
    finally:
        await admin.close()


def _all_led(description: list[dict[str, Any]], topics: list[str]) -> bool:
    described = {
        entry["topic"]: entry
        for entry in description
        if entry["error_code"] == 0 and entry["partitions"]
    }
    return all(
        name in described and all(p["leader"] >= 0 for p in described[name]["partitions"])
        for name in topics
    )


# --- Docker ----------------------------------------------------------------------------------


def docker_engine_available() -> bool:
    """Whether a Docker engine answers (DOCKER_HOST or the default socket)."""
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no SDK, no socket, no permission, engine down: all mean "no Docker"
        return False


@dataclass(frozen=True)
class RunningContainer:
    """A started broker container: its bootstrap address and how to stop it."""

    bootstrap: str
    container: Any

    def stop(self) -> None:
        """Stop and remove the container."""
        self.container.stop()


def start_kafka_container(image: str = KAFKA_IMAGE, timeout: int = 120) -> RunningContainer:
    """Start a single-node KRaft broker from the official ``apache/kafka`` image.

    testcontainers' ``KafkaContainer`` (KRaft mode) drives Confluent's start scripts; the
    subclass keeps its listeners and KRaft settings and boots the image's own
    ``/etc/kafka/docker/run`` instead, so the container runs the same Kafka as
    ``docker-compose.yml`` and kafka-local.sh.
    """
    try:
        from testcontainers.community.kafka import KafkaContainer
    except ImportError:  # testcontainers < 4.15
        from testcontainers.kafka import KafkaContainer

    class ApacheKafkaContainer(KafkaContainer):
        def _verify_min_kraft_version(self) -> None:
            """The 7.0.0 floor is Confluent Platform's numbering; every apache/kafka is KRaft."""

        def configure(self) -> None:
            super().configure()  # type: ignore[no-untyped-call]
            self.env.pop("KAFKA_BROKER_ID", None)  # ZooKeeper-era alias; KRaft has node.id

        def tc_start(self) -> None:
            host = self.get_container_host_ip()
            port = self.get_exposed_port(self.port)
            script = (
                "#!/bin/bash\n"
                f"export KAFKA_ADVERTISED_LISTENERS={self.listener_name}://{host}:{port},"
                "BROKER://$(hostname -i | cut -d' ' -f1):9092\n"
                "exec /etc/kafka/docker/run\n"
            )
            self.create_file(script.encode(), self.TC_START_SCRIPT)

    container = (
        ApacheKafkaContainer(image)
        .with_kraft()
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS", "1")
        .with_env("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS", "1000")
    )
    container.start(timeout=timeout)
    return RunningContainer(bootstrap=container.get_bootstrap_server(), container=container)
