"""Golden fixtures: tests/codemods/fixtures/<family>/<case>.in.py -> <case>.out.py (+ <case>.diag).

Regenerate after changing a rule, then review every changed file with `git diff`:

    .venv/bin/python -m tests.codemods.goldens            # rewrite all goldens, list the changed ones
    .venv/bin/python -m tests.codemods.goldens modules    # only one family
"""

from __future__ import annotations

import sys
from pathlib import Path

FIXTURES = Path(__file__).with_name("fixtures")


def cases(family: str | None = None) -> list[Path]:
    pattern = f"{family}/*.in.py" if family else "*/*.in.py"
    return sorted(FIXTURES.glob(pattern))


def expected_paths(case: Path) -> tuple[Path, Path]:
    stem = case.name[: -len(".in.py")]
    return case.with_name(stem + ".out.py"), case.with_name(stem + ".diag")


def display_name(case: Path) -> str:
    return f"{case.parent.name}/{case.name}"


def render(case: Path):
    from codemods import convert_source

    result = convert_source(case.read_text(encoding="utf-8"), display_name(case))
    diag = "".join(d.format() + "\n" for d in result.diagnostics)
    return result, diag


def update(family: str | None = None) -> list[Path]:
    changed = []
    for case in cases(family):
        result, diag = render(case)
        out, diag_path = expected_paths(case)
        if not out.exists() or out.read_text(encoding="utf-8") != result.code:
            out.write_text(result.code, encoding="utf-8")
            changed.append(out)
        if diag:
            if not diag_path.exists() or diag_path.read_text(encoding="utf-8") != diag:
                diag_path.write_text(diag, encoding="utf-8")
                changed.append(diag_path)
        elif diag_path.exists():
            diag_path.unlink()
            changed.append(diag_path)
    return changed


if __name__ == "__main__":
    for path in update(sys.argv[1] if len(sys.argv) > 1 else None):
        print(f"updated {path}")
