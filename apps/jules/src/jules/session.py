"""A paper-trading session on one machine: the broker and the six services as processes.

``start_session`` starts (or reuses) the local Kafka broker, starts every service with
``jules-<service> run`` (its settings as environment variables, its log in the session folder)
under a supervisor process that restarts it when it dies (``jules.supervisor``), waits until
each is ready, and writes ``session.json`` there; the market-data service then replays recorded
data into the session's topics as a live feed. ``session_status`` reports each service's
process, restarts, last exit code, health, readiness, consumer lag and last event time.
``stop_session`` stops the services with SIGTERM (graceful; the supervisors pass it on and do
not restart them), then the broker if the session started it.

The session folder follows the rule of every command that writes
(``jules_runtime.output_paths``): a new or empty folder, or an earlier session's (a stopped
one: its logs and audit log are kept and added to) is used; any other non-empty folder is
refused unless ``overwrite``, and nothing in it is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from jules_runtime.output_paths import OutputFolder, OutputRefusedError, shown
from jules_runtime.settings import KafkaSettings

from jules.paper import FakeExchangeOptions, resume_fake_exchange, start_fake_exchange
from jules.processes import ChildProcess, describe_exit, log_tail, spawn
from jules.supervisor import SupervisorState

__all__ = [
    "SERVICES",
    "SESSION_FOLDER",
    "ServiceState",
    "ServiceStatus",
    "SessionState",
    "alive",
    "free_port",
    "prepare_session_dir",
    "session_status",
    "start_broker",
    "start_service",
    "start_session",
    "stop_broker",
    "stop_session",
    "supervisor_state",
    "wait_ready",
]

SERVICES = ("audit", "order-router", "risk", "signal", "features", "market-data")
"""Start order: consumers before producers, so nothing published is missed."""

_KAFKA_SCRIPT = Path("deploy") / "local" / "kafka" / "kafka-local.sh"
_STATE_FILE = "session.json"
_POINTER = Path(".local") / "session"

SESSION_FOLDER = OutputFolder(
    kind="session",
    marker=_STATE_FILE,
    marker_keys=frozenset({"run_dir", "scope", "bootstrap", "services"}),
    entries=frozenset({_STATE_FILE, "logs", "audit", "venues.yaml", "recorded"}),
)
"""A session folder: ``session.json`` (its marker), the services' ``logs/`` and ``audit/``; a
paper session's ``venues.yaml`` (its own fake exchange's) and ``recorded/`` market data."""


@dataclass
class ServiceState:
    """One running service of a session: ``pid`` is its supervisor's (``jules.supervisor``)."""

    name: str
    pid: int
    port: int
    log: str


def supervisor_state(service: ServiceState) -> SupervisorState | None:
    """What the service's supervisor last recorded (``None``: no supervisor state)."""
    return SupervisorState.load(_supervisor_file(Path(service.log)))


def _supervisor_file(log: Path) -> Path:
    return log.with_suffix(".supervisor.json")


@dataclass
class SessionState:
    """What ``jules down`` and ``jules status`` need to find the session again."""

    run_dir: str
    scope: str
    bootstrap: str
    started_broker: bool
    services: list[ServiceState] = field(default_factory=list)
    paper: bool = False
    fake_exchange: ServiceState | None = None

    def save(self) -> None:
        """Write ``session.json`` in the run folder and point ``.local/session`` at it."""
        path = Path(self.run_dir) / _STATE_FILE
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        _POINTER.parent.mkdir(parents=True, exist_ok=True)
        _POINTER.write_text(str(path) + "\n")

    @classmethod
    def load(cls, run_dir: Path | None = None) -> SessionState:
        """The session in ``run_dir``, or the last one started here.

        Raises:
            FileNotFoundError: There is no session to find.
        """
        if run_dir is not None:
            path = run_dir / _STATE_FILE
        elif _POINTER.exists():
            path = Path(_POINTER.read_text().strip())
        else:
            raise FileNotFoundError("no session: start one with `jules up`")
        data = json.loads(path.read_text())
        services = [ServiceState(**service) for service in data.pop("services")]
        fake = data.pop("fake_exchange", None)
        fake_exchange = ServiceState(**fake) if fake else None
        return cls(**data, services=services, fake_exchange=fake_exchange)


@dataclass(frozen=True)
class ServiceStatus:
    """What ``jules status`` shows for one service."""

    name: str
    running: bool
    healthy: bool
    ready: bool
    lag: int | None
    last_event_time: float | None
    port: int
    restarts: int = 0
    last_exit_code: int | None = None


def _http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 (loopback)
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def _metric(port: int, name: str) -> float | None:
    """The largest sample of metric ``name`` (any labels) a service exports, if any."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3) as response:
            text = response.read().decode()
    except OSError:
        return None
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith((name + " ", name + "{"))
    ]
    return max(values) if values else None


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs.

    A child of this process that ended is reaped first: a zombie does not count.
    """
    _reap(pid)
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _kafka(action: str) -> subprocess.CompletedProcess[str]:
    """Run ``kafka-local.sh <action>`` (the project's own script, from the repository root)."""
    if not _KAFKA_SCRIPT.is_file():
        raise RuntimeError(
            f"{_KAFKA_SCRIPT} not found: run this from the repository root, or give an "
            "existing broker with --bootstrap"
        )
    return subprocess.run(  # noqa: S603
        [str(_KAFKA_SCRIPT), action], capture_output=True, text=True, check=False, timeout=600
    )


