"""Command line: convert torch source files or trees to MindSpore source.

    python -m codemods.convert src/ -o src_ms/          # convert a tree (never touches src/)
    python -m codemods.convert model.py                 # print the converted file
    python -m codemods.convert model.py --diff          # show what would change
    python -m codemods.convert src/ --check             # exit 1 if anything would change (CI use)
    python -m codemods.convert src/ --in-place          # explicit opt-in
    python -m codemods.convert src/ -o out/ -j 2 --report report.md --select MB1,MB2 --strict

Exit status: 0 done; 1 --check found changes or --strict found diagnostics; 2 bad arguments, or an
input that could not be converted as asked (unreadable or unwritable, a symlink loop, a file given by
name that is not UTF-8 text): one line each, and the rest is still converted.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import signal
import sys
from pathlib import Path

from codemods.api import convert_source, may_need_conversion, rule_codes, warm
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
    p.add_argument("--list-apis", action="store_true", help="print API coverage by torch module, of the tables and "
                   "of the given paths (codemods/coverage.py); PATH optional")
    return p.parse_args(argv)


def plan(args) -> tuple[list[tuple[Path, Path, Path | None]], list[str]]:
    """([(input file, its display path, output file or None) for every file to process], one-line errors
    for what was skipped: symlink loops)."""
    jobs, loops = [], []
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
        for dirpath, dirnames, filenames in os.walk(root):  # symlinked folders are not followed (no loops)
            here = Path(dirpath)
            linked = [d for d in dirnames if (here / d).is_symlink()]
            for d in linked:
                target = (here / d).resolve()
                if target == here.resolve() or target in here.resolve().parents:
                    loops.append(f"error: {here / d}: a symlink loop (it points to {target}, a folder above it); "
                                 "skipped")
                else:
                    print(f"note: {here / d}: a symlinked folder, not followed", file=sys.stderr)
            dirnames[:] = sorted(d for d in dirnames
                                 if d not in SKIP_DIRS and d not in linked and (here / d).resolve() != skip)
            for name in sorted(filenames):
                src = here / name
                rel = src.relative_to(root)
                out = src if args.in_place else (args.output / (rel if len(args.paths) == 1 else root.name / rel)
                                                  if args.output is not None else None)
                jobs.append((src, src, out))
    return jobs, loops


def process(job) -> FileOutcome:
    """Convert (or copy) one file. Runs in worker processes; returns only picklable data. A file that
    cannot be read or written is one diagnostic (MB004); the other files go on."""
    src, display, out, mode, select = job
    try:
        return _process(src, display, out, mode, select)
    except OSError as e:
        return FileOutcome(str(display), "error", [io_diagnostic(display, e)])


def io_diagnostic(display, e: OSError) -> Diagnostic:
    where = f" ({e.filename})" if getattr(e, "filename", None) and str(e.filename) != str(display) else ""
    return Diagnostic(str(display), 1, 1, "MB004", "io", f"{e.strerror or e}{where}", "file skipped")


def decode(display, data: bytes) -> tuple[str | None, Diagnostic | None]:
    """(text, None) for UTF-8 source; (None, MB001 diagnostic) for anything else (binary, another encoding)."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as e:
        return None, Diagnostic(str(display), 1, 1, "MB001", "encoding", f"not UTF-8 text: {e.reason}",
                                "file copied unchanged")


def _process(src: Path, display, out: Path | None, mode: str, select) -> FileOutcome:
    data = src.read_bytes()
    if src.suffix != ".py":
        if out is not None and out != src:
            _copy(src, out)
        return FileOutcome(str(display), "copied")
    if not may_need_conversion(data):
        if out is not None and out != src:
            _copy(src, out)
        return FileOutcome(str(display), "unchanged")
    source, problem = decode(display, data)
    if problem is not None:
        if out is not None and out != src:
            _copy(src, out)
        return FileOutcome(str(display), "error", [problem])
    result = convert_source(source, str(display), select, origin=src)
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


def convert_to_stdout(src: Path, display, select) -> FileOutcome:
    """Print mode (one file, no -o): the converted text on stdout, or a diagnostic."""
    try:
        source, problem = decode(display, src.read_bytes())
    except OSError as e:
        return FileOutcome(str(display), "error", [io_diagnostic(display, e)])
    if problem is not None:
        return FileOutcome(str(display), "error", [problem])
    result = convert_source(source, str(display), select, origin=src)
    sys.stdout.write(result.code)
    return FileOutcome(str(display), "converted" if result.changed else "unchanged", result.diagnostics)


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


def check_output(out: Path, many: bool) -> None:
    """-o must be a folder for a folder or several inputs, and creatable or writable."""
    if many and out.exists() and not out.is_dir():
        raise SystemExit(f"error: -o {out} is an existing file; a folder or several inputs need an output folder")
    folder = out if many or out.is_dir() else out.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SystemExit(f"error: -o {out}: cannot create {folder} ({e.strerror})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SystemExit(f"error: -o {out}: cannot write into {folder}")


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
    if args.output is not None:
        check_output(args.output, many=len(args.paths) > 1 or any(p.is_dir() for p in args.paths))
    if args.select:
        known = rule_codes()
        for prefix in args.select.split(","):
            if not any(code.startswith(prefix.strip()) for code in known):
                raise SystemExit(f"error: --select {prefix!r} matches no rule code (see docs/converter.md)")
    return modes[0] if modes else ("write" if (args.in_place or args.output) else "print")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--list-apis" in argv:  # before parse_args: PATH is optional here
        from codemods.coverage import main as list_apis

        return list_apis([a for a in argv if a != "--list-apis"])
    args = parse_args(argv)
    try:
        mode = validate(args)
        jobs, loops = plan(args)
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 2
    select = [s.strip() for s in args.select.split(",")] if args.select else None
    if mode == "print":
        outcomes = [convert_to_stdout(src, display, select) for src, display, _ in jobs]
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
    for line in loops:
        print(line, file=sys.stderr)
    given = {str(p) for p in args.paths}
    unusable = [d for d in all_diagnostics(outcomes) if d.code == "MB004" or (d.code == "MB001" and d.api == "encoding"
                                                                             and d.file in given)]
    if loops or unusable:  # something given could not be converted as asked (the rest was)
        return 2
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
