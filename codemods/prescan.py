"""Which nodes the transformer must visit: a fast walk that marks every node on a path to a trigger.

libcst rebuilds every node a transformer enters (and validates it), whether or not anything
changes; on model code that cost ~1.5x parse+print. The converter only acts near *triggers*:
Names bound by a torch import (`torch`, `nn`, `F`), attribute/method/def names a rule or table keys on
(`transpose`, `size`, `forward`, `grad`, ...), imports (they bind names) and class definitions (they
decide which classes are Cells). `needed(module, triggers)` returns the ids of the nodes whose
subtree holds a trigger; `Converter` enters only those, so every other subtree is kept as the very
same object, untouched and unvisited. Whitespace, punctuation and operator fields are never
walked (chosen from libcst's own field type hints).

    needed_ids = needed(module, trigger_names)   # set of id(node); the Module itself included
    needed_ids, local_ids = scan(module, trigger_names)  # also: alias Names that name locals (scopes.py)
    class MyTransformer(SelectiveTransformer): ...  # visit_X/leave_X as usual
    module.visit(MyTransformer(needed_ids))
"""

from __future__ import annotations

import dataclasses
import functools
import typing

import libcst as cst

from codemods.names import dotted
from codemods.scopes import BINDERS, SCOPED, Scopes

# Node types whose content never holds a Name: the walk does not enter fields typed only with these.
_LEAF_BASES = (
    cst.BaseParenthesizableWhitespace, cst.TrailingWhitespace, cst.EmptyLine, cst.Newline, cst.Comment,
    cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket, cst.LeftCurlyBrace,
    cst.RightCurlyBrace, cst.Comma, cst.Dot, cst.Colon, cst.Semicolon, cst.AssignEqual, cst.ImportStar,
    cst.BaseBinaryOp, cst.BaseBooleanOp, cst.BaseCompOp, cst.BaseUnaryOp, cst.BaseAugOp, cst.Asynchronous,
    cst.ParamSlash,
)
# Always entered: imports bind names in traversal order, classes record which names are Cells.
_ALWAYS = (cst.Import, cst.ImportFrom, cst.ClassDef)


def _node_classes(hint) -> list | None:
    """CSTNode classes a field's type hint admits (through Optional/Union/Sequence); None if unknown."""
    if isinstance(hint, type):
        return [hint] if issubclass(hint, cst.CSTNode) else []
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return []
    args = typing.get_args(hint)
    if origin is None or not args:
        return None if hint is not type(None) else []
    out = []
    for a in args:
        classes = _node_classes(a)
        if classes is None:
            return None
        out += classes
    return out


@functools.lru_cache(maxsize=None)
def _fields(cls) -> tuple[str, ...]:
    """Names of the fields of `cls` that may hold a non-leaf node (all fields if the hints are unreadable)."""
    names = [f.name for f in dataclasses.fields(cls)]
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - unreadable hints: walk every field, which is always safe
        return tuple(names)
    keep = []
    for name in names:
        classes = _node_classes(hints.get(name))
        if classes is None or any(not issubclass(c, _LEAF_BASES) for c in classes):
            keep.append(name)
    return tuple(keep)


def torch_binds(node) -> list[str]:
    """Local names an Import/ImportFrom binds to torch (as `Names.record` reads them)."""
    if isinstance(node, cst.Import):
        out = []
        for alias in node.names:
            name = dotted(alias.name)
            if name == "torch" or name.startswith("torch."):
                out.append(alias.asname.name.value if alias.asname else name.split(".")[0])
        return out
    if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
        return []
    module = dotted(node.module)
    if module != "torch" and not module.startswith("torch."):
        return []
    return [a.asname.name.value if a.asname else a.name.value for a in node.names]


def needed(module: cst.Module, triggers: frozenset) -> set[int]:
    """ids of `module` and of every node whose subtree holds an import, a class or a trigger Name."""
    return scan(module, triggers)[0]


