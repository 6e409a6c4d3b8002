"""Child processes that die with the process that started them, so no worker outlives its launcher.

Two mechanisms, both Linux-first and harmless elsewhere:
- `die_with_parent()` asks the kernel for a signal when the parent exits (prctl PR_SET_PDEATHSIG):
  for a process we start directly (torchrun, msrun, the converter's pool workers);
- `watch_process(pid, on_gone)` follows a process that is not our parent (a worker's launcher, two
  levels up under torchrun/msrun) with a pidfd, or by polling where pidfds are missing, and calls
  `on_gone` once it has exited.

    subprocess.Popen(cmd, preexec_fn=lambda: die_with_parent(signal.SIGTERM))
    watch_process(int(os.environ["MINDBRIDGE_LAUNCHER_PID"]), lambda: os._exit(1))
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import sys
import threading
from typing import Callable

PR_SET_PDEATHSIG = 1
LAUNCHER_PID_ENV = "MINDBRIDGE_LAUNCHER_PID"  # set by core.launch for the workers it spawns
POLL_S = 0.5


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Have the kernel send `sig` to this process when its parent exits; False where unsupported.

    Safe to call between fork and exec (a Popen preexec_fn). Exits at once if the parent is already gone."""
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    try:
        ok = ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
    if ok and os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), sig)
    return ok


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def watch_process(pid: int, on_gone: Callable[[], None]) -> threading.Thread:
    """Call `on_gone()` from a daemon thread once process `pid` has exited (at once if it is gone)."""

    def wait_pidfd(fd: int) -> None:
        try:
            select.select([fd], [], [])  # a pidfd turns readable when the process exits
        finally:
            os.close(fd)

    def wait_polling() -> None:
        while alive(pid):
            threading.Event().wait(POLL_S)

    def run() -> None:
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            fd = None
        if fd is None:
            wait_polling()
        else:
            wait_pidfd(fd)
        on_gone()

    thread = threading.Thread(target=run, name=f"watch-{pid}", daemon=True)
    thread.start()
    return thread


def stop_with_launcher(prefix: str = "") -> bool:
    """In a worker started by `core.launch --nproc`: exit as soon as the launcher process is gone, so a
    killed launcher (even SIGKILL) leaves no training behind. False when not under such a launcher."""
    raw = os.environ.get(LAUNCHER_PID_ENV, "")
    if not raw.isdigit():
        return False

    def gone() -> None:
        print(f"error: {prefix}the launcher (pid {raw}) is gone; this worker (pid {os.getpid()}) stops",
              file=sys.stderr, flush=True)
        os._exit(1)  # checkpoints and metrics are written atomically or line by line: nothing to tidy

    watch_process(int(raw), gone)
    return True
