"""Child processes that never outlive the process that started them (Linux first, a watchdog elsewhere).

Used by every package that starts helpers: the embedded MQTT broker, simulation workers, job
processes. Imports nothing of ours, like the settings and errors beside it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead
    except (OSError, IndexError):
        return True


def die_with_parent(sig: int = signal.SIGTERM, name: bytes | None = None) -> None:
    """In a child (e.g. a ``preexec_fn``): the kernel sends ``sig`` when the parent dies, even by
    SIGKILL; ``name`` is what ``ps -o comm`` shows. A no-op where there is no prctl."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if name:
            libc.prctl(PR_SET_NAME, name[:15], 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl: the caller's watchdog remains
        pass


def die_with_owner(owner: int, *, every_s: float, name: bytes | None = None, watchdog: str = "cbec-watchdog") -> None:
    """In a multiprocessing child (fork server start method): end when process ``owner`` ends.

    The child's parent is the fork server, which exits when ``owner`` dies once nobody else holds its
    "alive" pipe: the child lets go of the copy it inherited and asks the kernel for SIGKILL when the
    fork server exits; a watchdog thread polling ``owner`` every ``every_s`` covers other systems."""
    try:
        from multiprocessing import forkserver

        fd = forkserver._forkserver._forkserver_alive_fd  # type: ignore[attr-defined]
        if fd is not None:
            forkserver._forkserver._forkserver_alive_fd = None  # type: ignore[attr-defined]
            os.close(fd)
    except (AttributeError, OSError):  # pragma: no cover - private API changed: the watchdog remains
        pass
    die_with_parent(signal.SIGKILL, name)
    if not pid_alive(owner) or os.getppid() == 1:
        os._exit(1)

    def watch() -> None:
        while pid_alive(owner):
            time.sleep(every_s)
        os._exit(1)

    threading.Thread(target=watch, name=watchdog, daemon=True).start()
