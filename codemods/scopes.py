"""Which uses of a torch alias name a local variable instead: Python's scope rule, lightly.

`prescan._walk` calls into this file while it walks the tree once, so scope analysis costs no
second pass (libcst's ScopeProvider would cost several times parse+print). Inside a function,
lambda or comprehension, a torch alias name (`th`, `F`, `nn`) that the scope binds -- parameter,
assignment / augmented / annotated target (tuple unpacking included), for / with-as / except-as /
comprehension / match target, walrus, `del`, nested def/class name, non-torch import -- and does
not declare `global`/`nonlocal` is a local in the *whole* scope, and in nested functions that do
not rebind or declare it. Names bound in a class body are local to that body only (not to its
methods). Module-level rebinding (`F = other`) is not tracked: the name stays the alias.
Decorators, defaults, annotations, bases and a comprehension's first iterable are read in the
enclosing scope, as Python reads them. Only names in `aliases` are tracked.

    sc = Scopes(aliases)      # prescan drives push/pop/bind/ref while walking
    sc.local                  # ids of alias Name nodes that name a local
"""

from __future__ import annotations

import libcst as cst

from codemods.names import dotted

FUNC, CLASS, COMP = 0, 1, 2


class _Scope:
    __slots__ = ("kind", "locals", "globals", "nonlocals", "refs")

    def __init__(self, kind: int):
        self.kind = kind
        self.locals: set[str] = set()
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()
        self.refs: dict[str, list[int]] = {}  # alias name -> ids of its Name nodes in this scope


