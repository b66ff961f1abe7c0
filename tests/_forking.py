"""Running a function in a forked child, for the tests of what a client does across ``fork()``."""

from __future__ import annotations

import os
import signal
import time
import warnings
from typing import Callable


def fork_and_wait(child: Callable[[], bool], timeout: float = 30.0) -> int:
    """Run ``child`` in a forked child; its exit code (0: it returned true), or -1 when it was still
    running after ``timeout`` seconds (stuck: killed)."""
    with warnings.catch_warnings():  # "use of fork() may lead to deadlocks" (3.12+, threads running)
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover  (runs in the child)
        code = 1
        try:
            code = 0 if child() else 3
        except BaseException:
            code = 2
        finally:
            os._exit(code)
    stop = time.monotonic() + timeout
    while time.monotonic() < stop:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return -1
