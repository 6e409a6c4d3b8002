"""Command line: convert torch source files or trees to MindSpore source.

    python -m codemods.convert src/ -o src_ms/          # convert a tree (never touches src/)
    python -m codemods.convert model.py                 # print the converted file
    python -m codemods.convert model.py --diff          # show what would change
    python -m codemods.convert src/ --check             # exit 1 if anything would change (CI use)
    python -m codemods.convert src/ --in-place          # explicit opt-in
    python -m codemods.convert src/ -o out/ -j 2 --report report.md --select MB1,MB2 --strict

Exit status: 0 done; 1 --check found changes or --strict found diagnostics; 2 bad arguments.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import signal
import sys
from pathlib import Path

from codemods.api import convert_source, rule_codes, warm
from codemods.diagnostics import Diagnostic
from codemods.report import FileOutcome, all_diagnostics, summary_line, write_reports
from core.atomic import atomic_write_bytes, masked
from core.lifeline import die_with_parent

SKIP_DIRS = {"__pycache__", ".git", ".hg", ".svn", ".venv", "venv", ".mypy_cache", ".pytest_cache", ".tox"}
PROGRESS_MIN_FILES = 20


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m codemods.convert", description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="+", type=Path, help="Python files or folders")
    p.add_argument("-o", "--output", type=Path, help="output file or folder (inputs stay untouched)")
    p.add_argument("--in-place", action="store_true", help="rewrite the inputs")
    p.add_argument("--diff", action="store_true", help="print a unified diff, write nothing")
    p.add_argument("--check", action="store_true", help="exit 1 if any file would change, write nothing")
    p.add_argument("-j", "--jobs", type=int, default=1, help="parallel worker processes")
    p.add_argument("--report", type=Path, help="write a Markdown and a JSON report (X.md and X.json)")
    p.add_argument("--select", help="comma-separated rule codes or prefixes (MB1,MB203)")
    p.add_argument("--strict", action="store_true", help="exit 1 if anything is reported")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no per-diagnostic lines")
    return p.parse_args(argv)


def plan(args) -> list[tuple[Path, Path, Path | None]]:
    """(input file, its display path, output file or None) for every file to process."""
    jobs = []
    for root in args.paths:
        if not root.exists():
            raise SystemExit(f"error: {root}: no such file or folder")
        if root.is_file():
            out = None
            if args.in_place:
                out = root
            elif args.output is not None:
                out = args.output / root.name if args.output.is_dir() or len(args.paths) > 1 else args.output
            jobs.append((root, root, out))
            continue
        skip = args.output.resolve() if args.output is not None else None
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and (here / d).resolve() != skip)
            for name in sorted(filenames):
                src = here / name
                rel = src.relative_to(root)
                out = src if args.in_place else (args.output / (rel if len(args.paths) == 1 else root.name / rel)
                                                  if args.output is not None else None)
                jobs.append((src, src, out))
    return jobs


def process(job) -> FileOutcome:
    """Convert (or copy) one file. Runs in worker processes; returns only picklable data."""
    src, display, out, mode, select = job
    data = src.read_bytes()
    if src.suffix != ".py":
        if out is not None and out != src:
            _copy(src, out)
        return FileOutcome(str(display), "copied")
    if b"torch" not in data:
        if out is not None and out != src:
            _copy(src, out)
        return FileOutcome(str(display), "unchanged")
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as e:
        if out is not None and out != src:
            _copy(src, out)
        return FileOutcome(str(display), "error", [Diagnostic(str(display), 1, 1, "MB001", "encoding",
                                                              f"not UTF-8: {e.reason}", "file copied unchanged")])
    result = convert_source(source, str(display), select)
    status = "converted" if result.changed else ("error" if any(d.code == "MB001" for d in result.diagnostics)
                                                 else "unchanged")
    diff = ""
    if mode == "diff" and result.changed:
        import difflib

        diff = "".join(difflib.unified_diff(source.splitlines(True), result.code.splitlines(True),
                                            f"a/{display}", f"b/{display}"))
    if out is not None and mode == "write":
        if result.changed:
            _write(src, out, result.code.encode("utf-8"))
        elif out != src:
            _copy(src, out)
    return FileOutcome(str(display), status, result.diagnostics, diff)


def _write(src: Path, out: Path, data: bytes) -> None:
    """Atomically; like cp, a new file gets the source's permission bits under the umask, and
    --in-place keeps the file's own."""
    perms = src.stat().st_mode & 0o777
    atomic_write_bytes(out, data, perms if out == src else masked(perms))