class Scopes:
    def __init__(self, aliases):
        self.aliases = aliases
        self.stack: list[_Scope] = []  # empty at module level
        self.local: set[int] = set()

    def push(self, kind: int) -> None:
        self.stack.append(_Scope(kind))

    def pop(self) -> None:
        """Resolve the scope's uses: local ones are recorded, free ones go to the enclosing function."""
        s = self.stack.pop()
        parent = next((p for p in reversed(self.stack) if p.kind != CLASS), None)  # class bodies are skipped
        for name, ids in s.refs.items():
            if name in s.globals:
                continue
            if name in s.locals and name not in s.nonlocals:
                self.local.update(ids)
            elif parent is not None:
                parent.refs.setdefault(name, []).extend(ids)

    def ref(self, node: cst.Name) -> None:
        if self.stack and node.value in self.aliases:
            self.stack[-1].refs.setdefault(node.value, []).append(id(node))

    def bind(self, name: str) -> None:
        if self.stack and name in self.aliases:
            self.stack[-1].locals.add(name)

    def bind_target(self, node) -> None:
        if type(node) is cst.Name:
            self.bind(node.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                self.bind_target(element.value)
        elif isinstance(node, cst.StarredElement):
            self.bind_target(node.value)

    def bind_import(self, node, torch_locals: list[str]) -> None:
        """A non-torch import inside a function binds a local; a torch import binds the alias."""
        if not self.stack or isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            local = alias.asname.name.value if alias.asname else dotted(alias.name)
            local = local.split(".")[0]
            if local not in torch_locals:
                self.bind(local)

    def declare(self, names, into: str) -> None:
        if self.stack:
            getattr(self.stack[-1], into).update(n.name.value for n in names)


# -- binders: record what a node binds, then the walk enters its fields as usual --------------
def _walrus(node, sc: Scopes) -> None:
    if type(node.target) is cst.Name and node.target.value in sc.aliases:
        for s in reversed(sc.stack):  # PEP 572: a walrus in a comprehension binds in the enclosing scope
            if s.kind != COMP:
                s.locals.add(node.target.value)
                return


def _as_name(node, sc: Scopes) -> None:
    if node.name is not None:
        sc.bind_target(node.name.name)


def _with_item(node, sc: Scopes) -> None:
    if node.asname is not None:
        sc.bind_target(node.asname.name)


def _match_name(node, sc: Scopes) -> None:
    if node.name is not None:
        sc.bind(node.name.value)


BINDERS = {
    cst.AssignTarget: lambda n, sc: sc.bind_target(n.target),
    cst.AugAssign: lambda n, sc: sc.bind_target(n.target),
    cst.AnnAssign: lambda n, sc: sc.bind_target(n.target),
    cst.For: lambda n, sc: sc.bind_target(n.target),
    cst.CompFor: lambda n, sc: sc.bind_target(n.target),
    cst.Del: lambda n, sc: sc.bind_target(n.target),
    cst.NamedExpr: _walrus,
    cst.WithItem: _with_item,
    cst.ExceptHandler: _as_name,
    cst.ExceptStarHandler: _as_name,
    cst.MatchAs: _match_name,
    cst.MatchStar: _match_name,
    cst.MatchMapping: lambda n, sc: n.rest is not None and sc.bind(n.rest.value),
    cst.Global: lambda n, sc: sc.declare(n.names, "globals"),
    cst.Nonlocal: lambda n, sc: sc.declare(n.names, "nonlocals"),
}


# -- scoped nodes: walk(child) -> bool marks a subtree; these return whether the node holds a trigger
def _params(params: cst.Parameters, walk, out: set, sc: Scopes, outer_hits=None) -> bool:
    """Without outer_hits: walk annotations and defaults (enclosing scope), return per-param hits.
    With them: bind and walk the names (function scope), mark the hit params, return any hit."""
    plist = [*params.posonly_params, *params.params, *params.kwonly_params]
    if isinstance(params.star_arg, cst.Param):
        plist.append(params.star_arg)
    if params.star_kwarg is not None:
        plist.append(params.star_kwarg)
    if outer_hits is None:
        hits = []
        for p in plist:
            h = p.annotation is not None and walk(p.annotation)
            if p.default is not None and walk(p.default):
                h = True
            hits.append(h)
        return hits
    any_hit = False
    for p, h in zip(plist, outer_hits):
        sc.bind(p.name.value)
        if walk(p.name) or h:
            out.add(id(p))
            any_hit = True
    if any_hit:
        out.add(id(params))
    return any_hit


def _function(node, walk, out: set, sc: Scopes) -> bool:
    hit = False
    for d in node.decorators:
        hit = walk(d) or hit
    sc.bind(node.name.value)
    hit = walk(node.name) or hit
    outer = _params(node.params, walk, out, sc)
    if node.returns is not None:
        hit = walk(node.returns) or hit
    sc.push(FUNC)
    hit = _params(node.params, walk, out, sc, outer) or hit
    if node.type_parameters is not None:
        hit = walk(node.type_parameters) or hit
    hit = walk(node.body) or hit
    sc.pop()
    return hit


def _lambda(node, walk, out: set, sc: Scopes) -> bool:
    outer = _params(node.params, walk, out, sc)
    sc.push(FUNC)
    hit = _params(node.params, walk, out, sc, outer)
    hit = walk(node.body) or hit
    sc.pop()
    return hit


def _class(node, walk, out: set, sc: Scopes) -> bool:
    for part in (*node.decorators, *node.bases, *node.keywords):
        walk(part)
    sc.bind(node.name.value)
    walk(node.name)
    sc.push(CLASS)
    if node.type_parameters is not None:
        walk(node.type_parameters)
    walk(node.body)
    sc.pop()
    return True  # classes are always entered (they decide which classes are Cells)


def _comprehension(node, walk, out: set, sc: Scopes) -> bool:
    first = node.for_in
    hit_for = walk(first.iter)  # the first iterable is read in the enclosing scope
    sc.push(COMP)
    sc.bind_target(first.target)
    hit_for = walk(first.target) or hit_for
    for cond in first.ifs:
        hit_for = walk(cond) or hit_for
    if first.inner_for_in is not None:
        hit_for = walk(first.inner_for_in) or hit_for
    if hit_for:
        out.add(id(first))
    hit = hit_for
    for part in (node.key, node.value) if type(node) is cst.DictComp else (node.elt,):
        hit = walk(part) or hit
    sc.pop()
    return hit


SCOPED = {
    cst.FunctionDef: _function,
    cst.Lambda: _lambda,
    cst.ClassDef: _class,
    cst.ListComp: _comprehension,
    cst.SetComp: _comprehension,
    cst.GeneratorExp: _comprehension,
    cst.DictComp: _comprehension,
}
