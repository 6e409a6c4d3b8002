"""Converter speed vs libcst alone, and -j 2 vs -j 1, on a generated tree (not committed).

    .venv/bin/python benchmarks/convert_speed.py            # default: 5 rounds, examples x15 + fixtures
    .venv/bin/python benchmarks/convert_speed.py --copies 40 --repeats 7
    .venv/bin/python benchmarks/convert_speed.py --no-qnp   # skip the slow QualifiedNameProvider baseline
    .venv/bin/python benchmarks/convert_speed.py --tree .venv/lib/python3.11/site-packages/transformers/models \
        --repeats 1 --report /tmp/tf                        # an existing tree, see below

Prints, for the same files: libcst parse+print, parse+QualifiedNameProvider+print, our
conversion, and their ratios; then the wall time of `python -m codemods.convert TREE -o OUT` with
-j 1 and -j 2 (the CLI's own process pool) and the speed-up, and the same for the CLI's `main()`
called in this process (libcst already imported), which isolates the conversion phase from the
interpreter start and imports that both -j settings pay once. The measurements being compared run
back to back in every round (so load from other processes hits both alike); each figure is the
median over rounds, each ratio the median of the per-round ratios. The load average is printed
before and after: on a shared machine, read the ratios, not the seconds.

`--tree DIR [--glob 'modeling_*.py']` measures an existing tree instead (every .py file under DIR
that matches): libcst parse+print, in two forked processes (the same pool shape as the CLI: imap in
chunks), of those files that import torch (the converter copies the others without parsing), against `python -m codemods.convert DIR -o OUT -j 2` on the same files
(copied to a temporary tree first when --glob selects a subset), and -j 2 against -j 1. With
`--report X` the CLI runs also write X.md / X.json, and the most reported APIs are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def build_tree(root: Path, copies: int) -> list[Path]:
    sources = [REPO / "examples" / m / "model.py" for m in ("llama", "gpt2", "cnn")]
    sources += sorted((REPO / "tests" / "codemods" / "fixtures").glob("*/*.in.py"))
    files = []
    for i in range(copies):
        for src in sources[:3]:
            files.append(root / f"copy{i}" / f"{src.parent.name}_model.py")
    for src in sources[3:]:
        files.append(root / "fixtures" / src.parent.name / src.name.replace(".in.py", ".py"))
    srcs = sources[:3] * copies + sources[3:]
    for dst, src in zip(files, srcs):
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    return files


def _parse_print_file(path: str) -> int:
    import libcst as cst

    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        return len(cst.parse_module(text).code)
    except Exception:  # noqa: BLE001 -- unparsable files cost what they cost
        return 0


def tree_files(tree: Path, glob: str) -> list[Path]:
    return sorted(p for p in tree.rglob(glob) if p.is_file() and "__pycache__" not in p.parts)


def tree_main(args) -> int:
    """--tree: parse+print in 2 processes vs the CLI -j 2, and -j 2 vs -j 1, on an existing tree."""
    import collections
    import json
    import multiprocessing

    import libcst  # noqa: F401 -- imported before the fork, as the CLI's workers inherit it

    src = Path(args.tree).resolve()
    files = tree_files(src, args.glob)
    print(load())
    with tempfile.TemporaryDirectory() as tmp:
        tree = src
        if args.glob != "*.py":  # the CLI converts whole folders: give it exactly these files
            tree = Path(tmp) / "tree"
            for f in files:
                dst = tree / f.relative_to(src)
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, dst)
            files = tree_files(tree, "*.py")
        lines = sum(p.read_text(encoding="utf-8", errors="replace").count("\n") for p in files)
        print(f"tree: {src} ({args.glob}): {len(files)} files, {lines} lines")
        from codemods.api import mentions_torch

        # the baseline parses what the converter parses: files that import torch (it copies the rest unparsed)
        names = [str(p) for p in files if mentions_torch(p.read_text(encoding="utf-8", errors="replace"))]
        print(f"  of which {len(names)} import torch (parsed by the converter and by the baseline)")
        chunk = max(1, len(names) // (2 * 8))

        def pp2():
            with multiprocessing.get_context("fork").Pool(2) as pool:
                list(pool.imap(_parse_print_file, names, chunksize=chunk))

        count = iter(range(10**6))

        def cli(jobs):
            def run():
                out = Path(tmp) / f"out{jobs}_{next(count)}"
                cmd = [sys.executable, "-m", "codemods.convert", str(tree), "-o", str(out), "-q", "-j", str(jobs)]
                if args.report:
                    cmd += ["--report", f"{args.report}-j{jobs}"]
                subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
                shutil.rmtree(out, ignore_errors=True)  # outside nothing: the next run times a fresh folder
            return run

        fns = {"pp2": pp2, "j2": cli(2)}
        if not args.no_j1:
            fns["j1"] = cli(1)
        t = rounds(args.repeats, fns)
        print(f"libcst parse+print, 2 processes: {med(t['pp2']):8.2f} s")
        print(f"CLI -j 2:                        {med(t['j2']):8.2f} s   "
              f"ratio -j 2 / (parse+print x2) {ratio(t, 'j2', 'pp2'):4.2f}x  (target <= 1.5x)")
        if "j1" in t:
            print(f"CLI -j 1:                        {med(t['j1']):8.2f} s   "
                  f"speed-up -j 1 / -j 2 {ratio(t, 'j1', 'j2'):4.2f}x  (target >= 1.7x)")
    print(load())
    if args.report:
        data = json.loads(Path(f"{args.report}-j2.json").read_text())
        apis = collections.Counter(d["api"] for d in data["diagnostics"])
        codes = collections.Counter(d["code"] for d in data["diagnostics"])
        print(f"report: {data['summary']}; codes {dict(codes.most_common())}")
        print(f"top {args.top} reported APIs ({len(apis)} distinct):")
        for api, n in apis.most_common(args.top):
            print(f"  {n:6d}  {api}")
    return 0


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def rounds(repeats: int, fns: dict) -> dict:
    """{name: [seconds per round]}, the functions run back to back in every round."""
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(timed(fn))
    return times


def med(xs) -> float:
    return statistics.median(xs)


def ratio(times: dict, a: str, b: str) -> float:
    return med([x / y for x, y in zip(times[a], times[b])])


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()) + f" on {os.cpu_count()} cores"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--copies", type=int, default=15, help="copies of each example model in the tree")
    ap.add_argument("--repeats", type=int, default=5, help="rounds (median reported)")
    ap.add_argument("--no-qnp", action="store_true", help="skip parse+QualifiedNameProvider+print")
    ap.add_argument("--tree", type=Path, help="measure this existing tree instead of a generated one")
    ap.add_argument("--glob", default="*.py", help="with --tree: only files matching this (e.g. 'modeling_*.py')")
    ap.add_argument("--no-j1", action="store_true", help="with --tree: skip the -j 1 run")
    ap.add_argument("--report", help="with --tree: the CLI runs write REPORT-jN.md/.json; top APIs printed")
    ap.add_argument("--top", type=int, default=20, help="with --report: how many APIs to list")
    args = ap.parse_args(argv)
    if args.tree is not None:
        return tree_main(args)

    import libcst as cst
    from libcst.metadata import MetadataWrapper, QualifiedNameProvider

    from codemods import convert_source
    from codemods.convert import main as cli_main

    print(load())
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        files = build_tree(tree, args.copies)
        texts = [p.read_text() for p in files]
        lines = sum(t.count("\n") for t in texts)
        print(f"tree: {len(files)} files, {lines} lines")

        def parse_print():
            for t in texts:
                cst.parse_module(t).code

        def parse_qnp_print():
            for t in texts:
                m = cst.parse_module(t)
                MetadataWrapper(m, unsafe_skip_copy=True).resolve(QualifiedNameProvider)
                m.code

        def convert():
            for i, t in enumerate(texts):
                convert_source(t, str(files[i]))

        convert()  # warm caches (tables, rule modules)
        fns = {"pp": parse_print, "conv": convert}
        if not args.no_qnp:
            fns["qnp"] = parse_qnp_print
        t = rounds(args.repeats, fns)
        print(f"libcst parse+print:             {med(t['pp']):7.3f} s")
        if not args.no_qnp:
            print(f"libcst parse+QNP+print:         {med(t['qnp']):7.3f} s")
        print(f"codemods convert (in-process):  {med(t['conv']):7.3f} s")
        print(f"ratio convert / (parse+print):     {ratio(t, 'conv', 'pp'):5.2f}x  (target <= 1.5x with a lighter resolver)")
        if not args.no_qnp:
            print(f"ratio convert / (parse+QNP+print): {ratio(t, 'conv', 'qnp'):5.2f}x  (target <= 1.5x)")

        def cli(jobs):
            count = iter(range(10**6))

            def run():  # a fresh output folder every time: no deleting inside the timing
                out = Path(tmp) / f"out{jobs}_{next(count)}"
                subprocess.run([sys.executable, "-m", "codemods.convert", str(tree), "-o", str(out), "-q",
                                "-j", str(jobs)], check=True, cwd=REPO, stdout=subprocess.DEVNULL)
            return run

        def in_process(jobs):
            count = iter(range(10**6))

            def run():  # the CLI's main() here, libcst already imported: the conversion phase alone
                out = Path(tmp) / f"in{jobs}_{next(count)}"
                with contextlib.redirect_stdout(io.StringIO()):
                    assert cli_main([str(tree), "-o", str(out), "-q", "-j", str(jobs)]) == 0
            return run

        c = rounds(args.repeats, {"j1": cli(1), "j2": cli(2), "m1": in_process(1), "m2": in_process(2)})
        print(f"CLI -j 1: {med(c['j1']):6.3f} s   -j 2: {med(c['j2']):6.3f} s   "
              f"speed-up {ratio(c, 'j1', 'j2'):4.2f}x  (target >= 1.7x)")
        print(f"  of which conversion (main() after imports) -j 1: {med(c['m1']):6.3f} s   -j 2: {med(c['m2']):6.3f} s   "
              f"speed-up {ratio(c, 'm1', 'm2'):4.2f}x; the rest is interpreter start + imports, "
              f"{med(c['j1']) - med(c['m1']):.3f} s")
    print(load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
