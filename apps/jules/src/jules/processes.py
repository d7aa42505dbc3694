"""Child processes of the ``jules`` commands: start, watch, stop, and turn signals into errors.

A ``ChildProcess`` keeps the ``Popen`` of a service the command started, so that its death is
seen at once (``poll`` reaps it; a zombie never looks alive) together with its exit code and
the tail of its log. ``stop_processes`` stops a group of them within a bounded time: SIGTERM to
each one's process group, then SIGKILL after a grace period. ``signals_raise`` makes SIGTERM and
SIGINT raise ``Interrupted`` in the main thread, so the ``finally`` blocks of a run clean up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from jules_runtime.parent import PARENT_ENV

__all__ = [
    "ChildProcess",
    "Interrupted",
    "describe_exit",
    "log_tail",
    "signals_raise",
    "spawn",
    "stop_processes",
]


def describe_exit(code: int) -> str:
    """``exit code 1``, or ``killed by SIGKILL (exit code -9)`` for a signal's end."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name} (exit code {code})"
    return f"exit code {code}"


def log_tail(log: Path, chars: int = 2000) -> str:
    """The last ``chars`` characters of a log ("" when it cannot be read)."""
    try:
        with log.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - chars))
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


@dataclass
class ChildProcess:
    """A process this command started (in a session of its own), with its log."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def exit_code(self) -> int | None:
        """The exit code once it has ended (``-N``: killed by signal ``N``), else ``None``."""
        return self.process.poll()

    def failure(self, during: str) -> str:
        """A message saying it ended during ``during``, with its exit code and log tail."""
        code = self.process.poll()
        how = "is running" if code is None else describe_exit(code)
        return (
            f"{self.name} (pid {self.pid}) stopped {during}: {how}; "
            f"the end of its log {self.log}:\n{log_tail(self.log)}"
        )


def spawn(
    name: str, command: Sequence[str], env: Mapping[str, str], log: Path, port: int = 0
) -> ChildProcess:
    """Start ``command`` with ``env`` added to this environment, its output appended to ``log``.

    The process leads a session (and process group) of its own: a Ctrl-C typed at this
    terminal does not reach it; ``stop_processes`` stops it and anything it started.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as handle:
        process = subprocess.Popen(  # noqa: S603 (the project's own commands)
            list(command),
            env={**os.environ, **env, PARENT_ENV: str(os.getpid())},
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return ChildProcess(name, process, port, log)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def stop_processes(children: Sequence[ChildProcess], grace_s: float = 10.0) -> list[str]:
    """Stop every child: SIGTERM to all at once, SIGKILL to those left after ``grace_s``.

    The signals go to each child's process group, so what a child started stops too.

    Returns:
        One line per child saying how it stopped.
    """
    running = [child for child in children if child.exit_code() is None]
    for child in running:
        _signal_group(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while any(child.exit_code() is None for child in running) and time.monotonic() < deadline:
        time.sleep(0.05)
    report = []
    for child in children:
        if child not in running:
            code = child.exit_code()
            report.append(f"{child.name}: not running ({describe_exit(code or 0)})")
        elif child.exit_code() is None:
            _signal_group(child.pid, signal.SIGKILL)
            child.process.wait()
            report.append(f"{child.name}: killed after {grace_s:.0f}s")
        else:
            _signal_group(child.pid, signal.SIGKILL)  # anything it left behind in its group
            report.append(f"{child.name}: stopped")
    return report


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGINT arrived (``signals_raise``); ``exit_code`` is 128 + the signal.

    A ``KeyboardInterrupt``: asyncio lets it out of its tasks and callbacks (it would keep any
    other exception raised there in the task, or only log it).
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT raise ``Interrupted``; main thread only.

    Only the first signal raises: later ones are ignored, so that the cleanup the first one
    started runs to its end. The block ends with ``Interrupted`` whenever a signal arrived in
    it, even if code inside caught it or wrapped it in another error (pydantic-core, for one,
    turns an exception raised while it serialises into a ``PydanticSerializationError``).
    """
    arrived: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if not arrived:
            arrived.append(signum)
            raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    except Interrupted:
        raise
    except BaseException as exc:
        if arrived:
            raise Interrupted(arrived[0]) from exc
        raise
    else:
        if arrived:
            raise Interrupted(arrived[0])
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
