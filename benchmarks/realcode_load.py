"""Load one corpus entry of benchmarks/realcode.py twice: the torch original, and its MindSpore conversion.

A corpus entry names a module inside a *root folder* (a package folder such as `timm/layers`, or a
site folder holding whole packages). Both sides import that module as a submodule of a private
package whose `__path__` is the root, so the root's `__init__.py` never runs (timm's imports
torchvision, which does not import beside torch 2.13 CPU) and the module's relative imports find
their sibling files:

- torch side: `_realcode_torch_<hash>.<module>`, the files as they are;
- MindSpore side: `_realcode_ms_<hash>.<module>`, every file of the root that the module imports
  (relative imports, and absolute imports of its own top-level package) converted by
  `codemods.convert_source` and written under `<workdir>/converted/` for inspection. The
  converted code runs even when the converter reported diagnostics: what then fails is reported.

`extract_definitions` builds a self-contained module out of named top-level classes of one file
(for transformers' modeling files, whose shared machinery is not part of this corpus).
"""

from __future__ import annotations

import builtins
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

from backends.mindspore.importer import _AliasLoader

# top-level modules an extracted file may keep importing: the standard library and torch
KEEP_IMPORTS = {"torch", "math", "typing", "collections", "dataclasses", "functools", "itertools", "warnings",
                "enum", "copy", "numbers", "__future__", "abc", "inspect", "contextlib", "operator", "types"}


def _package(prefix: str, root: Path, tag: str = "") -> str:
    key = f"{root.resolve()}\0{tag}".encode()
    name = f"{prefix}_{hashlib.sha256(key).hexdigest()[:12]}"
    if name not in sys.modules:
        pkg = types.ModuleType(name, f"modules of {root}, imported without running its __init__.py")
        pkg.__path__ = [str(root.resolve())] if prefix.endswith("torch") else []
        sys.modules[name] = pkg
    return name


def load_torch_module(root: Path, module: str):
    """The torch original: `module` (dotted, relative to `root`) imported from `root`."""
    return importlib.import_module(f"{_package('_realcode_torch', root)}.{module}")


@dataclass
class Converted:
    """What the MindSpore side converted: file -> diagnostics (codemods Diagnostic objects)."""

    files: dict[str, list] = field(default_factory=dict)

    @property
    def diagnostics(self) -> list:
        return [d for ds in self.files.values() for d in ds]


class _Finder(importlib.abc.MetaPathFinder):
    """Serves `<package>.<rel>` from `root/<rel>.py` converted; `top.<...>` as an alias of `<package>.top.<...>`."""

    def __init__(self, root: Path, top_name: str, package: str, out: Path, record: Converted):
        self.root, self.top_name, self.package, self.out, self.record = root.resolve(), top_name, package, out, record

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.top_name or fullname.startswith(self.top_name + "."):
            return importlib.util.spec_from_loader(fullname, _AliasLoader(f"{self.package}.{fullname}"))
        if not fullname.startswith(self.package + "."):
            return None
        rel = Path(*fullname.split(".")[1:])
        for candidate, is_pkg in ((self.root / rel / "__init__.py", True), (self.root / rel.with_suffix(".py"), False)):
            if candidate.is_file():
                converted = self._convert(candidate)
                loader = importlib.machinery.SourceFileLoader(fullname, str(converted))
                return importlib.util.spec_from_file_location(
                    fullname, converted, loader=loader,
                    submodule_search_locations=[str(converted.parent)] if is_pkg else None)
        return None

    def _convert(self, src: Path) -> Path:
        from codemods import convert_source

        result = convert_source(src.read_text(encoding="utf-8"), str(src), origin=src)
        self.record.files[str(src)] = result.diagnostics
        dst = self.out / src.relative_to(self.root)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(result.code, encoding="utf-8")
        return dst


def load_converted_module(root: Path, module: str, out: Path, tag: str = "") -> tuple[object, Converted]:
    """(the converted module, what was converted). Raises what the import raises; the record is then
    available as `err.converted`. Each `tag` (corpus entry) gets its own converted copies, so every
    entry reports the diagnostics of all the files it uses."""
    package = _package("_realcode_ms", root, tag)
    record = Converted()
    top_name = module.split(".")[0]
    finder = _Finder(root, top_name, package, out, record)
    saved = {k: v for k, v in sys.modules.items() if k == top_name or k.startswith(top_name + ".")}
    for k in saved:  # absolute imports of the module's own package must reach the converted copies
        del sys.modules[k]
    sys.meta_path.insert(0, finder)
    try:
        return importlib.import_module(f"{package}.{module}"), record
    except BaseException as e:
        e.converted = record
        raise
    finally:
        sys.meta_path.remove(finder)
        for k in [k for k in sys.modules if k == top_name or k.startswith(top_name + ".")]:
            del sys.modules[k]
        sys.modules.update(saved)


def extract_definitions(source: str, names: list[str], origin: str) -> str:
    """A module with `names` (top-level classes/functions of `source`) and the top-level definitions they
    use, in file order, plus the file's imports of torch and the standard library. Decorators that
    name anything else (transformers' hub-kernel hooks) are dropped; the code is otherwise verbatim."""
    import libcst as cst

    module = cst.parse_module(source)
    defs = {s.name.value: s for s in module.body if isinstance(s, (cst.ClassDef, cst.FunctionDef))}
    missing = [n for n in names if n not in defs]
    if missing:
        raise ValueError(f"{origin}: no top-level definition {missing}")
    keep, stack = set(), list(names)
    while stack:
        name = stack.pop()
        if name in keep:
            continue
        keep.add(name)
        stack += [n for n in _names_used(defs[name], decorators=False) if n in defs and n not in keep]
    imports, bound = [], set()
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], (cst.Import, cst.ImportFrom)):
            imp = stmt.body[0]
            if isinstance(imp, cst.ImportFrom):
                if imp.relative or imp.module is None:
                    continue
                top = cst.Module([]).code_for_node(imp.module).split(".")[0]
                if top not in KEEP_IMPORTS or isinstance(imp.names, cst.ImportStar):
                    continue
                bound |= {(a.asname.name.value if a.asname else cst.Module([]).code_for_node(a.name)) for a in imp.names}
            else:
                tops = {cst.Module([]).code_for_node(a.name).split(".")[0] for a in imp.names}
                if not tops <= KEEP_IMPORTS:
                    continue
                bound |= {a.asname.name.value if a.asname else cst.Module([]).code_for_node(a.name).split(".")[0]
                          for a in imp.names}
            imports.append(stmt)
    known = bound | keep
    body = []
    for stmt in module.body:
        if isinstance(stmt, (cst.ClassDef, cst.FunctionDef)) and stmt.name.value in keep:
            decorators = [d for d in stmt.decorators if _names_used(d) <= known | set(dir(builtins))]
            body.append(stmt.with_changes(decorators=decorators))
    header = f'"""Extracted by benchmarks/realcode.py from {origin}: {", ".join(names)} (verbatim, decorators of dropped imports removed)."""\n'
    return header + cst.Module(imports + body).code


def _names_used(node, decorators: bool = True) -> set[str]:
    import libcst as cst

    class Names(cst.CSTVisitor):
        def __init__(self):
            self.names = set()

        def visit_Name(self, n):
            self.names.add(n.value)

        def visit_Attribute(self, n):  # `torch.no_grad`: `no_grad` is no name of this module
            n.value.visit(self)
            return False

        def visit_Decorator(self, n):
            return decorators

    v = Names()
    node.visit(v)
    return v.names
