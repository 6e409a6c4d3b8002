"""Line/column of the reported nodes, without libcst's MetadataWrapper: one token-free codegen pass.

`MetadataWrapper(module).resolve(PositionProvider)` walks the whole tree once more for its batched
visitors (PositionProvider has none), then runs a codegen that keeps every token and stores a
`CodeRange` of two `CodePosition` dataclasses for every node, each through a generator-based
context manager. On transformers' modeling files, where most files have a diagnostic, that was
~40% of the converter's time (cProfile). `positions()` runs the same codegen with a state that keeps
no tokens, tracks only (line, column), and records only the nodes asked for; for all others the
syntactic-position hook is one shared no-op context manager. The start it gives a node is the one
PositionProvider gives (syntactic: leading whitespace and comments excluded);
tests/codemods/test_positions.py compares both on every node of real files.

    from codemods.positions import positions
    where = positions(module, reported_nodes)   # {node: (line, column)}, line 1-based, column 0-based
    where = positions(module, reported_nodes, tops, source)  # tops: {node: index in module.body}
"""

from __future__ import annotations

import ast

import libcst as cst
from libcst._nodes.internal import CodegenState


class _Nothing:
    __slots__ = ()

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


_NOTHING = _Nothing()


class _Record:
    """Syntactic start of one wanted node: where its record_syntactic_position block begins, or the
    start of `start_node` (libcst's IndentedBlock-like nodes hoist it from their first child)."""

    __slots__ = ("state", "node", "start_node")

    def __init__(self, state, node, start_node):
        self.state, self.node, self.start_node = state, node, start_node

    def __enter__(self):
        s = self.state
        if self.start_node is None:
            s.found[self.node] = (s.line, s.column)
        else:
            s.wanted.add(self.start_node)

    def __exit__(self, *exc):
        if self.start_node is not None:
            s = self.state
            s.found[self.node] = s.found.get(self.start_node, s.before.get(self.start_node, (0, 0)))
        return False


class _State(CodegenState):
    def __init__(self, module: cst.Module, wanted):
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.line, self.column = 1, 0
        self.wanted = set(wanted)
        self.before: dict = {}  # whitespace-inclusive start (before_codegen), the fallback
        self.found: dict = {}  # syntactic start, where the node records one

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self._advance(token)

    def add_token(self, value: str) -> None:
        self._advance(value)

    def _advance(self, value: str) -> None:
        if "\n" not in value and "\r" not in value:
            self.column += len(value)
            return
        lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.line += len(lines) - 1
        self.column = len(lines[-1])

    def pop_trailing_newline(self) -> None:
        pass  # no tokens kept

    def before_codegen(self, node) -> None:
        if node in self.wanted and node not in self.before:
            self.before[node] = (self.line, self.column)

    def record_syntactic_position(self, node, *, start_node=None, end_node=None):
        if node not in self.wanted or node in self.found:
            return _NOTHING
        return _Record(self, node, start_node)


def positions(module: cst.Module, nodes, tops: dict | None = None, source: str | None = None
              ) -> dict[cst.CSTNode, tuple[int, int]]:
    """{node: (line, column)} for each of `nodes` found in `module`: where PositionProvider's range starts.

    With `tops` ({node: index of the top-level statement of module.body that holds it}) and the
    module's `source`, only those statements are printed, each from its first line, which `ast`
    gives (a class that holds one diagnostic no longer costs printing the whole file)."""
    nodes = list(nodes)
    starts = statement_lines(module, source) if tops is not None and source is not None else None
    if starts is None or any(tops.get(n) is None for n in nodes):
        return _positions(module, module, nodes, 1)
    out: dict = {}
    for i in sorted({tops[n] for n in nodes}):
        out.update(_positions(module, module.body[i], [n for n in nodes if tops[n] == i], starts[i]))
    lost = [n for n in nodes if n not in out]  # not inside the statement it was reported in: print it all
    if lost:
        out.update(_positions(module, module, lost, 1))
    return out


def _positions(module: cst.Module, root: cst.CSTNode, nodes, first_line: int) -> dict:
    state = _State(module, nodes)
    state.line = first_line
    root._codegen(state)
    out = dict(state.before)
    out.update(state.found)
    return {n: out[n] for n in nodes if n in out}


def statement_lines(module: cst.Module, source: str) -> list[int] | None:
    """The line each top-level statement's code starts on (its leading blank/comment lines included),
    from `ast`; None when ast's statements do not pair up with libcst's."""
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    starts, k = [], 0
    for stmt in module.body:
        if k >= len(body):
            return None
        node = body[k]
        k += len(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else 1
        first, lead = node.lineno, len(stmt.leading_lines)
        decorators = getattr(stmt, "decorators", ())
        if decorators:
            if not getattr(node, "decorator_list", None):
                return None
            first = min(first, *(d.lineno for d in node.decorator_list))
            lead += len(decorators[0].leading_lines)
        starts.append(first - lead)
    return starts if k == len(body) else None
