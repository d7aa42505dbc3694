"""The supervisor of one service of a ``jules up`` session: restarts it when it dies.

``jules up`` returns once the session runs, so the services outlive it. Each service therefore
runs under a small supervisor process of its own, ``python -m jules.supervisor <state> --
<command>``, started by ``jules up`` in place of the service: it starts the service as its
child, waits for it (reaping it, so its exit code is known), and when the service ends without
being asked to, starts it again after a back-off (1 s, doubling up to 30 s; back to 1 s after
a run of a minute). A restarted service resumes from its consumer group's committed offsets.

The supervisor writes what ``jules status`` shows into the state file (``SupervisorState``):
the service's pid, its restarts and the last exit code. SIGTERM (``jules down``) or SIGINT to
the supervisor is passed on to the service; the supervisor then exits with the service's exit
code (128 + N when signal N ended it), without restarting it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType

from jules_runtime.parent import PARENT_ENV

__all__ = ["SupervisorState", "main", "supervise"]

_BACKOFF_S = (1.0, 30.0)
"""First and longest wait before a restart."""
_STABLE_S = 60.0
"""A run at least this long resets the back-off."""


@dataclass
class SupervisorState:
    """What the supervisor of a service last recorded (its state file, JSON)."""

    supervisor_pid: int
    pid: int | None = None
    restarts: int = 0
    last_exit_code: int | None = None
    last_exit_at: float | None = None

    def save(self, path: Path) -> None:
        """Write the state file (atomically: readers never see half of it)."""
        partial = path.with_suffix(path.suffix + ".tmp")
        partial.write_text(json.dumps(asdict(self)) + "\n")
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> SupervisorState | None:
        """The recorded state, or ``None`` when there is none (yet)."""
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None


def _say(message: str) -> None:
    print(json.dumps({"level": "WARNING", "message": message, "logger": "jules.supervisor"}))
    sys.stdout.flush()


def supervise(command: list[str], state_file: Path) -> int:
    """Run ``command`` until asked to stop, restarting it whenever it ends on its own.

    Returns:
        The exit code of the command's last run (the supervisor's own exit code).
    """
    state = SupervisorState(supervisor_pid=os.getpid())
    stopping: list[int] = []
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    backoff = _BACKOFF_S[0]
    while True:
        started = time.monotonic()
        child = subprocess.Popen(  # noqa: S603 (the project's own command)
            command, env={**os.environ, PARENT_ENV: str(os.getpid())}
        )
        state.pid = child.pid
        state.save(state_file)
        if stopping:  # asked to stop while it was starting
            child.send_signal(signal.SIGTERM)
        code = child.wait()
        state.pid, state.last_exit_code, state.last_exit_at = None, code, time.time()
        state.save(state_file)
        if stopping:
            return code
        if time.monotonic() - started >= _STABLE_S:
            backoff = _BACKOFF_S[0]
        _say(f"the service ended on its own (exit code {code}); restarting it in {backoff:.0f}s")
        deadline = time.monotonic() + backoff
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
        if stopping:
            return code
        backoff = min(backoff * 2, _BACKOFF_S[1])
        state.restarts += 1


def main(argv: list[str] | None = None) -> int:
    """``python -m jules.supervisor <state file> -- <command> [args…]``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 3 or args[1] != "--":
        print("usage: python -m jules.supervisor <state file> -- <command> [args...]")
        return 2
    code = supervise(args[2:], Path(args[0]))
    return code if code >= 0 else 128 - code  # killed by signal N: 128 + N, as a shell says


if __name__ == "__main__":
    sys.exit(main())
