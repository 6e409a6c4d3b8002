"""Find the patch that breaks a parity check, by bisecting over prefixes of the active patch set.

The check is a command (default: `python -m core.parity RECIPE`) run with MINDBRIDGE_PATCHES_ONLY
set to a subset of the set's patches plus those named with --keep (patches without which the run
cannot start at all, such as kernel fallbacks). Exit code 0 is a pass, 1 a failure; any other
exit code (core.parity: 2 = bad input) stops the bisect. With the first k patches
passing and the first k+1 failing, patch k+1 is the culprit: about log2(n) + 2 runs.

    python -m patches bisect examples/llama/tiny.yaml
    python -m patches bisect RECIPE --set mindspore --check "python my_parity.py {recipe}" --keep mint.arange
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable

from patches.manager import ONLY_ENV


@dataclass
class BisectResult:
    culprit: str | None  # None: the full set passes, or even the empty set fails
    runs: list[tuple[int, bool]]  # (prefix length, passed)
    message: str


def bisect_prefix(names: list[str], passes: Callable[[list[str]], bool]) -> BisectResult:
    """`passes(subset)` runs the check with only `subset` applied. Finds the first patch whose
    addition to the prefix before it makes the check fail."""
    runs: list[tuple[int, bool]] = []

    def ok(k: int) -> bool:
        res = passes(names[:k])
        runs.append((k, res))
        return res

    if ok(len(names)):
        return BisectResult(None, runs, f"the check passes with all {len(names)} patches applied: nothing to find")
    if not ok(0):
        return BisectResult(None, runs, "the check fails even with none of these patches applied "
                                        "(add required patches with --keep, or the fault is elsewhere)")
    lo, hi = 0, len(names)  # invariant: prefix lo passes, prefix hi fails
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
    culprit = names[hi - 1]
    return BisectResult(culprit, runs, f"first failing patch: {culprit} (prefix of {hi - 1} passes, {hi} fails)")


def command_check(command: list[str], keep: list[str], log: Callable[[str], None] = print):
    """A `passes(subset)` that runs `command` with MINDBRIDGE_PATCHES_ONLY=keep+subset."""

    def passes(subset: list[str]) -> bool:
        env = dict(os.environ, **{ONLY_ENV: ",".join(keep + subset) or "-"})
        proc = subprocess.run(command, env=env, capture_output=True, text=True)
        if proc.returncode not in (0, 1):  # core.parity: 1 = out of tolerance, 2 = bad input
            tail = (proc.stderr.strip().splitlines() or [""])[-1]
            raise SystemExit(f"error: the check failed to run (exit {proc.returncode}): {tail}")
        log(f"  {len(subset):3d} patches -> {'pass' if proc.returncode == 0 else f'FAIL (exit {proc.returncode})'}")
        return proc.returncode == 0

    return passes


def default_check(recipe: str) -> list[str]:
    import importlib.util

    if importlib.util.find_spec("core.parity") is None:
        raise SystemExit("error: the parity command (core.parity) does not exist yet; pass --check \"CMD {recipe}\"")
    return [sys.executable, "-m", "core.parity", recipe]


def check_command(template: str | None, recipe: str) -> list[str]:
    if template is None:
        return default_check(recipe)
    return [part.replace("{recipe}", recipe) for part in shlex.split(template)]
