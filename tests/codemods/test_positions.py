"""codemods.positions gives every node the start position libcst's PositionProvider gives it, on real
files (this repo's examples and converter, torch.nn modules, and golden fixtures).

    .venv/bin/pytest tests/codemods/test_positions.py
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from conftest import REPO
from codemods.positions import positions, statement_lines

FILES = [REPO / "examples/llama/model.py", REPO / "examples/cnn/model.py", REPO / "codemods/transformer.py",
         *sorted((REPO / "tests/codemods/fixtures").glob("*/*.in.py"))[:12]]
_torch = importlib.util.find_spec("torch")
if _torch is not None:
    nn = Path(_torch.submodule_search_locations[0]) / "nn"
    FILES += [nn / "modules/activation.py", nn / "functional.py"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_same_start_as_position_provider(path):
    module = cst.parse_module(path.read_text(encoding="utf-8"))
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    got = positions(module, list(expected))
    assert set(got) == set(expected)
    wrong = [(type(n).__name__, got[n], (r.start.line, r.start.column)) for n, r in expected.items()
             if got[n] != (r.start.line, r.start.column)]
    assert wrong == []


def test_only_the_nodes_asked_for():
    module = cst.parse_module("import torch\n\n\n@torch.no_grad()\ndef f(x):\n    return torch.stft(x)\n")
    func = module.body[1]
    call = func.body.body[0].body[0].value
    assert positions(module, [call, func]) == {call: (6, 11), func: (5, 0)}  # as PositionProvider: the def line


def test_crlf_and_comments():
    module = cst.parse_module("import torch\r\n# c\r\n\r\nx = torch.zeros(\r\n    2)\r\n")
    stmt = module.body[1]
    call = stmt.body[0].value
    got = positions(module, [stmt, call.args[0]])
    assert got[stmt] == (4, 0) and got[call.args[0]] == (5, 4)


def _top_level_index(module):
    """{node: index of the top-level statement holding it} for every node of `module`."""
    tops = {}

    class Walk(cst.CSTVisitor):
        def __init__(self, i):
            super().__init__()
            self.i = i

        def on_visit(self, node):
            tops[node] = self.i
            return True

    for i, stmt in enumerate(module.body):
        stmt.visit(Walk(i))
    return tops


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_printing_only_the_statements_that_hold_the_nodes_gives_the_same_positions(path):
    source = path.read_text(encoding="utf-8")
    module = cst.parse_module(source)
    tops = _top_level_index(module)
    nodes = list(tops)
    assert statement_lines(module, source) is not None  # the per-statement path, not its fallback
    assert positions(module, nodes, tops, source) == positions(module, nodes)


def test_statement_starts_count_leading_comments_decorators_and_semicolons():
    source = "# head\n\nimport torch; import os\n\n\n# about f\n@a\n# between\n@b(1)\ndef f():\n    pass\nx = 1\n"
    module = cst.parse_module(source)
    tops = _top_level_index(module)
    call = module.body[1].decorators[1].decorator
    assert statement_lines(module, source) == [3, 4, 12]  # "# head" is the module header, not a leading line
    assert positions(module, [call], tops, source) == positions(module, [call]) == {call: (9, 1)}
