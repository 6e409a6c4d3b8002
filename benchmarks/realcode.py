"""Fidelity of the converter on code nobody here wrote: convert, run on MindSpore, compare with torch.

    .venv/bin/python benchmarks/realcode.py --fetch                  # once: pip-install the corpus packages
    .venv/bin/python benchmarks/realcode.py                          # every entry; a table on stdout
    .venv/bin/python benchmarks/realcode.py --only timm --json out.json
    .venv/bin/python benchmarks/realcode.py --fast                   # the installed-only subset the tests run

The corpus (packages, exact versions, modules, classes, tiny constructor calls, inputs) is
benchmarks/realcode_corpus.yaml. Nothing of it is in the repository: `--fetch` installs the
`fetch: true` packages, pinned and without dependencies, with pip into `<corpus>/site`
(`--corpus DIR`, default $MINDBRIDGE_REALCODE or ~/.cache/mindbridge/realcode); torch and
transformers entries use the installed packages. For each entry: the module and the sibling files
it imports are converted (codemods.convert_source) and imported on MindSpore
(benchmarks/realcode_load.py); the model is built tiny on both sides, torch weights are perturbed
and loaded into the converted model by torch names, and forward outputs and gradients are compared
(benchmarks/realcode_parity.py; fp32, forward rel L2 <= 1e-5, gradients <= 1e-4). Columns:
converted (yes/no, diagnostics), ran (or the first failing stage and its error), forward and gradient
rel L2, the diagnostic codes. Exit status 0 (a table of failures is a result, not an error); 2 for
bad arguments or a corpus that is not fetched.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml  # noqa: E402

from realcode_load import extract_definitions, load_converted_module, load_torch_module  # noqa: E402
from realcode_parity import FWD_TOL, GRAD_TOL, StageError, compare  # noqa: E402

CORPUS_YAML = Path(__file__).with_name("realcode_corpus.yaml")


def default_corpus_dir() -> Path:
    return Path(os.environ.get("MINDBRIDGE_REALCODE") or Path.home() / ".cache" / "mindbridge" / "realcode")


def load_corpus(path: Path = CORPUS_YAML) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def fetch(corpus: dict, corpus_dir: Path) -> int:
    """pip install --no-deps --target <corpus>/site every `fetch: true` package at its pinned version."""
    specs = [f"{p.get('pypi', name)}=={p['version']}" for name, p in corpus["packages"].items() if p.get("fetch")]
    site = corpus_dir / "site"
    site.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--upgrade", "--target", str(site), *specs]
    print(" ".join(cmd), flush=True)
    return subprocess.run(cmd).returncode


def site_of(package: str, corpus: dict, corpus_dir: Path) -> Path:
    """The folder that holds `package` (the fetched site folder, or where it is installed)."""
    if corpus["packages"][package].get("fetch"):
        site = corpus_dir / "site"
        if not (site / package).exists():
            raise SystemExit(f"error: {site / package} is missing; run benchmarks/realcode.py --fetch first")
        return site
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"error: {package} is not installed")
    return Path(list(spec.submodule_search_locations)[0]).parent


def prepare(entry: dict, corpus: dict, corpus_dir: Path, work: Path) -> tuple[Path, str]:
    """(root folder, module) for the entry; generated files (factories, extracts) are written under `work`."""
    gen = work / "generated" / _slug(entry["name"])
    if "factory" in entry:
        gen.mkdir(parents=True, exist_ok=True)
        (gen / "factory.py").write_text(entry["factory"], encoding="utf-8")
        return gen, "factory"
    root = (site_of(entry["package"], corpus, corpus_dir) / entry.get("root", ".")).resolve()
    if "extract" in entry:
        src = root / (entry["module"].replace(".", "/") + ".py")
        gen.mkdir(parents=True, exist_ok=True)
        origin = str(src.relative_to(site_of(entry["package"], corpus, corpus_dir)))
        text = extract_definitions(src.read_text(encoding="utf-8"), entry["extract"], origin)
        (gen / f"{entry['module'].split('.')[-1]}.py").write_text(text, encoding="utf-8")
        return gen, entry["module"].split(".")[-1]
    return root, entry["module"]


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def run_entry(entry: dict, corpus: dict, corpus_dir: Path, work: Path) -> dict:
    row = {"name": entry["name"], "package": entry["package"], "converted": None, "n_diagnostics": 0,
           "codes": {}, "apis": {}, "ran": None, "stage": None, "error": None, "fwd": None, "grad": None,
           "grad_worst": "", "parity": False, "notes": [], "files": [], "seconds": 0.0}
    t0 = time.perf_counter()
    root, module = prepare(entry, corpus, corpus_dir, work)
    try:
        torch_module = load_torch_module(root, module)
    except Exception as e:
        row.update(ran=False, stage="torch-import", error=f"{type(e).__name__}: {e}"[:240])
        return _done(row, t0)
    record = None
    try:
        ms_module, record = load_converted_module(root, module, work / "converted" / _slug(entry["name"]),
                                                  tag=entry["name"])
    except Exception as e:
        record = getattr(e, "converted", None)
        row.update(ran=False, stage="ms-import", error=f"{type(e).__name__}: {' '.join(str(e).split())}"[:240])
        ms_module = None
    if record is not None:
        diags = record.diagnostics
        row["files"] = sorted(record.files)
        row["converted"] = not any(d.code == "MB001" for d in diags)
        row["n_diagnostics"] = len(diags)
        row["codes"] = dict(collections.Counter(d.code for d in diags))
        row["apis"] = dict(collections.Counter(d.api for d in diags))
    if ms_module is None:
        return _done(row, t0)
    try:
        result = compare(entry, torch_module, ms_module)
    except StageError as e:
        row.update(ran=False, stage=e.stage, error=str(e).split(": ", 1)[1])
        return _done(row, t0)
    except Exception as e:  # the harness itself: still one row, never a crash of the whole run
        row.update(ran=False, stage="harness", error=f"{type(e).__name__}: {e}"[:240])
        return _done(row, t0)
    row.update(ran=True, fwd=result.fwd, grad=result.grad, grad_worst=result.grad_worst, parity=result.ok,
               notes=result.notes)
    return _done(row, t0)


def _done(row: dict, t0: float) -> dict:
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return row


def _num(x) -> str:
    return "-" if x is None else f"{x:.1e}"


def table(rows: list[dict]) -> str:
    lines = ["| file/class | converted | ran | fwd rel L2 | grad rel L2 | parity | diagnostics |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        conv = "-" if r["converted"] is None else f"{'yes' if r['converted'] else 'no'} ({r['n_diagnostics']})"
        ran = "yes" if r["ran"] else f"{r['stage']}: {r['error']}".replace("|", "\\|")
        codes = ", ".join(f"{c} x{n}" for c, n in sorted(r["codes"].items())) or "-"
        parity = "PASS" if r["parity"] else ("FAIL" if r["ran"] else "-")
        if r["notes"]:
            parity += " (" + "; ".join(r["notes"]).replace("|", "\\|") + ")"
        lines.append(f"| {r['name']} | {conv} | {ran} | {_num(r['fwd'])} | {_num(r['grad'])} | {parity} | {codes} |")
    return "\n".join(lines)


def summary(rows: list[dict]) -> str:
    n = len(rows)
    conv = sum(1 for r in rows if r["converted"])
    clean = sum(1 for r in rows if r["converted"] and r["n_diagnostics"] == 0)
    ran = sum(1 for r in rows if r["ran"])
    ok = sum(1 for r in rows if r["parity"])
    return (f"{n} entries: converted {conv} ({clean} without diagnostics), ran {ran}, parity {ok} "
            f"(forward rel L2 <= {FWD_TOL:g}, gradients <= {GRAD_TOL:g}, fp32, CPU, PyNative)")


def prepare_mindspore() -> None:
    from backends.mindspore.device import import_mindspore

    ms = import_mindspore()
    ms.set_context(mode=ms.PYNATIVE_MODE, device_target="CPU")
    import patches.mindspore

    patches.mindspore.apply("CPU")


def select(corpus: dict, only: list[str] | None, fast: bool) -> list[dict]:
    entries = corpus["entries"]
    if fast:
        entries = [e for e in entries if e.get("fast")]
    if only:
        entries = [e for e in entries if any(o in e["name"] for o in only)]
    return entries


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fetch", action="store_true", help="pip-install the corpus packages into <corpus>/site, then run")
    ap.add_argument("--fetch-only", action="store_true", help="only fetch")
    ap.add_argument("--corpus", type=Path, default=None, help="corpus folder (default $MINDBRIDGE_REALCODE)")
    ap.add_argument("--only", action="append", help="entries whose name contains this (repeatable)")
    ap.add_argument("--fast", action="store_true", help="only the installed-package subset marked fast")
    ap.add_argument("--json", type=Path, help="write the rows as JSON")
    ap.add_argument("--work", type=Path, default=None, help="where generated and converted files go "
                                                             "(default <corpus>/work)")
    args = ap.parse_args(argv)
    corpus = load_corpus()
    corpus_dir = (args.corpus or default_corpus_dir()).resolve()
    if args.fetch or args.fetch_only:
        rc = fetch(corpus, corpus_dir)
        if rc or args.fetch_only:
            return rc
    entries = select(corpus, args.only, args.fast)
    if not entries:
        print("error: no corpus entry matches", file=sys.stderr)
        return 2
    site = corpus_dir / "site"
    if site.is_dir():
        sys.path.append(str(site))  # the corpus packages' own absolute imports (einops, mambapy.pscan)
    work = (args.work or corpus_dir / "work").resolve()
    prepare_mindspore()
    rows = []
    try:
        for entry in entries:
            row = run_entry(entry, corpus, corpus_dir, work)
            print(f"{row['name']}: {'PASS' if row['parity'] else 'FAIL'} ({row['seconds']} s) "
                  f"{row['stage'] or ''} {row['error'] or ''}".rstrip(), file=sys.stderr, flush=True)
            rows.append(row)
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 2
    print(table(rows))
    print()
    print(summary(rows))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary(rows), "rows": rows}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
