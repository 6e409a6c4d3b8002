"""API coverage of the converter: `python -m codemods.convert --list-apis [PATH...]`.

Without paths: for each torch module (torch, torch.nn, torch.nn.functional, ..., Tensor methods),
how many names the converter's tables and rules translate, how many the tables mark unsupported
(with their reasons), and, when torch is installed, how many public names that module has. With
paths: which torch APIs those files use (a static scan: torch names reached through the file's
torch imports, whatever the alias, and `x.<name>(...)` calls of names that are Tensor methods), how
many of the used names are translated, and the others by number of uses.

What counts as translated mirrors codemods/references.py: a table entry with a target (also for a
longer name under a mapped prefix, `nn.Module.__init__`), a call/wrapper rule, a module alias
(modules.yaml); for methods, methods.yaml (functions, varargs, kept) and the method/attribute rules.
A Tensor method in none of those is passed through unchanged: it is listed as "not listed", since
it works only where MindSpore's Tensor has the same method with the same meaning. The converter's
own report (`--report`) stays the authority for one conversion; this is an inventory.
"""

from __future__ import annotations

import ast
import collections
import importlib
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

from codemods.rules import ATTRIBUTE_RULES, CALL_RULES, METHOD_RULES, WRAPPER_RULES, load_all
from codemods.tables import load_tables

TENSOR = "Tensor"  # the group of Tensor methods
# Groups, longest first: a qualified name belongs to the first module it lies under.
MODULES = ("torch.nn.functional", "torch.nn.init", "torch.nn.utils", "torch.nn", "torch.optim.lr_scheduler",
           "torch.optim", "torch.linalg", "torch.fft", "torch.special", "torch.cuda", "torch.autograd",
           "torch.utils.data", "torch.utils", "torch.distributed", "torch.distributions", "torch.jit", "torch.amp",
           "torch.backends", "torch")
SKIP_DIRS = {"__pycache__", ".git", ".venv", "venv", ".tox"}


def group_of(qualified: str) -> str:
    for m in MODULES:
        if qualified == m or qualified.startswith(m + "."):
            return m if qualified != m or m == "torch" else m.rsplit(".", 1)[0]
    return qualified.rsplit(".", 1)[0]


@dataclass
class Status:
    translated: bool
    how: str  # "table", "rule", "module", "methods.yaml", "kept", "unsupported", "no mapping", "not listed"
    reason: str = ""


class Catalog:
    """What the converter knows, from its tables and rule registries."""

    def __init__(self):
        load_all()
        self.t = load_tables()
        self.method_names = (set(self.t.methods) | set(self.t.varargs_methods) | set(self.t.kept_methods)
                             | set(METHOD_RULES) | set(ATTRIBUTE_RULES))

    def status(self, qualified: str) -> Status:
        if qualified.startswith(TENSOR + "."):
            name = qualified[len(TENSOR) + 1:]
            method = self.t.methods.get(name)
            if method is not None and method.unsupported:
                return Status(False, "unsupported", method.unsupported)
            if name in self.t.kept_methods:
                return Status(True, "kept")
            if name in self.method_names:
                return Status(True, "methods.yaml" if name in self.t.methods or name in self.t.varargs_methods
                              else "rule")
            return Status(False, "not listed", "passed through as a MindSpore Tensor method of the same name")
        entry = self.t.calls.get(qualified)
        if entry is None:
            parts = qualified.split(".")
            for i in range(len(parts) - 1, 1, -1):
                prefix = self.t.calls.get(".".join(parts[:i]))
                if prefix is not None and prefix.to:
                    return Status(True, "table")
                if prefix is not None and prefix.unsupported:  # torch.masked: every member
                    return Status(False, "unsupported", prefix.unsupported)
        if entry is not None and entry.to:
            return Status(True, "table")
        if qualified in CALL_RULES or qualified in WRAPPER_RULES:
            return Status(True, "rule")
        if self.t.modules.get(qualified):
            return Status(True, "module")
        if qualified in self.t.modules:  # mapped to null: a module reached only through rules
            return Status(True, "module")
        if entry is not None and entry.unsupported:
            return Status(False, "unsupported", entry.unsupported)
        return Status(False, "no mapping")

    def known(self) -> dict[str, Status]:
        """Every name the tables and registries mention, with its status."""
        names = set(self.t.calls) | set(CALL_RULES) | set(WRAPPER_RULES)
        names |= {f"{TENSOR}.{m}" for m in self.method_names}
        return {n: self.status(n) for n in sorted(names)}


