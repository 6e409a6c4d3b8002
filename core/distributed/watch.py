"""Run torchrun / msrun for core.distributed.launcher and turn a failed run into one clear message.

Both launchers' stderr is copied through as it comes and its recent text kept: torchrun's failure
summary names the first rank that failed; msrun only says a worker pid died, so each msrun worker
announces its rank and pid in its log (`announce_msrun_worker`) and the message quotes that log.
msrun waits out a ~30 s scheduler heartbeat after a worker dies; we stop it MSRUN_GRACE_S after it
has killed the other workers.

Nothing outlives the launcher: SIGINT, SIGTERM and SIGHUP are passed on to torchrun / msrun (which
stop their workers), with a SIGKILL of the launcher's whole group after STOP_GRACE_S; torchrun and
msrun get a parent-death signal, and each worker watches the launcher's pid
(core.lifeline.stop_with_launcher), so even a SIGKILL of the launcher stops everything within about
a second. Imports no framework.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from core.lifeline import LAUNCHER_PID_ENV, die_with_parent

MSRUN_GRACE_S = 3.0  # after msrun reports a dead worker: time for it to kill the others before we stop it
STOP_GRACE_S = 8.0  # after passing on a stop signal: time for the launcher to stop its workers
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(Exception):
    """The launcher was asked to stop (a signal) and has stopped its workers; `signum` says which."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _start(cmd: list[str], env: dict[str, str] | None, death_signal: int) -> subprocess.Popen:
    """torchrun / msrun in a session of its own (so it can be stopped as a group), with the workers told
    whose death stops them, and `death_signal` (the one it stops its workers on) should this process die."""
    env = dict(os.environ if env is None else env, **{LAUNCHER_PID_ENV: str(os.getpid())})
    return subprocess.Popen(cmd, stderr=subprocess.PIPE, env=env, start_new_session=True,
                            preexec_fn=lambda: die_with_parent(death_signal))


@contextlib.contextmanager
def _passing_on_signals(proc: subprocess.Popen, translate: dict[int, int]):
    """While the block runs, pass SIGINT/SIGTERM/SIGHUP on to `proc` (as `translate` maps them); if it is
    still there STOP_GRACE_S later, SIGKILL its group. Raises Stopped after the block when one came."""
    received: list[int] = []

    def kill_later() -> None:
        deadline = time.monotonic() + STOP_GRACE_S
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

    def handler(signum, frame) -> None:
        if not received:
            threading.Thread(target=kill_later, daemon=True).start()
        received.append(signum)
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(translate.get(signum, signum))

    previous = {sig: signal.signal(sig, handler) for sig in FORWARDED}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    if received:
        raise Stopped(received[0])


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


_TORCH_ROOT = re.compile(r"Root Cause.*?rank\s*:\s*(\d+)\s*\(local_rank:\s*(\d+)\).*?exitcode\s*:\s*(-?\d+)"
                         r"(?:.*?traceback\s*:\s*([^\n]*))?", re.S)


def _worker_error(output: str, rank: int) -> str:
    """The last error line rank `rank` printed: our one-line 'error: rank N: ...' or its exception."""
    # Not anchored at line start: two ranks write to one pipe, so a rank's line can follow another's text.
    pattern = re.compile(rf"(?:error: rank {rank}: (.+?)(?=error: rank \d+: |$)|"
                         rf"^\[rank{rank}\]:\s*(\w*(?:Error|Exception)\b.*)$)", re.M)
    found = pattern.findall(output)
    if not found:
        return ""
    text = next(x for x in found[-1] if x).strip()
    return text if len(text) <= 300 else text[:297] + "..."


def explain_torchrun_failure(output: str, code: int) -> str:
    """One line from torchrun's failure summary: which rank failed first, how, and its last error line."""
    m = _TORCH_ROOT.search(output)
    if not m:
        return f"distributed run failed: torchrun {_exit_reason(code)} (see its output above)"
    rank, local, rc = int(m.group(1)), int(m.group(2)), int(m.group(3))
    detail = (m.group(4) or "").strip()
    if not detail or detail == "<N/A>" or detail.startswith(("Signal", "To enable traceback")):
        detail = _worker_error(output, rank)
    how = _exit_reason(rc) + (f": {detail}" if detail else "")
    return f"distributed run failed: rank {rank} (local rank {local}) {how}; torchrun stopped the other ranks"


_MS_DEAD = re.compile(r"Worker process (\d+) exit with exception\. Error code: (-?\d+)")
_MS_PID_LINE = "mindbridge: msrun worker rank {rank} of {world}, pid {pid}"


def announce_msrun_worker(rank: int, world: int) -> None:
    """Written into each msrun worker log, so the launcher can name the rank of a dead pid."""
    print(_MS_PID_LINE.format(rank=rank, world=world, pid=os.getpid()), flush=True)


def _tail(path: Path, lines: int) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    keep = [x for x in text.splitlines() if x.strip() and not x.startswith("[INFO]")]
    return keep[-lines:]


_ERROR_LINE = re.compile(r"^(?:error: rank \d+: .+|[\w.]*(?:Error|Exception)\b:?.*)$")


