"""docker-compose.yml and the service images, checked statically: no Docker engine is needed.

Every image is built from the one deploy/docker/service.Dockerfile with the build arguments the
compose file gives the service; the checks read the Dockerfile as Docker would for each service,
its build arguments substituted. The two commands the Dockerfile writes (the entry point and the
health check) are written and run here too. The settings the compose file gives each service
are validated with the service's own settings class, as the service does at start-up."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from jules_audit.config import AuditSettings
from jules_features.config import FeaturesSettings
from jules_features.engine import FeatureSchema
from jules_market_data.config import MarketDataSettings
from jules_order_router.config import OrderRouterSettings
from jules_risk.config import RiskSettings
from jules_runtime.settings import ServiceSettings, env_prefix, load_settings
from jules_signal.config import SignalSettings

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = "deploy/docker/service.Dockerfile"
VENV_BIN = "/opt/venv/bin/"
"""Where the image installs the service and the commands the Dockerfile writes."""
SETTINGS: dict[str, type[ServiceSettings]] = {
    "market-data": MarketDataSettings,
    "features": FeaturesSettings,
    "signal": SignalSettings,
    "risk": RiskSettings,
    "order-router": OrderRouterSettings,
    "audit": AuditSettings,
}
SERVICES = list(SETTINGS)
DATA_MOUNT = "/data"
"""Where the market-data container sees the sample data."""
NOT_IN_A_SERVICE_IMAGE = {
    "torch",
    "onnx",  # the trainer's ONNX export
    "jules",
    "jules-backtest",
    "jules-trainer",
    "plotly",
    "pandas",
    "backtesting",
    "pytest",
    "mypy",
    "ruff",
    "testcontainers",
}
_DEFAULT = re.compile(r"\$\{(\w+):-([^}]*)\}")


@cache
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    entry = services[name]
    assert isinstance(entry, dict)
    return entry


def environment(name: str) -> dict[str, str]:
    """The service's environment, with ``${VAR:-default}`` read as its default."""
    env = service(name).get("environment", {})
    assert isinstance(env, dict), f"{name}: environment must be a mapping"
    return {key: _DEFAULT.sub(lambda m: m.group(2), str(value)) for key, value in env.items()}


def dockerfile_path(name: str) -> Path:
    return ROOT / str(service(name)["build"]["dockerfile"])


def build_args(name: str) -> dict[str, str]:
    """The build arguments the compose file passes for the service."""
    args = service(name)["build"].get("args", {})
    assert isinstance(args, dict), f"{name}: build args must be a mapping"
    return {str(key): str(value) for key, value in args.items()}


def dockerfile_text(name: str) -> str:
    """The Dockerfile as built for the service: ``${ARG}`` replaced by its build argument
    (what Docker does in COPY, EXPOSE, LABEL, and the shell in RUN)."""
    text = dockerfile_path(name).read_text(encoding="utf-8")
    for key, value in build_args(name).items():
        text = text.replace("${" + key + "}", value)
    return text


def instructions(name: str) -> list[tuple[str, str]]:
    """The Dockerfile's instructions for the service as (keyword, arguments)."""
    return parse(dockerfile_text(name))