def torch_public_names() -> dict[str, set[str]] | None:
    """group -> public names of that torch module (installed torch), or None without torch."""
    if importlib.util.find_spec("torch") is None:
        return None
    import types

    import torch

    import warnings

    out = {}
    warnings.simplefilter("ignore")  # deprecated aliases warn when touched
    for m in MODULES:
        try:
            mod = importlib.import_module(m)
        except Exception:  # noqa: BLE001 -- a module this torch build lacks
            continue
        out[m] = {f"{m}.{n}" for n in dir(mod) if not n.startswith("_")
                  and not isinstance(getattr(mod, n, None), types.ModuleType)}
    out[TENSOR] = {f"{TENSOR}.{n}" for n in dir(torch.Tensor) if not n.startswith("_")}
    return out


# ---------------------------------------------------------------------------------------------- usage
class _Uses(ast.NodeVisitor):
    def __init__(self, tensor_methods: set[str]):
        self.aliases: dict[str, str] = {}
        self.counts: collections.Counter = collections.Counter()
        self.tensor_methods = tensor_methods
        self.other: set[str] = set()

    def visit_Import(self, node):
        for a in node.names:
            if a.name == "torch" or a.name.startswith("torch."):
                self.aliases[a.asname or "torch"] = a.name if a.asname else "torch"
            else:
                self.other.add(a.asname or a.name.split(".")[0])

    def visit_ImportFrom(self, node):
        mod = node.module or ""
        if node.level == 0 and (mod == "torch" or mod.startswith("torch.")):
            for a in node.names:
                if a.name != "*":
                    self.aliases[a.asname or a.name] = f"{mod}.{a.name}"
        else:
            self.other.update(a.asname or a.name for a in node.names)

    def _qualify(self, node) -> str | None:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.aliases:
            return ".".join([self.aliases[node.id], *reversed(parts)])
        return None

    def visit_Attribute(self, node):
        q = self._qualify(node)
        if q is not None:
            if q not in MODULES:  # a module itself (`torch.nn` passed around) is no API use
                self.counts[q] += 1
            return  # the longest chain only: `torch.nn.functional.relu`, not also `torch.nn`
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in self.aliases and isinstance(node.ctx, ast.Load) and self.aliases[node.id] not in MODULES:
            self.counts[self.aliases[node.id]] += 1

    def visit_Call(self, node):
        f = node.func
        if isinstance(f, ast.Attribute) and self._qualify(f) is None and f.attr in self.tensor_methods:
            base = f.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if not (isinstance(base, ast.Name) and base.id in self.other) and not isinstance(f.value, ast.Constant):
                self.counts[f"{TENSOR}.{f.attr}"] += 1
        self.generic_visit(node)


def _py_files(paths) -> list[Path]:
    files = []
    for p in map(Path, paths):
        if p.is_file():
            files.append(p)
            continue
        for dirpath, dirnames, filenames in os.walk(p):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            files += [Path(dirpath) / f for f in sorted(filenames) if f.endswith(".py")]
    return files