def _log_error(path: Path) -> str:
    """The last error a worker logged, on one line: our 'error: rank N: ...' or the final exception line
    (with MindSpore's message lines when the exception line itself is empty)."""
    lines = [x.strip() for x in _tail(path, 400)]
    hits = [i for i, x in enumerate(lines) if _ERROR_LINE.match(x) and not x.startswith("[")]
    if not hits:
        return ""
    i = hits[-1]
    text = re.sub(r"^error: rank \d+: ", "", lines[i])
    if text.endswith(":"):  # MindSpore: "RuntimeError:" then a boxed "- Kernel error:" section
        more = [x.strip("- ") for x in lines[i + 1:i + 6] if x.strip("- ")]
        text = " ".join([text] + more[:2])
    return text if len(text) <= 300 else text[:297] + "..."


def explain_msrun_failure(log_dir: str | Path, pid: int | None, code: int | None, msrun_code: int,
                          tail_lines: int = 15) -> str:
    """Message for a failed msrun job: the dead worker's rank, how it died, and the tail of its log."""
    log_dir = Path(log_dir)
    logs = sorted(log_dir.glob("worker_*.log"))
    failed = None
    if pid is not None:
        pattern = re.compile(r"msrun worker rank (\d+) of \d+, pid " + str(pid) + r"\b")
        for log in logs:
            m = pattern.search(log.read_text(encoding="utf-8", errors="replace") if log.exists() else "")
            if m:
                failed = (int(m.group(1)), log)
                break
    if failed:
        head = f"distributed run failed: rank {failed[0]} (pid {pid}) {_exit_reason(code)}"
        shown = [failed[1]]
    elif pid is not None:
        head = f"distributed run failed: msrun worker pid {pid} {_exit_reason(code)}"
        shown = logs
    else:
        head = f"distributed run failed: msrun {_exit_reason(msrun_code)}"
        shown = logs
    reason = next((r for r in (_log_error(log) for log in shown) if r), "")
    parts = [f"{head}{': ' + reason if reason else ''}; msrun stopped the other workers. Logs: {log_dir}"]
    scheduler = _log_error(log_dir / "scheduler.log")  # e.g. which worker stopped answering its heartbeat
    if scheduler:
        parts.append(f"--- msrun scheduler: {scheduler}")
    for log in shown:
        tail = _tail(log, tail_lines)
        if tail:
            parts.append(f"--- last lines of {log}:")
            parts += ["    " + x for x in tail]
    return "\n".join(parts)


def _pump(src, dst, keep: deque, on_line=None) -> None:
    """Copy a child's stream to ours as it comes (progress bars included) and keep its recent text."""
    pending = ""
    while True:
        chunk = src.read1(65536) if hasattr(src, "read1") else src.read(65536)
        if not chunk:
            break
        dst.write(chunk.decode("utf-8", errors="replace"))
        dst.flush()
        text = pending + chunk.decode("utf-8", errors="replace")
        *lines, pending = text.split("\n")
        for line in lines:
            keep.append(line)
            if on_line:
                on_line(line)
    if pending:
        keep.append(pending)
        if on_line:
            on_line(pending)


def run_torchrun(cmd: list[str], err=None) -> tuple[int, str]:
    """Run torchrun with its stderr watched; returns (exit code, failure message or '').
    Raises Stopped when a signal stopped the run (torchrun passes it on to its workers)."""
    err = err or sys.stderr
    keep: deque = deque(maxlen=400)
    proc = _start(cmd, None, signal.SIGTERM)
    with _passing_on_signals(proc, {}):
        _pump(proc.stderr, err, keep)
        code = proc.wait()
    return code, ("" if code == 0 else explain_torchrun_failure("\n".join(keep), code))


def run_msrun(cmd: list[str], log_dir: str | Path, env: dict[str, str], err=None) -> tuple[int, str]:
    """Run msrun; when it reports a dead worker, give it MSRUN_GRACE_S to kill the others, then stop it
    (its scheduler would otherwise wait out a ~30 s heartbeat timeout). Returns (exit code, message)."""
    err = err or sys.stderr
    keep: deque = deque(maxlen=400)
    dead: dict[str, int] = {}
    proc = _start(cmd, env, signal.SIGINT)  # on SIGTERM msrun exits and leaves its scheduler running

    def on_line(line: str) -> None:
        m = _MS_DEAD.search(line)
        if m and not dead:
            dead.update(pid=int(m.group(1)), code=int(m.group(2)))
            threading.Thread(target=_stop_later, daemon=True).start()

    def _stop_later() -> None:
        deadline = time.monotonic() + MSRUN_GRACE_S
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # msrun, its scheduler and log tails (workers are gone)

    # msrun stops its workers and scheduler on SIGINT; every stop signal is passed on as that one
    with _passing_on_signals(proc, {sig: signal.SIGINT for sig in FORWARDED}):
        _pump(proc.stderr, err, keep, on_line)
        code = proc.wait()
    if code == 0 and not dead:
        return 0, ""
    return (code if code > 0 else 1), explain_msrun_failure(log_dir, dead.get("pid"), dead.get("code"), code)