def start_broker() -> tuple[str, bool]:
    """Start the local broker (``make kafka-up``) unless it runs; return (bootstrap, started)."""
    status = _kafka("status")
    if status.returncode == 0:
        bootstrap = status.stdout.split("bootstrap ")[1].split()[0]
        return bootstrap, False
    out = _kafka("start")
    if out.returncode != 0:
        raise RuntimeError(f"the Kafka broker did not start:\n{out.stderr[-2000:]}")
    return out.stdout.strip().splitlines()[-1], True


def stop_broker() -> None:
    """Stop the local broker (``make kafka-down``)."""
    _kafka("stop")


def start_service(name: str, env: Mapping[str, str], run_dir: Path, port: int) -> ServiceState:
    """Start ``jules-<name> run`` with ``env`` (its settings) under its supervisor.

    The log is ``<run_dir>/logs/<name>.log`` (the service's and its supervisor's lines), the
    supervisor's state ``<run_dir>/logs/<name>.supervisor.json``.
    """
    log = run_dir / "logs" / f"{name}.log"
    state_file = _supervisor_file(log)
    state_file.unlink(missing_ok=True)  # an earlier session's
    command = Path(sys.executable).parent / f"jules-{name}"
    supervisor = [sys.executable, "-m", "jules.supervisor", str(state_file), "--"]
    child = spawn(name, [*supervisor, str(command), "run"], env, log, port)
    return ServiceState(name, child.pid, port, str(log))


def wait_ready(services: Sequence[ServiceState | ChildProcess], timeout_s: float = 120) -> None:
    """Wait until every service (of a session, or a child process) answers 204 on ``/ready``.

    Raises:
        RuntimeError: A service exited or did not become ready in ``timeout_s`` (its exit code
            and its log's tail are included).
    """
    deadline = time.monotonic() + timeout_s
    pending = list(services)
    while pending:
        service = pending[0]
        if _http_status(f"http://127.0.0.1:{service.port}/ready") == 204:
            pending.pop(0)
            continue
        ended = _ended(service)
        if ended is not None:
            how = f"exited ({ended})"
        elif time.monotonic() > deadline:
            how = f"was not ready within {timeout_s:.0f}s"
        else:
            time.sleep(0.2)
            continue
        tail = log_tail(Path(service.log))
        raise RuntimeError(f"{service.name} did not become ready: it {how}:\n{tail}")


def _ended(service: ServiceState | ChildProcess) -> str | None:
    """How the service ended (``None``: it runs, or its supervisor is restarting it)."""
    if isinstance(service, ChildProcess):
        code = service.exit_code()
        return None if code is None else describe_exit(code)
    supervised = supervisor_state(service)
    if supervised is not None and supervised.last_exit_code is not None:
        return describe_exit(supervised.last_exit_code)
    return None if alive(service.pid) else "its supervisor ended"


def prepare_session_dir(run_dir: Path, *, overwrite: bool = False) -> Path:
    """Check and create a session folder (module docstring); nothing in it is deleted.

    Args:
        run_dir: The session folder.
        overwrite: Use a non-empty folder that holds no session (its files are left in place).

    Returns:
        ``run_dir``.

    Raises:
        OutputRefusedError: The folder holds a session whose services still run, or is not
            empty and holds no session (without ``overwrite``); nothing was changed.
    """
    if SESSION_FOLDER.recognises(run_dir):
        try:
            earlier = SessionState.load(run_dir)
        except (OSError, TypeError, ValueError):  # not a state this version wrote
            earlier = None
        running = [s.name for s in earlier.services if alive(s.pid)] if earlier else []
        if earlier and running:
            raise OutputRefusedError(
                run_dir,
                f"refusing to start a session in {shown(run_dir)}: its session "
                f"{earlier.scope} still runs ({', '.join(running)}); stop it first with "
                f"`jules down --run-dir {run_dir}`",
            )
    return SESSION_FOLDER.prepare(run_dir, overwrite=overwrite, replace=False)


Environments = Mapping[str, Mapping[str, str]]
"""Each service's own settings (variables without their prefix)."""