def scan(paths, tensor_methods: set[str]) -> tuple[collections.Counter, int, list[str]]:
    """(uses per qualified torch API, files scanned, files that do not parse)."""
    total: collections.Counter = collections.Counter()
    n, bad = 0, []
    for path in _py_files(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            bad.append(str(path))
            continue
        if "torch" not in text:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            bad.append(str(path))
            continue
        n += 1
        v = _Uses(tensor_methods)
        v.visit(tree)
        if v.aliases:
            total.update(v.counts)
    return total, n, bad


# ---------------------------------------------------------------------------------------------- report
def table_report(cat: Catalog, public: dict | None) -> list[str]:
    known = cat.known()
    by_group: dict[str, dict[str, Status]] = collections.defaultdict(dict)
    for name, st in known.items():
        by_group[TENSOR if name.startswith(TENSOR + ".") else group_of(name)][name] = st
    groups = [g for g in (*MODULES, TENSOR) if g in by_group or (public and public.get(g))]
    lines = ["## Converter tables by torch module", "",
             "| module | translated | of which table / rule / kept | unsupported (reason given) | public names in "
             "installed torch | translated of those |", "|---|---|---|---|---|---|"]
    tot = collections.Counter()
    for g in groups:
        sts = by_group.get(g, {})
        tr = [n for n, s in sts.items() if s.translated]
        hows = collections.Counter(s.how for s in sts.values() if s.translated)
        uns = [n for n, s in sts.items() if s.how == "unsupported"]
        pub = public.get(g, set()) if public else set()
        covered = sum(1 for n in pub if cat.status(n).translated) if pub else 0
        tot.update(translated=len(tr), unsupported=len(uns), public=len(pub), covered=covered)
        split = " / ".join(str(hows.get(k, 0)) for k in ("table", "rule")) + \
            (f" / {hows.get('kept', 0) + hows.get('methods.yaml', 0)}" if g == TENSOR else "")
        lines.append(f"| {g} | {len(tr)} | {split} | {len(uns)} | {len(pub) if pub else '-'} | "
                     f"{covered if pub else '-'} |")
    lines.append(f"| **all** | **{tot['translated']}** | | **{tot['unsupported']}** | {tot['public'] or '-'} | "
                 f"{tot['covered'] or '-'} |")
    uns = [(n, s.reason) for n, s in known.items() if s.how == "unsupported"]
    if uns:
        lines += ["", "Unsupported, with the tables' reasons:", ""]
        lines += [f"- `{n}`: {r}" for n, r in uns]
    return lines


def usage_report(cat: Catalog, paths, public: dict | None, top: int = 40) -> list[str]:
    tensor_methods = set(public[TENSOR]) if public else {f"{TENSOR}.{m}" for m in cat.method_names}
    counts, n_files, bad = scan(paths, {m.split(".", 1)[1] for m in tensor_methods})
    by_group: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for name, c in counts.items():
        by_group[TENSOR if name.startswith(TENSOR + ".") else group_of(name)][name] = c
    lines = [f"## torch APIs used in {', '.join(map(str, paths))}", "",
             f"{n_files} files import torch; {len(counts)} distinct APIs, {sum(counts.values())} uses"
             + (f"; {len(bad)} files unreadable or unparsable" if bad else ""), "",
             "| module | APIs used | translated | not translated | uses not translated |", "|---|---|---|---|---|"]
    unmapped: collections.Counter = collections.Counter()
    why = {}
    for g in sorted(by_group, key=lambda g: -sum(by_group[g].values())):
        c = by_group[g]
        sts = {n: cat.status(n) for n in c}
        missing = [n for n, s in sts.items() if not s.translated]
        for n in missing:
            unmapped[n] = c[n]
            why[n] = sts[n].how + (f": {sts[n].reason}" if sts[n].reason and sts[n].how == "unsupported" else "")
        lines.append(f"| {g} | {len(c)} | {len(c) - len(missing)} | {len(missing)} | {sum(c[n] for n in missing)} |")
    lines += ["", f"Not translated, by uses (top {top}):", "", "| API | uses | status |", "|---|---|---|"]
    lines += [f"| `{n}` | {c} | {why[n]} |" for n, c in unmapped.most_common(top)]
    return lines


def main(paths) -> int:
    cat = Catalog()
    public = torch_public_names()
    lines = table_report(cat, public)
    if paths:
        lines += [""] + usage_report(cat, paths, public)
    print("\n".join(lines))
    return 0
