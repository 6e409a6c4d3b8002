"""Torch aliases a file receives through a relative star import (`from .activations import *`).

timm's `create_act.py` never imports torch itself: `torch`, `nn` and `F` reach it through
`from .activations import *`, because `activations.py` binds them at module level and star imports
re-export every public module-level name. After conversion `activations.py` binds MindSpore names
instead (or none: an alias it no longer uses is not imported), so `F.celu` in `create_act.py` would
meet `mint.nn.functional` or nothing at all. The converter must treat those names as the torch
aliases they are in the source.

`with_inherited_imports(source, path)` appends, on the star import's own line (so that line numbers
in diagnostics do not move), the torch imports the star import brings in:

    from .activations import *          ->  from .activations import *; import torch; from torch import nn as nn

The converter then handles them like the file's own imports: they are removed, and the MindSpore
imports the converted uses need take their place, right after the star import (and so override the
names it binds). Only relative imports are resolved (siblings on disk, `x.py` or `x/__init__.py`),
recursively through the siblings' own star imports; `__all__`, when it is a literal list or
tuple, limits what is re-exported, and so does the leading-underscore rule.

    from codemods.star_imports import with_inherited_imports
    source = with_inherited_imports(path.read_text(), path)
"""

from __future__ import annotations

import ast
from pathlib import Path


def _is_torch(module: str | None) -> bool:
    return module is not None and (module == "torch" or module.startswith("torch."))


def _exported(tree: ast.Module) -> set[str] | None:
    """Names in a literal `__all__`, or None when the module has none (or a computed one)."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in stmt.targets):
            if isinstance(stmt.value, (ast.List, ast.Tuple)) and all(
                    isinstance(e, ast.Constant) and isinstance(e.value, str) for e in stmt.value.elts):
                return {e.value for e in stmt.value.elts}
            return None
    return None


def _sibling(path: Path, node: ast.ImportFrom) -> Path | None:
    """The file a relative `from .x import *` names, when it is on disk."""
    base = path.parent
    for _ in range(node.level - 1):
        base = base.parent
    target = base.joinpath(*node.module.split(".")) if node.module else base
    for candidate in (target.with_suffix(".py") if node.module else None, target / "__init__.py"):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def _torch_imports(path: Path, seen: set[Path]) -> list[tuple[str, str]]:
    """(local name, import statement) for every torch alias `path` binds at module level."""
    if path in seen:
        return []
    seen.add(path)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return []
    found: list[tuple[str, str]] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Import):
            for a in stmt.names:
                if _is_torch(a.name):
                    local = a.asname or a.name.split(".")[0]
                    found.append((local, f"import {a.name} as {a.asname}" if a.asname else f"import {a.name}"))
        elif isinstance(stmt, ast.ImportFrom):
            if stmt.level and stmt.names[0].name == "*":
                sibling = _sibling(path, stmt)
                if sibling is not None:
                    found += _torch_imports(sibling, seen)
            elif not stmt.level and _is_torch(stmt.module) and stmt.names[0].name != "*":
                for a in stmt.names:
                    local = a.asname or a.name
                    found.append((local, f"from {stmt.module} import {a.name} as {local}"))
    exported = _exported(tree)
    return [(local, line) for local, line in found
            if (local in exported if exported is not None else not local.startswith("_"))]


def inherited_imports(source: str, path: Path) -> tuple[int, list[str]] | None:
    """(line of the last top-level relative star import that brings in torch aliases, the torch import
    statements all of them bring in), or None. One place for all of them: the MindSpore imports the
    converter writes there must come after every star import that binds the same names."""
    if "import *" not in source:
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None  # the converter reports the syntax error itself
    lines: list[str] = []
    bound: set[str] = set()
    last = None
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.level and stmt.names[0].name == "*":
            sibling = _sibling(path, stmt)
            if sibling is None:
                continue
            for local, line in _torch_imports(sibling, {path.resolve()}):
                last = stmt
                if local not in bound:  # the first binding wins, as the sibling's own code sees it
                    bound.add(local)
                    lines.append(line)
    return (last, lines) if last is not None else None


def with_inherited_imports(source: str, path: Path | None) -> str:
    """`source` with the torch imports of its relative star imports added on the last one's line."""
    found = inherited_imports(source, Path(path)) if path is not None else None
    if found is None:
        return source
    stmt, extra = found
    lines = source.splitlines(keepends=True)
    i, cut = stmt.end_lineno - 1, stmt.end_col_offset
    raw = lines[i].encode("utf-8")
    lines[i] = (raw[:cut] + "".join(f"; {s}" for s in extra).encode() + raw[cut:]).decode("utf-8")
    return "".join(lines)
