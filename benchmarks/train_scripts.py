"""Training scripts people publish, run as a user runs them on torch and converted on MindSpore.

    .venv/bin/python benchmarks/train_scripts.py                      # all six; a table on stdout
    .venv/bin/python benchmarks/train_scripts.py --only nanogpt --json out.json --work /tmp/ts

The corpus is benchmarks/training_scripts/ (corpus.yaml says what each script is and how it is run).
For each script: its folder is copied and prepared (data generated with numpy), converted with
`python -m codemods.convert SRC -o OUT` (diagnostics kept), and each of its runs executed with plain
`python ...` in both folders: torch in the copy, MindSpore in the converted folder. The record/replay
hook (benchmarks/train_scripts_replay/sitecustomize.py) makes both start from torch's initial weights
and draw the same batches; the logged losses are then compared step by step (relative difference,
tolerance in corpus.yaml: 1e-4; fp32, CPU, PyNative). A script whose randomness the hook cannot
replay (dropout) is compared by its loss curves: the mean loss over the last third of the run, whose
gap to torch's must stay within twice the gap between two torch runs that differ only in the
script's seed (`reseed`, the same weights and batches, other dropout masks). The noise floor column:
torch against itself, replayed, with 1e-6 x RMS gradient noise before each optimizer step -- how much
of a per-step difference fp32 noise alone explains. `resume_torch`: the converted script also resumes
from the checkpoint the torch run wrote. Exit status 0 (failures are rows of the table); 2 for bad
arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).with_name("training_scripts")
HOOK = Path(__file__).with_name("train_scripts_replay")
TIMEOUT_S = 900
NOISE = 1e-6  # gradient noise of the noise-floor run, x RMS(grad): two fp32 kernel libraries differ by about this


def load_corpus(path: Path = CORPUS / "corpus.yaml") -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _command(args) -> list[str]:
    args = args.split() if isinstance(args, str) else list(args)
    return [sys.executable if args[0] == "python" else args[0], *args[1:]]


def _run(args, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(_command(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MB_TRAIN_")}
    env["PYTHONPATH"] = os.pathsep.join([str(HOOK), str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("MINDBRIDGE_DEVICE", "cpu")
    env.update(extra)
    return env


def _losses(pattern: str, proc: subprocess.CompletedProcess) -> list[float]:
    return [float(m) for m in re.findall(pattern, proc.stdout + "\n" + proc.stderr)]


def _tail(proc: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in (proc.stderr or proc.stdout).strip().splitlines() if ln.strip() and "Warning" not in ln]
    return lines[-1][:200] if lines else f"exit status {proc.returncode}"


def _compare(torch_losses: list[float], ms_losses: list[float]) -> float:
    if len(torch_losses) != len(ms_losses) or not torch_losses:
        return float("inf")
    return max(abs(a - b) / max(abs(a), 1e-12) for a, b in zip(torch_losses, ms_losses))


def run_script(entry: dict, work: Path, tol: float) -> dict:
    """One corpus entry -> a result row (see the module docstring)."""
    row = {"name": entry["name"], "style": entry["style"], "compare": entry.get("compare", "step")}
    src, tdir, mdir = work / "src", work / "torch", work / "mindspore"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(CORPUS / entry["dir"], src)
    for cmd in entry.get("prepare", []):
        proc = _run(cmd, src, _env())
        if proc.returncode:
            return {**row, "ok": False, "stage": "prepare", "error": _tail(proc)}
    shutil.copytree(src, tdir)
    proc = subprocess.run([sys.executable, "-m", "codemods.convert", str(src), "-o", str(mdir)], cwd=REPO,
                          capture_output=True, text=True, env=_env())
    row["diagnostics"] = [ln for ln in proc.stdout.splitlines() if re.search(r":\d+:\d+ MB\d+", ln)]
    row["codes"] = sorted({re.search(r" (MB\d+) ", ln).group(1) for ln in row["diagnostics"]})
    if proc.returncode not in (0, 1):
        return {**row, "ok": False, "stage": "convert", "error": _tail(proc)}
    torch_losses, ms_losses, seconds = [], [], {"torch": 0.0, "mindspore": 0.0}
    for i, cmd in enumerate(entry["runs"]):
        for backend, cwd, key in (("torch", tdir, "MB_TRAIN_RECORD"), ("mindspore", mdir, "MB_TRAIN_REPLAY")):
            start = time.perf_counter()
            proc = _run(cmd, cwd, _env(**{key: str(work / f"replay_{i}"), "MB_TRAIN_SCRIPT_DIR": str(cwd)}))
            seconds[backend] += time.perf_counter() - start
            if proc.returncode:
                return {**row, "ok": False, "stage": f"run {i + 1} ({backend})", "error": _tail(proc)}
            (torch_losses if backend == "torch" else ms_losses).extend(_losses(entry["loss"], proc))
            if backend == "torch" and entry.get("resume_torch") and i < len(entry["runs"]) - 1:
                shutil.copy(tdir / entry["resume_torch"], work / "torch_checkpoint")  # what the next run resumes from
    row.update(steps=len(torch_losses), seconds=seconds, torch_losses=torch_losses, ms_losses=ms_losses)
    if row["compare"] == "step":  # the noise floor: torch against itself with 1e-6 gradient noise
        noisy = []
        for i, cmd in enumerate(entry["runs"]):
            if i == 0:
                shutil.rmtree(work / "noise", ignore_errors=True)
                shutil.copytree(src, work / "noise")
            proc = _run(cmd, work / "noise", _env(MB_TRAIN_REPLAY=str(work / f"replay_{i}"), MB_TRAIN_BACKEND="torch",
                                                  MB_TRAIN_GRAD_NOISE=str(NOISE), MB_TRAIN_SCRIPT_DIR=str(work / "noise")))
            if proc.returncode:
                return {**row, "ok": False, "stage": f"run {i + 1} (torch with gradient noise)", "error": _tail(proc)}
            noisy.extend(_losses(entry["loss"], proc))
        row["noise_floor"] = _compare(torch_losses, noisy)
    if entry.get("resume_torch"):
        shutil.copy(work / "torch_checkpoint", mdir / entry["resume_torch"])
        last = len(entry["runs"]) - 1
        proc = _run(entry["runs"][last], mdir, _env(MB_TRAIN_REPLAY=str(work / f"replay_{last}"),
                                                    MB_TRAIN_SCRIPT_DIR=str(mdir)))
        if proc.returncode:
            return {**row, "ok": False, "stage": "resume from torch's checkpoint", "error": _tail(proc)}
        resumed = _losses(entry["loss"], proc)
        row["resume_torch_diff"] = _compare(torch_losses[-len(resumed):] if resumed else [], resumed)
    if row["compare"] == "step":
        row["max_rel_diff"] = _compare(torch_losses, ms_losses)
        row["ok"] = row["max_rel_diff"] <= tol and row.get("resume_torch_diff", 0.0) <= tol
    else:
        reseeded = []
        for i, cmd in enumerate(entry["runs"]):
            proc = _run([*cmd, *entry["reseed"]], tdir, _env(MB_TRAIN_REPLAY=str(work / f"replay_{i}"),
                                                             MB_TRAIN_BACKEND="torch", MB_TRAIN_SCRIPT_DIR=str(tdir)))
            if proc.returncode:
                return {**row, "ok": False, "stage": f"run {i + 1} (torch, reseeded)", "error": _tail(proc)}
            reseeded.extend(_losses(entry["loss"], proc))
        half = lambda xs: sum(xs[-max(len(xs) // 3, 1):]) / max(len(xs) // 3, 1)  # noqa: E731  (the last third)
        ref = half(torch_losses)
        row.update(ms_gap=abs(half(ms_losses) - ref) / ref, seed_gap=abs(half(reseeded) - ref) / ref,
                   second_half_mean={"torch": ref, "mindspore": half(ms_losses), "torch_reseeded": half(reseeded)})
        row["ok"] = len(ms_losses) == len(torch_losses) and row["ms_gap"] <= 2 * max(row["seed_gap"], tol)
    row["stage"] = "trained" if row["ok"] else "parity"
    return row


def table(rows: list[dict]) -> str:
    out = ["| script | converted (diagnostics) | trains on MindSpore / at parity | steps | per-step loss rel. diff | "
           "torch noise floor | torch / MindSpore s |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        diags = f"yes ({len(r.get('diagnostics', []))}: {', '.join(r.get('codes', [])) or '-'})"
        if "steps" not in r:
            out.append(f"| {r['name']} | {diags} | no: {r['stage']}: {r.get('error', '')} | | | | |")
            continue
        if r["compare"] == "step":
            diff = f"{r['max_rel_diff']:.1e}"
            if "resume_torch_diff" in r:
                diff += f" (resumed from torch's checkpoint: {r['resume_torch_diff']:.1e})"
        else:
            m = r["second_half_mean"]
            diff = (f"curve (mean loss, last third): torch {m['torch']:.3f}, MindSpore {m['mindspore']:.3f} "
                    f"(gap {r['ms_gap']:.1%}); torch with another seed {m['torch_reseeded']:.3f} (gap {r['seed_gap']:.1%})")
        s = r["seconds"]
        floor = f"{r['noise_floor']:.1e}" if "noise_floor" in r else "-"
        out.append(f"| {r['name']} | {diags} | yes / {'yes' if r['ok'] else 'no'} | {r['steps']} | {diff} | {floor} | "
                   f"{s['torch']:.0f} / {s['mindspore']:.0f} |")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", help="script name (repeatable)")
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "mindbridge-train-scripts")
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args(argv)
    corpus = load_corpus()
    entries = [e for e in corpus["scripts"] if not args.only or e["name"] in args.only]
    if not entries:
        parser.error(f"no script named {args.only}; have {[e['name'] for e in corpus['scripts']]}")
    rows = []
    for entry in entries:
        print(f"[{len(rows) + 1}/{len(entries)}] {entry['name']} ...", file=sys.stderr, flush=True)
        rows.append(run_script(entry, args.work / entry["name"], corpus["tol"]))
        r = rows[-1]
        print(f"    {r['stage']}: {r.get('max_rel_diff', r.get('ms_gap', r.get('error')))}", file=sys.stderr)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(f"{sum('steps' in r for r in rows)} of {len(rows)} train as converted, {sum(r['ok'] for r in rows)} at parity",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