def parse(text: str) -> list[tuple[str, str]]:
    """A Dockerfile's instructions as (keyword, arguments), continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), " ".join(rest.split())))
    return result


def stages(name: str) -> list[list[tuple[str, str]]]:
    """The instructions of each stage, from its FROM on."""
    steps = instructions(name)
    starts = [i for i, (keyword, _) in enumerate(steps) if keyword == "FROM"]
    return [steps[start:end] for start, end in zip(starts, [*starts[1:], len(steps)], strict=True)]


def runtime_stage(name: str) -> list[tuple[str, str]]:
    """The instructions of the last stage (the image that runs)."""
    return stages(name)[-1]


def kafka_internal_bootstrap() -> str:
    """The address the broker advertises to containers: its listener on host ``kafka``."""
    listeners = service("kafka")["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    for listener in str(listeners).split(","):
        address = listener.split("://", 1)[1]
        if address.startswith("kafka:"):
            return address
    raise AssertionError(f"kafka advertises no listener on host kafka: {listeners}")


def test_compose_runs_kafka_and_the_six_services() -> None:
    assert set(compose()["services"]) == {"kafka", *SERVICES}
    assert service("kafka")["image"] == "apache/kafka:4.1.1"
    assert "healthcheck" in service("kafka")


def test_kafka_keeps_its_host_listener_and_adds_one_for_containers() -> None:
    env = service("kafka")["environment"]
    assert "PLAINTEXT://127.0.0.1:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert "127.0.0.1:9092:9092" in service("kafka")["ports"]
    port = kafka_internal_bootstrap().rsplit(":", 1)[1]
    names = {item.split(":")[0] for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")}
    for listener in env["KAFKA_ADVERTISED_LISTENERS"].split(","):
        assert listener.split("://")[0] in names
    bound = {item.split("://")[1].rsplit(":", 1)[1] for item in env["KAFKA_LISTENERS"].split(",")}
    assert port in bound


@pytest.mark.parametrize("name", SERVICES)
def test_service_builds_the_one_dockerfile_from_the_repository_root(name: str) -> None:
    build = service(name)["build"]
    assert build["context"] == "."
    assert build["dockerfile"] == DOCKERFILE
    assert dockerfile_path(name).is_file()
    assert build_args(name) == {
        "SERVICE": name,
        "HTTP_PORT": str(SETTINGS[name].default_http_port),
    }
    assert (ROOT / "services" / name / "pyproject.toml").is_file()


def test_one_dockerfile_serves_every_service() -> None:
    assert sorted(p.name for p in (ROOT / "deploy" / "docker").glob("*Dockerfile*")) == [
        Path(DOCKERFILE).name
    ]


def test_every_stage_declares_the_build_arguments_without_a_default() -> None:
    # A build argument is seen only in the stages that declare it; without a default, a build
    # that forgets one stops at the builder's first RUN instead of building a broken image.
    steps = parse((ROOT / DOCKERFILE).read_text(encoding="utf-8"))
    stage_args: list[set[str]] = []
    for keyword, args in steps:
        if keyword == "FROM":
            stage_args.append(set())
        elif keyword == "ARG" and stage_args:
            stage_args[-1].add(args)
    assert len(stage_args) == 2
    for declared in stage_args:
        assert {"SERVICE", "HTTP_PORT"} <= declared
    first_run = next(args for keyword, args in steps if keyword == "RUN")
    assert '[ -z "${SERVICE}" ]' in first_run
    assert '[ -z "${HTTP_PORT}" ]' in first_run
    assert "exit 1" in first_run


@pytest.mark.parametrize("name", SERVICES)
def test_service_starts_after_a_healthy_broker(name: str) -> None:
    assert service(name)["depends_on"]["kafka"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", SERVICES)
def test_service_talks_to_the_compose_broker_and_serves_http_on_its_port(name: str) -> None:
    env = environment(name)
    prefix = env_prefix(name)
    port = SETTINGS[name].default_http_port
    assert env[f"{prefix}KAFKA__BOOTSTRAP_SERVERS"] == kafka_internal_bootstrap()
    assert env[f"{prefix}HTTP__HOST"] == "0.0.0.0"
    assert env.get(f"{prefix}HTTP__PORT", str(port)) == str(port)
    assert f"127.0.0.1:{port}:{port}" in service(name)["ports"]


@pytest.mark.parametrize("name", SERVICES)
def test_compose_settings_are_valid_for_the_service(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(name)
    if name == "market-data":
        data = Path(os.environ.get("JULES_DATA_DIR", ROOT.parent / "shared" / "data"))
        if not data.is_dir():
            pytest.skip(f"no sample data in {data} (set JULES_DATA_DIR)")
        key = "JULES_MARKET_DATA__FILES"
        env[key] = env[key].replace(f'"{DATA_MOUNT}/', f'"{data.resolve()}/')
    for variable in list(os.environ):
        if variable.startswith("JULES_"):
            monkeypatch.delenv(variable)
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    settings = load_settings(SETTINGS[name])  # raises ConfigError naming any bad variable
    assert settings.run_scope == "paper-compose"
    assert settings.http.host == "0.0.0.0"


def test_signal_reads_the_schema_the_features_service_publishes() -> None:
    features = json.loads(environment("features")["JULES_FEATURES__FEATURES"])
    signal = environment("signal")
    assert json.loads(signal["JULES_SIGNAL__FEATURES"]) == features
    schema_id = FeatureSchema.from_names(features).schema_id
    assert signal["JULES_SIGNAL__FEATURE_SCHEMA_ID"] == schema_id
    assert json.loads(signal["JULES_SIGNAL__STRATEGY"])["kind"] == "sma_cross"


def test_risk_and_order_router_trade_the_same_account() -> None:
    risk = environment("risk")["JULES_RISK__ACCOUNT_ID"]
    assert risk == environment("order-router")["JULES_ORDER_ROUTER__ACCOUNT_ID"]


def test_market_data_replays_files_from_the_read_only_data_mount() -> None:
    mounts = [m for m in service("market-data")["volumes"] if isinstance(m, dict)]
    assert mounts == [
        {
            "type": "bind",
            "source": "${JULES_DATA_DIR:-../shared/data}",
            "target": DATA_MOUNT,
            "read_only": True,
        }
    ]
    files = json.loads(environment("market-data")["JULES_MARKET_DATA__FILES"])
    assert files
    for source in files:
        assert source["path"].startswith(f"{DATA_MOUNT}/QuantConnect_Lean/")
        assert source["instrument_id"].endswith(".COINBASE")


def test_audit_keeps_its_log_in_a_volume() -> None:
    directory = environment("audit")["JULES_AUDIT__DIRECTORY"]
    volumes = service("audit")["volumes"]
    assert volumes == ["audit-log:/var/lib/jules/audit"]
    assert directory.startswith("/var/lib/jules/audit/")
    assert "audit-log" in compose()["volumes"]
    # the image creates the mount point, owned by its user, so the new volume is writable
    assert any(
        keyword == "RUN"
        and "install -d -o jules -g jules" in args
        and "/var/lib/jules/audit" in args
        for keyword, args in runtime_stage("audit")
    )


@pytest.mark.parametrize("name", SERVICES)
def test_dockerfile_runs_the_written_commands_as_a_non_root_user(name: str) -> None:
    stage = runtime_stage(name)
    entrypoints = [json.loads(args) for keyword, args in stage if keyword == "ENTRYPOINT"]
    assert entrypoints == [["jules-service", "run"]]
    users = [args for keyword, args in stage if keyword == "USER"]
    assert users, "the runtime stage sets no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    exposed = [args for keyword, args in stage if keyword == "EXPOSE"]
    assert exposed == [str(SETTINGS[name].default_http_port)]
    checks = [args for keyword, args in stage if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    assert checks[0].endswith('CMD ["jules-healthcheck"]')
    env = [args for keyword, args in stage if keyword == "ENV"]
    assert any(f"PATH={VENV_BIN.rstrip('/')}:" in args.replace('"', "") for args in env)


def written_commands(name: str, folder: Path) -> Path:
    """Run the builder's RUN that writes ``jules-service`` and ``jules-healthcheck`` for the
    service, with bash as the Dockerfile's SHELL, into ``folder`` instead of /opt/venv/bin
    (which holds a stand-in ``jules-<name>`` that prints its environment and arguments, and
    ``python``); return ``folder``."""
    builder = stages(name)[0]
    shells = [json.loads(args) for keyword, args in builder if keyword == "SHELL"]
    assert shells, "the builder stage sets no SHELL"
    runs = [args for keyword, args in builder if keyword == "RUN" and "jules-healthcheck" in args]
    assert len(runs) == 1, "one RUN should write the entry point and the health check"
    assert VENV_BIN + "jules-service" in runs[0]
    stand_in = folder / f"jules-{name}"
    stand_in.write_text('#!/bin/sh\nenv\necho "arguments: $*"\n', encoding="utf-8")
    stand_in.chmod(0o755)
    (folder / "python").symlink_to(sys.executable)
    command = runs[0].replace(VENV_BIN, f"{folder}/")
    outcome = subprocess.run(
        [*shells[-1], command],
        env={"PATH": os.environ["PATH"], **build_args(name)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert outcome.returncode == 0, outcome.stderr
    return folder


@contextmanager
def health_server() -> Iterator[int]:
    """A local HTTP server whose ``/health`` answers 204, as a service's does; yields its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(204 if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


