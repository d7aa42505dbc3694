"""A service started by a command ends with that command, even when it is killed outright.

A command that starts services (``jules backtest --mode kafka``, a session's supervisor) puts
its own pid in ``JULES_PARENT_PID``. A service that finds it there asks the kernel (Linux
``PR_SET_PDEATHSIG``) for SIGTERM when that process ends, then stops as on any SIGTERM. The
commands stop their services themselves on SIGTERM and Ctrl-C; this covers SIGKILL, which they
cannot catch. Elsewhere (no variable, another system) nothing changes.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

__all__ = ["PARENT_ENV", "exit_with_parent"]

PARENT_ENV = "JULES_PARENT_PID"
"""The variable naming the process a service ends with."""

_PR_SET_PDEATHSIG = 1


def exit_with_parent() -> bool:
    """Get SIGTERM when the process named by ``JULES_PARENT_PID`` ends (Linux).

    Returns:
        Whether the request was made (``False``: no such variable, or not Linux).
    """
    value = os.environ.get(PARENT_ENV, "")
    if not value.isdecimal() or not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
        return False
    if os.getppid() != int(value):  # it ended before the request: no signal will come
        os.kill(os.getpid(), signal.SIGTERM)
    return True
