"""Converter speed vs libcst alone, and -j 2 vs -j 1, on a generated tree (not committed).

    .venv/bin/python benchmarks/convert_speed.py            # default: 3 repeats, examples x15 + fixtures
    .venv/bin/python benchmarks/convert_speed.py --copies 30 --repeats 5

Prints, for the same files: libcst parse+print, parse+QualifiedNameProvider+print, our
conversion, and the ratios; then the wall time of `python -m codemods.convert TREE -o OUT` with
-j 1 and -j 2 (the CLI's own process pool) and their speed-up.
"""

from __future__ import annotations

import argparse
import shutil
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


def best_of(repeats, fn) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--copies", type=int, default=15, help="copies of each example model in the tree")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    import libcst as cst
    from libcst.metadata import MetadataWrapper, QualifiedNameProvider

    from codemods import convert_source

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
        t_pp = best_of(args.repeats, parse_print)
        t_qnp = best_of(args.repeats, parse_qnp_print)
        t_conv = best_of(args.repeats, convert)
        print(f"libcst parse+print:             {t_pp:7.3f} s")
        print(f"libcst parse+QNP+print:         {t_qnp:7.3f} s")
        print(f"codemods convert (in-process):  {t_conv:7.3f} s")
        print(f"ratio convert / (parse+print):     {t_conv / t_pp:5.2f}x  (target <= 1.5x with a lighter resolver)")
        print(f"ratio convert / (parse+QNP+print): {t_conv / t_qnp:5.2f}x  (target <= 1.5x)")

        def cli(jobs):
            out = Path(tmp) / f"out{jobs}"
            def run():
                shutil.rmtree(out, ignore_errors=True)
                subprocess.run([sys.executable, "-m", "codemods.convert", str(tree), "-o", str(out), "-q",
                                "-j", str(jobs)], check=True, cwd=REPO, stdout=subprocess.DEVNULL)
            return best_of(args.repeats, run)

        t1, t2 = cli(1), cli(2)
        print(f"CLI -j 1: {t1:6.3f} s   -j 2: {t2:6.3f} s   speed-up {t1 / t2:4.2f}x  (target >= 1.7x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
