"""Per-file outcomes of a run, the terminal summary, and the --report files (Markdown + JSON)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from codemods.diagnostics import Diagnostic
from core.atomic import atomic_write_bytes


@dataclass
class FileOutcome:
    path: str  # relative to the input root (or the file as given)
    status: str  # "converted" | "unchanged" | "copied" (not Python) | "error" (unparsable/unreadable)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    diff: str = ""


def counts(outcomes: list[FileOutcome]) -> dict:
    return {
        "files": len(outcomes),
        "converted": sum(o.status == "converted" for o in outcomes),
        "unchanged": sum(o.status in ("unchanged", "copied") for o in outcomes),
        "with_issues": sum(bool(o.diagnostics) for o in outcomes),
        "diagnostics": sum(len(o.diagnostics) for o in outcomes),
    }


def summary_line(outcomes: list[FileOutcome]) -> str:
    c = counts(outcomes)
    return (f"{c['files']} files: {c['converted']} converted, {c['unchanged']} unchanged, "
            f"{c['with_issues']} with issues ({c['diagnostics']} diagnostics)")


def all_diagnostics(outcomes: list[FileOutcome]) -> list[Diagnostic]:
    return [d for o in outcomes for d in o.diagnostics]


def to_markdown(outcomes: list[FileOutcome]) -> str:
    lines = ["# Conversion report", "", summary_line(outcomes), ""]
    diags = all_diagnostics(outcomes)
    if diags:
        lines += ["| location | code | level | api | reason | suggestion |", "|---|---|---|---|---|---|"]
        for d in diags:
            cells = [f"{d.file}:{d.line}:{d.col}", d.code, d.level, f"`{d.api}`", d.reason, d.suggestion]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    else:
        lines.append("No untranslated torch APIs.")
    lines += ["", "## Files", ""] + [f"- {o.status}: `{o.path}`" for o in outcomes]
    return "\n".join(lines) + "\n"


def to_json(outcomes: list[FileOutcome]) -> str:
    data = {
        "summary": counts(outcomes),
        "files": [{"path": o.path, "status": o.status} for o in outcomes],
        "diagnostics": [d.to_dict() for d in all_diagnostics(outcomes)],
    }
    return json.dumps(data, indent=2) + "\n"


def write_reports(path: Path, outcomes: list[FileOutcome]) -> list[Path]:
    """--report X.md writes X.md and X.json (and the reverse for X.json)."""
    base = path.with_suffix("") if path.suffix in (".md", ".json") else path
    md, js = base.with_suffix(".md"), base.with_suffix(".json")
    atomic_write_bytes(md, to_markdown(outcomes).encode())
    atomic_write_bytes(js, to_json(outcomes).encode())
    return [md, js]