@needs_bash
@pytest.mark.parametrize("name", SERVICES)
def test_the_entry_point_runs_the_service_on_every_interface_by_default(
    name: str, tmp_path: Path
) -> None:
    folder = written_commands(name, tmp_path)
    host = f"{env_prefix(name)}HTTP__HOST"
    base = {"PATH": os.environ["PATH"]}
    default = subprocess.run(
        [folder / "jules-service", "run"], env=base, capture_output=True, text=True, check=True
    )
    assert f"{host}=0.0.0.0" in default.stdout.splitlines()
    assert "arguments: run" in default.stdout.splitlines()
    chosen = subprocess.run(
        [folder / "jules-service", "run"],
        env={**base, host: "10.0.0.7"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"{host}=10.0.0.7" in chosen.stdout.splitlines()
    launcher = (folder / "jules-service").read_text(encoding="utf-8")
    assert launcher.startswith("#!/bin/sh\n")
    # exec: the service replaces the shell, so it is the process that gets SIGTERM
    assert launcher.endswith(f'\nexec {folder}/jules-{name} "$@"\n')


@needs_bash
@pytest.mark.parametrize("name", SERVICES)
def test_the_health_check_asks_the_service_port(name: str, tmp_path: Path) -> None:
    folder = written_commands(name, tmp_path)
    check = folder / "jules-healthcheck"
    port_variable = f"{env_prefix(name)}HTTP__PORT"
    text = check.read_text(encoding="utf-8")
    assert text.startswith(f"#!{folder}/python\n")
    assert f'os.environ.get("{port_variable}", "{SETTINGS[name].default_http_port}")' in text
    with health_server() as port:
        up = subprocess.run(
            [check], env={port_variable: str(port)}, capture_output=True, timeout=30, check=False
        )
        assert up.returncode == 0, up.stderr
    down = subprocess.run(
        [check], env={port_variable: str(port)}, capture_output=True, timeout=30, check=False
    )
    assert down.returncode != 0


@pytest.mark.parametrize("name", SERVICES)
def test_dockerfile_is_multi_stage_on_slim_python_3_11(name: str) -> None:
    steps = instructions(name)
    froms = [args for keyword, args in steps if keyword == "FROM"]
    assert len(froms) >= 2
    images = [args.split("=", 1)[1] for keyword, args in steps if keyword == "ARG" and "=" in args]
    assert "python:3.11-slim-bookworm" in images
    copied = [args for keyword, args in runtime_stage(name) if keyword == "COPY"]
    assert copied == ["--from=builder /opt/venv /opt/venv"]


@pytest.mark.parametrize("name", SERVICES)
def test_dockerfile_installs_only_its_service_with_locked_versions(name: str) -> None:
    text = dockerfile_text(name)
    assert "torch" not in text.lower()
    uv_version = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert uv_version is not None
    assert f"ARG UV_VERSION={uv_version.group(1)}" in text
    export = export_command(name)
    assert export[export.index("--package") + 1] == f"jules-{name}"
    assert {"--frozen", "--no-dev", "--no-emit-workspace"} <= set(export)
    assert "--all-packages" not in export
    copied = [args.split()[0] for keyword, args in instructions(name) if keyword == "COPY"]
    sources = {path for path in copied if not path.startswith("--from")}
    other_services = {f"services/{other}" for other in SERVICES if other != name}
    for path in sources:
        assert not path.startswith("apps/"), path
        assert path.rstrip("/").removesuffix("/pyproject.toml") not in other_services, path
    assert f"services/{name}" in sources


def export_command(name: str) -> list[str]:
    """The ``uv export`` arguments of the Dockerfile, without its output file."""
    runs = [args for keyword, args in instructions(name) if keyword == "RUN"]
    found = [run for run in runs if "uv export" in run]
    assert len(found) == 1, "the Dockerfile should run uv export once"
    command = shlex.split(found[0].split("uv export", 1)[1].split("&&", 1)[0])
    if "--output-file" in command:
        at = command.index("--output-file")
        del command[at : at + 2]
    return command


def find_uv() -> str | None:
    local = ROOT / ".local" / "tools" / "bin" / "uv"
    return str(local) if local.is_file() else shutil.which("uv")


@pytest.mark.parametrize("name", SERVICES)
def test_the_locked_export_leaves_out_the_trainer_and_dev_tools(name: str) -> None:
    uv = find_uv()
    if uv is None:
        pytest.skip("uv is not installed (make installs it into .local/tools)")
    outcome = subprocess.run(
        [uv, "export", *export_command(name), "--no-header", "--no-annotate", "--no-hashes"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert outcome.returncode == 0, outcome.stderr
    names = {
        re.split(r"[=<>;@ ]", line, maxsplit=1)[0].lower()
        for line in outcome.stdout.splitlines()
        if line.strip() and not line.startswith(("#", " "))
    }
    assert {"pydantic", "aiokafka", "faststream"} <= names
    assert not names & NOT_IN_A_SERVICE_IMAGE
    assert ("ta-lib" in names) == (name == "features")
    assert ("onnxruntime" in names) == (name == "signal")


def test_dockerignore_leaves_local_state_out_of_the_build_context() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", ".local", "runs", "node_modules", "**/__pycache__"} <= patterns
    needed = {"uv.lock", "pyproject.toml", "libs", "services", "*.toml", "*.lock", "**/*.md"}
    assert not patterns & needed
