"""Run the CPU kernel probes of patches/mindspore/probes.py in child processes.

Each child sets device_target=CPU and pynative_synchronize=True (otherwise a missing kernel can
surface at a later op), optionally applies the fallback set, runs many probes one after the other
(a kernel error is an exception, not a crash) until the first failure and prints one JSON line per name. If a child dies
anyway, the name it was on is reported as crashed and a new child continues with the rest.

    python -m patches.mindspore.probe                          # every probe, with fallbacks applied
    python -m patches.mindspore.probe --raw mindspore.mint.arange mindspore.Tensor.clone
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class ProbeResult:
    name: str
    status: str  # ok | fail | crash | no-probe | not-a-kernel
    error: str = ""


def _short(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip() and not ln.startswith("-")]
    return f"{type(e).__name__}: {lines[0] if lines else ''}"[:200]


def _worker(names: list[str], patched: bool) -> None:
    import numpy as np
    import mindspore as ms
    from mindspore import mint, ops

    ms.set_context(device_target="CPU", pynative_synchronize=True)
    if patched:
        import patches.mindspore

        patches.mindspore.apply("CPU")
    from patches.mindspore.probes import PROBES

    rng = np.random.default_rng(0)
    x = ms.Tensor(rng.uniform(0.1, 1.1, (2, 3, 4)).astype(np.float32))
    i = ms.Tensor(np.array([[1, 2, 3], [4, 5, 0]], dtype=np.int64))
    b = ms.Tensor(rng.uniform(size=(2, 3, 4)) > 0.5)

    def layer_grad(cell, *inputs):
        cell.set_train(True)
        params = cell.trainable_params()

        def fn(*a):
            out = cell(*a)
            return out.sum() if out.dtype in (ms.float32, ms.float16) else out

        if not params:
            return ms.grad(fn)(*inputs) if inputs[0].dtype == ms.float32 else fn(*inputs)
        return ms.value_and_grad(fn, None, params)(*inputs)

    env = {"ms": ms, "mint": mint, "nn": mint.nn, "F": mint.nn.functional, "ops": ops, "x": x, "i": i, "b": b,
           "layer_grad": layer_grad, "np": np}
    for name in names:
        print(json.dumps({"start": name}), flush=True)
        expr = PROBES[name]
        try:
            if expr.startswith("g:"):
                fn = eval("lambda x: " + expr[2:], env)  # noqa: S307 - our own table
                out = fn(x)
                ms.grad(lambda t: fn(t).sum())(x).asnumpy()
            else:
                out = eval(expr, env)  # noqa: S307
            _materialize(out)
            print(json.dumps({"name": name, "status": "ok"}), flush=True)
        except Exception as e:  # a missing kernel raises RuntimeError/TypeError/ValueError...
            print(json.dumps({"name": name, "status": "fail", "error": _short(e)}), flush=True)
            # Measured: after some kernel failures, later unrelated calls fail too (e.g. `x[0]`
            # raising "Only support integers ... but got 0"), so a fresh process takes over.
            return


def _materialize(out) -> None:
    if isinstance(out, (tuple, list)):
        for o in out:
            _materialize(o)
    elif hasattr(out, "asnumpy"):
        out.asnumpy()


def run_probes(names, patched: bool = True, batch: int = 400, timeout: float = 300) -> dict[str, ProbeResult]:
    """Probe each name in child processes; returns name -> ProbeResult."""
    from patches.mindspore.probes import NOT_KERNELS, PROBES

    results: dict[str, ProbeResult] = {}
    todo = []
    for n in sorted(set(names)):
        if n in NOT_KERNELS:
            results[n] = ProbeResult(n, "not-a-kernel")
        elif n not in PROBES:
            results[n] = ProbeResult(n, "no-probe", "add a probe to patches/mindspore/probes.py")
        else:
            todo.append(n)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               GLOG_v="3")
    while todo:
        chunk, todo = todo[:batch], todo[batch:]
        cmd = [sys.executable, "-m", "patches.mindspore.probe", "--worker"] + (["--raw"] if not patched else []) + chunk
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout)
        current = None
        for line in proc.stdout.splitlines():
            if not line.startswith("{"):
                continue
            rec = json.loads(line)
            if "start" in rec:
                current = rec["start"]
            else:
                results[rec["name"]] = ProbeResult(rec["name"], rec["status"], rec.get("error", ""))
                current = None
        if current is not None:  # the child died inside a probe
            tail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1][:200]
            results[current] = ProbeResult(current, "crash", tail)
        elif not any(n in results for n in chunk):
            tail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1][:200]
            raise RuntimeError(f"probe worker failed before probing: {tail}")
        todo = [n for n in chunk if n not in results] + todo  # a child stops at its first failure
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="fully qualified names (default: every probe)")
    ap.add_argument("--raw", action="store_true", help="do not apply the fallback patches")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        _worker(args.names, patched=not args.raw)
        return 0
    from patches.mindspore.probes import PROBES

    results = run_probes(args.names or list(PROBES), patched=not args.raw)
    bad = 0
    for r in results.values():
        bad += r.status in ("fail", "crash", "no-probe")
        print(f"{r.status:12s} {r.name}" + (f"  ({r.error})" if r.error else ""))
    print(f"{len(results) - bad}/{len(results)} ok" + (" (fallbacks applied)" if not args.raw else " (raw, no fallbacks)"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
