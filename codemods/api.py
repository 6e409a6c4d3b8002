"""The converter as a library call: `convert_source(text) -> ConversionResult`.

    from codemods import convert_source
    result = convert_source(open("model.py").read(), "model.py")
    print(result.code); [print(d.format()) for d in result.diagnostics]
"""

from __future__ import annotations

import ast

import functools
import hashlib
import re
from pathlib import Path

import libcst as cst

from codemods.diagnostics import ConversionResult, Diagnostic
from codemods.rules import EMITS, RULES, load_all
from codemods.star_imports import with_inherited_imports
from codemods.tables import load_tables

# The release of the converter's behaviour, for people; caches key on `fingerprint()`, which changes
# with any edit of a rule or table even when nobody bumps this.
CONVERTER_VERSION = "1.2.0"


@functools.lru_cache(maxsize=1)
def fingerprint() -> str:
    """SHA-256 of the converter itself: every .py and .yaml file of this package (rules, tables, engine)."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256(CONVERTER_VERSION.encode())
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".yaml") and "__pycache__" not in p.parts):
        digest.update(f"\0{path.relative_to(root).as_posix()}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


_TORCH_IMPORT = re.compile(r"(?:^|;)[ \t]*(?:import|from)[ \t]+(?:torch|einops)\b|^[ \t]*import[ \t].*[ ,](?:torch|einops)\b",
                           re.M)
# Bytes without which a file cannot need converting (the CLI copies others unread by the parser):
# torch itself, einops (codemods/einops_imports.py), a star import (torch aliases from a sibling).
NEEDLES = (b"torch", b"einops", b"import *")


def may_need_conversion(data: bytes) -> bool:
    return any(needle in data for needle in NEEDLES)


def mentions_torch(source: str) -> bool:
    """Cheap pre-filter: does the file import torch (or einops) at all? (Others are returned untouched, unparsed.)"""
    return ("torch" in source or "einops" in source) and _TORCH_IMPORT.search(source) is not None


def convert_source(source: str, filename: str = "<string>", select: list[str] | None = None,
                   origin: Path | None = None) -> ConversionResult:
    """Convert torch source to MindSpore source. Files that never say "torch" are not parsed.

    `origin`, the file's location on disk, lets relative star imports (`from .layers import *`)
    bring in the torch aliases their siblings bind (codemods/star_imports.py).
    """
    original = source
    source = with_inherited_imports(source, origin)
    if not mentions_torch(source):
        return ConversionResult(original, False, [])
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as e:
        diag = Diagnostic(filename, e.raw_line, e.raw_column + 1, "MB001", "syntax",
                          f"cannot parse: {e.message}", "file copied unchanged")
        return ConversionResult(original, False, [diag])
    except RecursionError:
        return ConversionResult(original, False, [Diagnostic(filename, 1, 1, "MB001", "syntax",
                                                           "cannot parse: nesting too deep", "file copied unchanged")])
    load_all()
    from codemods.prescan import scan
    from codemods.transformer import Converter

    tables = load_tables()
    marked, local = scan(module, Converter.triggers(tables))
    converter = Converter(tables, filename, select, marked, local)
    new = module.visit(converter)
    code = new.code
    try:  # a safety net, not a rule: output that does not parse would fail far from its cause
        ast.parse(code, filename)
    except SyntaxError as e:
        return ConversionResult(original, False, [Diagnostic(
            filename, 1, 1, "MB009", "converter", f"the converted code would not parse (line {e.lineno}: {e.msg})",
            "file left unconverted; please report this converter bug")])
    return ConversionResult(code, code != original, converter.diagnostics(module, source))


def warm() -> None:
    """Load the tables and rule modules now (the CLI calls it before forking its workers)."""
    load_all()
    load_tables()
    import codemods.prescan  # noqa: F401
    import codemods.transformer  # noqa: F401


def emitted_names() -> set[str]:
    """Every fully qualified MindSpore name the converter can write (tables + structural rules)."""
    load_all()
    tables = load_tables()
    names = {e.to for e in tables.calls.values() if e.to and "." in e.to}
    names |= {m for m in tables.modules.values() if m}
    names |= {e.to for e in tables.methods.values() if e.to}
    names |= {f"mindspore.Tensor.{m}" for m in tables.kept_methods}
    names |= set(EMITS)
    return names


def rule_codes() -> dict[str, str]:
    """code -> one-line summary, for docs and --select validation."""
    load_all()
    codes = {code: rule.summary for code, rule in RULES.items()}
    for code, family in load_tables().families.items():
        codes.setdefault(code, f"mapping table: {family}")
    return dict(sorted(codes.items()))