def _copy(src: Path, out: Path) -> None:
    _write(src, out, src.read_bytes())


def run(jobs, n_jobs: int, quiet: bool) -> list[FileOutcome]:
    """process() every job, in order; with n_jobs > 1 in a pool of workers started once."""
    n_jobs = min(n_jobs, len(jobs))
    if n_jobs <= 1:
        return _collect(map(process, jobs), len(jobs), quiet)
    warm()  # tables and rule modules loaded before the fork: every worker starts ready
    chunk = max(1, len(jobs) // (n_jobs * 8))  # few round trips, still balanced at the end
    gc.freeze()  # the workers' collections then skip everything loaded so far (and do not copy its pages)
    try:
        # a worker dies with the converter (even under SIGKILL) instead of writing on for its chunk
        with _pool_context().Pool(n_jobs, initializer=die_with_parent, initargs=(signal.SIGKILL,)) as pool:
            return _collect(pool.imap(process, jobs, chunksize=chunk), len(jobs), quiet)
    finally:
        gc.unfreeze()


def _collect(results, total: int, quiet: bool) -> list[FileOutcome]:
    if quiet or total < PROGRESS_MIN_FILES:
        return list(results)
    from tqdm import tqdm  # only imported when a bar is shown

    return list(tqdm(results, total=total, unit="file", file=sys.stderr))


def _pool_context():
    """fork where it is safe (Linux): workers inherit the loaded libcst, tables and rules."""
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def validate(args) -> str:
    modes = [m for m in ("diff", "check") if getattr(args, m)]
    if len(modes) > 1 or (modes and (args.in_place or args.output)):
        raise SystemExit("error: --diff and --check write nothing; do not combine them with -o/--in-place")
    if args.in_place and args.output:
        raise SystemExit("error: give either -o OUTPUT or --in-place, not both")
    if args.jobs < 1:
        raise SystemExit(f"error: -j must be >= 1, got {args.jobs}")
    if args.output is not None:
        for p in args.paths:
            if p.resolve() == args.output.resolve():
                raise SystemExit(f"error: -o {args.output} is the input itself; use --in-place to rewrite inputs")
    if not modes and not args.in_place and args.output is None and any(p.is_dir() for p in args.paths):
        raise SystemExit("error: converting a folder needs -o OUTPUT, --in-place, --diff or --check")
    if args.select:
        known = rule_codes()
        for prefix in args.select.split(","):
            if not any(code.startswith(prefix.strip()) for code in known):
                raise SystemExit(f"error: --select {prefix!r} matches no rule code (see docs/converter.md)")
    return modes[0] if modes else ("write" if (args.in_place or args.output) else "print")


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        mode = validate(args)
        jobs = plan(args)
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 2
    select = [s.strip() for s in args.select.split(",")] if args.select else None
    if mode == "print":
        outcomes = []
        for src, display, _ in jobs:
            result = convert_source(src.read_text(encoding="utf-8"), str(display), select)
            sys.stdout.write(result.code)
            outcomes.append(FileOutcome(str(display), "converted" if result.changed else "unchanged",
                                        result.diagnostics))
    else:
        outcomes = run([(s, d, o, mode, select) for s, d, o in jobs], args.jobs, args.quiet)
    if mode == "diff":
        sys.stdout.write("".join(o.diff for o in outcomes))
    out = sys.stderr if mode == "print" else sys.stdout
    if not args.quiet:
        for d in all_diagnostics(outcomes):
            print(d.format(), file=out)
    print(summary_line(outcomes), file=out)
    if args.report:
        for path in write_reports(args.report, outcomes):
            print(f"report: {path}", file=out)
    if args.check and any(o.status == "converted" for o in outcomes):
        return 1
    if args.strict and all_diagnostics(outcomes):
        return 1
    return 0


def _main_closing_pipes() -> int:
    """main(), quiet when the reader of stdout goes away early (`... --diff | head`)."""
    try:
        return main()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141  # 128 + SIGPIPE, as a shell reports it


if __name__ == "__main__":
    sys.exit(_main_closing_pipes())
