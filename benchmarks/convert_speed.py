"""Converter speed vs libcst alone, and -j 2 vs -j 1, on a generated tree (not committed).

    .venv/bin/python benchmarks/convert_speed.py            # default: 5 rounds, examples x15 + fixtures
    .venv/bin/python benchmarks/convert_speed.py --copies 40 --repeats 7
    .venv/bin/python benchmarks/convert_speed.py --no-qnp   # skip the slow QualifiedNameProvider baseline

Prints, for the same files: libcst parse+print, parse+QualifiedNameProvider+print, our
conversion, and their ratios; then the wall time of `python -m codemods.convert TREE -o OUT` with
-j 1 and -j 2 (the CLI's own process pool) and the speed-up, and the same for the CLI's `main()`
called in this process (libcst already imported), which isolates the conversion phase from the
interpreter start and imports that both -j settings pay once. The measurements being compared run
back to back in every round (so load from other processes hits both alike); each figure is the
median over rounds, each ratio the median of the per-round ratios. The load average is printed
before and after: on a shared machine, read the ratios, not the seconds.
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
    args = ap.parse_args(argv)

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
