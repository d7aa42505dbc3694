"""Run a service command (``jules-<name> run``) as its own OS process against a test broker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_status(url: str) -> int:
    """The HTTP status of a GET (0 when nothing answers)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def http_text(url: str) -> str:
    """The body of a GET."""
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
        return body.decode()


@dataclass
class ServiceProcess:
    """A service running as a subprocess, with its HTTP port and its output file."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout_s: float = 90) -> None:
        """Wait until ``/ready`` answers 204 (the broker is connected and consuming)."""
        deadline = time.monotonic() + timeout_s
        while http_status(self.base_url + "/ready") != 204:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} not ready: {self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def kill(self, timeout_s: float = 60) -> int:
        """SIGKILL (no shutdown of any kind) and wait; return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout=timeout_s)

    def terminate(self, timeout_s: float = 60) -> int:
        """SIGTERM and wait; return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_s)


def start_service(
    name: str, bootstrap: str, scope: str, log_dir: Path, **settings: str
) -> ServiceProcess:
    """Start ``jules-<name> run`` with its settings as environment variables."""
    prefix = f"JULES_{name.upper().replace('-', '_')}__"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JULES_")}
    env.update(
        {
            f"{prefix}KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            f"{prefix}RUN_SCOPE": scope,
            f"{prefix}HTTP__PORT": str(port),
            f"{prefix}LOG__LEVEL": "INFO",
        }
    )
    env.update({prefix + key.upper(): value for key, value in settings.items()})
    log = log_dir / f"{name}.log"
    handle = log.open("wb")
    process = subprocess.Popen(
        [str(BIN / f"jules-{name}"), "run"], env=env, stdout=handle, stderr=subprocess.STDOUT
    )
    return ServiceProcess(name, process, port, log)
