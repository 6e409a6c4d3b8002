"""Torch import statements in the converted file: recorded on the way in, removed on the way out.

Called by `Converter` (codemods/transformer.py) with itself as `conv`. Top-level torch imports are
recorded by `record_top_level` and removed by `replace_top_level`, which puts the MindSpore import
lines the new code uses where the first torch import stood (or below the docstring and leading
imports when there was none at top level). A torch import inside a function or `try:` block is
removed in place, keeping the names that have a MindSpore target (`nested_mapped`).
"""

from __future__ import annotations

import functools

import libcst as cst

from codemods.einops_imports import convert_einops_import
from codemods.names import dotted


def record_top_level(conv, module: cst.Module) -> None:
    """Record the module's top-level imports, and which of them import torch, in `conv`."""
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, (cst.Import, cst.ImportFrom)):
                    conv.top_imports.add(small)
                    if conv.names.record(small, top_level=True) and not is_star(small):
                        conv.top_torch.add(small)


def is_star(node) -> bool:
    return isinstance(node, cst.ImportFrom) and isinstance(node.names, cst.ImportStar)


def visit_import(conv, node) -> bool:
    """Any import statement: einops' part, and nested torch imports recorded (never entered: False)."""
    convert_einops_import(conv, node)
    if node not in conv.top_imports and conv.names.record(node, top_level=False):
        if is_star(node):
            conv.report("MB002", "from torch import *", "star imports cannot be resolved", "import names explicitly", node=node)
        else:
            conv.nested_torch.add(node)
    return False


def leave_import(conv, original, updated):
    """A nested torch import: without its torch names, or its mapped names, or removed."""
    if original not in conv.nested_torch:
        return updated
    return without_torch(updated) or nested_mapped(conv, original) or cst.RemovalSentinel.REMOVE


def nested_mapped(conv, node):
    """A nested `from torch import _assert` (timm's `try:` re-export) keeps binding the names that
    have a MindSpore target: `from backends.mindspore.compat import _assert`. Unmapped names are
    dropped; their uses are reported where they stand."""
    if not isinstance(node, cst.ImportFrom) or isinstance(node.names, cst.ImportStar):
        return None
    module = dotted(node.module)
    aliases = []
    for alias in node.names:
        target = conv.names._binding_target(f"{module}.{alias.name.value}")
        if target and "." in target:
            local = alias.asname.name.value if alias.asname else alias.name.value
            parent, _, name = target.rpartition(".")
            aliases.append((parent, name, local))
    if not aliases:
        return None
    by_module: dict[str, list] = {}
    for parent, name, local in aliases:
        by_module.setdefault(parent, []).append(
            cst.ImportAlias(cst.Name(name), asname=None if name == local else cst.AsName(cst.Name(local))))
    return cst.FlattenSentinel([cst.ImportFrom(module=cst.parse_expression(parent), names=names)
                                for parent, names in by_module.items()])


def without_torch(node):
    """`import os, torch` -> `import os`; None when nothing but torch is imported."""
    if isinstance(node, cst.ImportFrom):
        return None
    kept = [a for a in node.names if not (dotted(a.name) == "torch" or dotted(a.name).startswith("torch."))]
    if not kept:
        return None
    kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return node.with_changes(names=kept)


def replace_top_level(stmts, top_torch: set, lines: list) -> list:
    """The module body `stmts` without the `top_torch` imports, with the import statements `lines`
    where the first of them stood."""
    body, insert_at, leading = [], None, ()
    for stmt in stmts:
        if isinstance(stmt, cst.SimpleStatementLine) and any(s in top_torch for s in stmt.body):
            rest = [s if s not in top_torch else without_torch(s) for s in stmt.body]
            rest = [s for s in rest if s is not None]
            if rest:
                rest[-1] = rest[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
                body.append(stmt.with_changes(body=rest))
            if insert_at is None:  # our imports go where the first torch import was
                insert_at, leading = len(body), () if rest else stmt.leading_lines
            continue
        body.append(stmt)
    if lines:
        if insert_at is None:
            insert_at = _after_leading_imports(body)
            if insert_at > 0:  # below a docstring or other imports: one blank line above ours
                leading = [cst.EmptyLine()]
            after = insert_at < len(body) and body[insert_at]
            if after is not False and not after.leading_lines and not _is_import_line(after):
                blank = 2 if isinstance(after, (cst.FunctionDef, cst.ClassDef)) else 1
                body[insert_at] = after.with_changes(leading_lines=[cst.EmptyLine()] * blank)
        lines[0] = lines[0].with_changes(leading_lines=leading)
        body[insert_at:insert_at] = lines
    elif insert_at is not None and insert_at < len(body):
        first = body[insert_at]
        merged = [*leading, *first.leading_lines]
        if insert_at == 0:  # the file began with the torch imports: no blank lines on top
            while merged and merged[0].comment is None:
                merged.pop(0)
        body[insert_at] = first.with_changes(leading_lines=merged)
    return body


def _is_import_line(stmt) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)


def _after_leading_imports(body) -> int:
    i = 0
    if body and isinstance(body[0], cst.SimpleStatementLine) and isinstance(body[0].body[0], cst.Expr) \
            and isinstance(body[0].body[0].value, (cst.SimpleString, cst.ConcatenatedString)):
        i = 1  # module docstring
    while i < len(body) and isinstance(body[i], cst.SimpleStatementLine) and \
            all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in body[i].body):
        i += 1
    return i


@functools.lru_cache(maxsize=256)
def statement(line: str) -> cst.BaseStatement:
    """Parsed import line; nodes are immutable, so one parse serves every file (a parse costs ~0.1 ms)."""
    return cst.parse_statement(line)