def scan(module: cst.Module, triggers: frozenset) -> tuple[set[int], set[int]]:
    """(`needed` ids, ids of torch-alias Names that name a local variable there: see scopes.py).

    `triggers` are the rule-keyed names; the local names of every torch import in the file are
    added (a nested `import torch.nn as nn` binds `nn` for the code after it; marking its earlier
    uses too only costs a visit, which changes nothing).
    """
    aliases = set()
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, (cst.Import, cst.ImportFrom)):
                    aliases.update(torch_binds(small))
    while True:
        out, imports, local = _walk(module, set(triggers) | aliases, aliases)
        bound = {name for node in imports for name in torch_binds(node)}
        if bound <= aliases:
            return out, local
        aliases |= bound  # a nested import binds a new name: mark again with it


def _walk(module: cst.Module, triggers, aliases) -> tuple[set[int], list, set[int]]:
    out: set[int] = {id(module)}
    imports: list = []
    sc = Scopes(aliases)
    name_type, node_type, always, import_types = cst.Name, cst.CSTNode, _ALWAYS, (cst.Import, cst.ImportFrom)
    info_of: dict = {}

    def walk(node) -> bool:
        cls = type(node)
        if cls is name_type:
            if node.value in triggers:
                out.add(id(node))
                if sc.stack:
                    sc.ref(node)
                return True
            return False
        if cls in import_types:
            imports.append(node)
            out.add(id(node))
            if sc.stack:
                sc.bind_import(node, torch_binds(node))
            return True  # the transformer does not enter imports: no need to walk their names
        info = info_of.get(cls)
        if info is None:
            info = info_of[cls] = (_fields(cls), SCOPED.get(cls), BINDERS.get(cls))
        fields, scoped, binder = info
        if scoped is not None:
            hit = scoped(node, walk, out, sc)
        else:
            if binder is not None:
                binder(node, sc)
            hit = isinstance(node, always)
            for f in fields:
                value = getattr(node, f)
                if isinstance(value, node_type):
                    if walk(value):
                        hit = True
                elif isinstance(value, (tuple, list)):
                    for child in value:
                        if isinstance(child, node_type) and walk(child):
                            hit = True
        if hit:
            out.add(id(node))
        return hit

    for stmt in module.body:
        walk(stmt)
    return out, imports, sc.local


class SelectiveTransformer(cst.CSTTransformer):
    """A CSTTransformer that enters only the nodes whose ids are in `needed` (None: every node).

    A node left out is neither rebuilt nor passed to `visit_X`/`leave_X`: its parent keeps the
    same object. Hooks are found once per subclass (a dict keyed by node type), instead of
    libcst's getattr on a formatted name for every node and every field.
    """

    _visit: dict = {}
    _leave: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._visit, cls._leave = _hooks(cls, "visit_"), _hooks(cls, "leave_")

    def __init__(self, needed: set[int] | None = None):
        super().__init__()
        self.needed = needed

    def on_visit(self, node) -> bool:
        if self.needed is not None and id(node) not in self.needed:
            return False
        cls = type(node)
        fn = self._visit.get(cls)
        if fn is not None and fn(self, node) is False:
            return False
        return cls is not cst.Name  # a Name's only children are its parentheses: nothing to rebuild

    def on_leave(self, original, updated):
        if self.needed is not None and id(original) not in self.needed:
            return updated  # never entered: no visit_X ran, so no leave_X either
        fn = self._leave.get(type(original))
        return updated if fn is None else fn(self, original, updated)

    def on_visit_attribute(self, node, attribute) -> None:
        pass  # no visit_<Node>_<field> hooks

    def on_leave_attribute(self, original, attribute) -> None:
        pass


def _hooks(cls, prefix: str) -> dict:
    """node type -> `visit_X` / `leave_X` defined by `cls` or its bases below SelectiveTransformer.

    libcst's typed transformer declares a no-op stub for every node type; those are left out.
    """
    out = {}
    for klass in reversed(cls.__mro__[: cls.__mro__.index(SelectiveTransformer)]):
        for attr, fn in vars(klass).items():
            if attr.startswith(prefix) and attr.count("_") == 1:
                node_type = getattr(cst, attr[len(prefix):], None)
                if isinstance(node_type, type) and issubclass(node_type, cst.CSTNode):
                    out[node_type] = fn
    return out