def start_session(
    run_dir: Path,
    scope: str,
    environments: Environments | Callable[[], Environments],
    bootstrap: str | None = None,
    *,
    overwrite: bool = False,
    fake_exchange: FakeExchangeOptions | None = None,
) -> SessionState:
    """Start the broker and the services; ``environments`` gives each service's settings.

    The common settings (bootstrap, run scope, HTTP port) are added here.

    Args:
        run_dir: The session folder (logs, audit log, ``session.json``).
        scope: The run scope of the session's topics and consumer groups.
        environments: Each service's own settings, or what computes them once the session's
            fake exchange runs (it writes the venues file a paper session's settings name).
        bootstrap: An existing broker to use; ``None`` starts (or reuses) the local one.
        overwrite: Use a non-empty folder that holds no session (``prepare_session_dir``).
        fake_exchange: Start a fake exchange for a paper session first (``jules.paper``).

    Raises:
        OutputRefusedError: The session folder is refused (before the broker starts).
        RuntimeError: The broker or a service did not start.
    """
    prepare_session_dir(run_dir, overwrite=overwrite)
    started_broker = False
    if bootstrap is None:
        bootstrap, started_broker = start_broker()
    state = SessionState(str(run_dir), scope, bootstrap, started_broker)
    try:
        state.save()  # the folder is recognisably a session's from now on
        if fake_exchange is not None:
            state.paper = True
            fake = start_fake_exchange(run_dir, free_port(), fake_exchange)
            state.fake_exchange = ServiceState(fake.name, fake.pid, fake.port, str(fake.log))
            state.save()
        if callable(environments):
            environments = environments()
        for name in SERVICES:
            prefix = f"JULES_{name.upper().replace('-', '_')}__"
            port = free_port()
            env = {
                f"{prefix}KAFKA__BOOTSTRAP_SERVERS": bootstrap,
                f"{prefix}RUN_SCOPE": scope,
                f"{prefix}HTTP__PORT": str(port),
                **{prefix + key: value for key, value in environments.get(name, {}).items()},
            }
            service = start_service(name, env, run_dir, port)
            state.services.append(service)
            state.save()
            wait_ready([service])
        if fake_exchange is not None and state.fake_exchange is not None:
            resume_fake_exchange(state.fake_exchange.port, fake_exchange.speed)
    except BaseException:
        stop_session(state)
        raise
    return state


def stop_session(
    state: SessionState, timeout_s: float = 60, *, keep_broker: bool = False
) -> list[str]:
    """Stop the services (SIGTERM, then SIGKILL after ``timeout_s``), then the broker if ours.

    ``keep_broker`` leaves the broker running even if the session started it.

    Returns:
        One line per service saying how it stopped.
    """
    report = []
    for service in reversed(state.services):
        if not alive(service.pid):
            report.append(f"{service.name}: not running")
            continue
        os.kill(service.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while alive(service.pid) and time.monotonic() < deadline:
            _reap(service.pid)
            time.sleep(0.1)
        if alive(service.pid):
            with contextlib.suppress(ProcessLookupError):  # the supervisor and its service
                os.killpg(service.pid, signal.SIGKILL)
            report.append(f"{service.name}: killed after {timeout_s:.0f}s")
        else:
            report.append(f"{service.name}: stopped")
    fake = state.fake_exchange
    if fake is not None and alive(fake.pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(fake.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while alive(fake.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(fake.pid, signal.SIGKILL)
        report.append(f"{fake.name}: stopped")
    if state.started_broker and not keep_broker:
        stop_broker()
        report.append("kafka: stopped")
    return report


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


async def _lags(bootstrap: str, groups: Mapping[str, str]) -> dict[str, int | None]:
    connection = KafkaSettings(bootstrap_servers=bootstrap).connection("jules-status")
    admin = AIOKafkaAdminClient(**connection)
    consumer = AIOKafkaConsumer(**connection, group_id=None)
    await admin.start()
    await consumer.start()
    lags: dict[str, int | None] = {}
    try:
        for name, group in groups.items():
            offsets = await admin.list_consumer_group_offsets(group)
            partitions = [TopicPartition(tp.topic, tp.partition) for tp in offsets]
            if not partitions:
                lags[name] = None
                continue
            ends = await consumer.end_offsets(partitions)
            lags[name] = sum(
                max(0, ends[tp] - meta.offset) for tp, meta in offsets.items() if meta.offset >= 0
            )
    finally:
        await consumer.stop()
        await admin.close()
    return lags


def session_status(state: SessionState) -> list[ServiceStatus]:
    """The status of every service of the session."""
    groups = {s.name: f"{state.scope}.jules-{s.name}" for s in state.services}
    try:
        lags = asyncio.run(_lags(state.bootstrap, groups))
    except Exception:
        lags = dict.fromkeys(groups)
    statuses = []
    for service in state.services:
        base = f"http://127.0.0.1:{service.port}"
        prefix = f"jules_{service.name.replace('-', '_')}"
        # market-data consumes nothing: its position is how far its replay has published
        metric = (
            f"{prefix}_{'live' if state.paper else 'replay'}_event_time_seconds"
            if service.name == "market-data"
            else f"{prefix}_last_event_time_seconds"
        )
        supervised = supervisor_state(service)
        running = alive(service.pid)
        if supervised is not None:  # the service itself, not only its supervisor
            running = running and supervised.pid is not None and alive(supervised.pid)
        statuses.append(
            ServiceStatus(
                name=service.name,
                running=running,
                healthy=_http_status(base + "/health") == 204,
                ready=_http_status(base + "/ready") == 204,
                lag=lags.get(service.name),
                last_event_time=_metric(service.port, metric),
                port=service.port,
                restarts=supervised.restarts if supervised else 0,
                last_exit_code=supervised.last_exit_code if supervised else None,
            )
        )
    return statuses
