"""The selective traversal (codemods/prescan.py) changes nothing: converting while entering only the
marked subtrees gives the same code and diagnostics as entering every node, on every golden input,
the example models and snippets built to trip it (nested imports, subclasses of user Cells,
f-strings, conditional expressions, names shadowing aliases). Also: what it marks and skips."""

import libcst as cst
import pytest

from conftest import REPO
from tests.codemods.goldens import cases, display_name
from codemods import convert_source
from codemods.api import mentions_torch
from codemods.prescan import SelectiveTransformer, needed
from codemods.rules import load_all
from codemods.tables import load_tables
from codemods.transformer import Converter

TRICKY = {
    "nested_import_binds_later_names": (
        "import os\n\ndef f(x):\n    y = F.relu(x)\n    import torch.nn.functional as F\n    return F.silu(y)\n\n"
        "def g(x):\n    return F.gelu(x).transpose(0, 1)\n"
    ),
    "user_cell_subclass": (
        "import torch.nn as nn\n\nclass Base(nn.Module):\n    pass\n\nclass Mid(Base):\n    x = 1\n\n"
        "class Leaf(Mid):\n    def forward(self, x):\n        return x\n"
    ),
    "fstring_and_ifexp": (
        "import torch\n\ndef f(x, c):\n    print(f\"{x.size(0)} {x.detach()!r:>10}\")\n"
        "    return x.transpose(0, 1) if c else torch.zeros(2, 3)\n"
    ),
    "alias_shadowed_names": (
        "import torch as th\nimport numpy as np\n\ndef f(th2, nn=None, **kw):\n    th = 3\n    np.split(th2, 2)\n"
        "    return dict(th=th, grad=kw.get('grad')).items()\n\nclass nn: pass\n"
    ),
    "no_grad_and_training": (
        "import torch\n\n@torch.no_grad()\ndef ev(m, x):\n    m.eval()\n    with torch.no_grad(), open('f') as fh:\n"
        "        y = m(x).cpu()\n    return y\n\ndef tr(m, opt, x):\n    m.train()\n    loss = m(x)\n    loss.backward()\n"
        "    opt.zero_grad()\n    for p in m.parameters():\n        print(p.grad)\n        p.data.normal_(0, 0.02)\n"
        "    torch.save(m.state_dict(), 'm.ckpt')\n    model = torch.compile(m)\n    model.cuda()\n"
    ),
    "lambda_comprehension_match": (
        "import torch\n\nf = lambda x: x.chunk(2)\nys = [t.clone() for t in torch.ones(3).unbind(0) if t.size(0)]\n"
        "match ys:\n    case [a, *_]:\n        a.to('cuda')\n    case _:\n        pass\n"
    ),
}


def _full(source: str, filename: str):
    """Convert entering every node: the reference the selective traversal must equal."""
    load_all()
    module = cst.parse_module(source)
    converter = Converter(load_tables(), filename, None, needed=None)
    code = module.visit(converter).code
    return code, [d.format() for d in converter.diagnostics(module)]


def _inputs():
    for case in cases():
        yield display_name(case), case.read_text(encoding="utf-8")
    for model in ("llama", "gpt2", "cnn"):
        yield f"examples/{model}", (REPO / "examples" / model / "model.py").read_text(encoding="utf-8")
    yield from TRICKY.items()
    for snippet in sorted((REPO / "tests" / "codemods" / "tricky").glob("*.py")):  # test_tricky_snippets.py
        yield f"tricky/{snippet.name}", snippet.read_text(encoding="utf-8")


INPUTS = dict(_inputs())


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_selective_equals_full_traversal(name):
    source = INPUTS[name]
    result = convert_source(source, name)
    if not mentions_torch(source) or any(d.code == "MB001" for d in result.diagnostics):
        return  # never parsed: nothing to traverse
    assert (result.code, [d.format() for d in result.diagnostics]) == _full(source, name)


def test_marks_only_paths_to_triggers():
    module = cst.parse_module("import torch\n\nx = 1 + 2\ny = torch.zeros(2)\nz = w.size()\n")
    marked = needed(module, frozenset({"size"}))
    imp, plain, torch_line, method_line = module.body
    assert {id(module), id(imp), id(torch_line), id(method_line)} <= marked
    assert id(plain) not in marked
    assert id(torch_line.body[0].value.args[0]) not in marked  # the argument `2` holds no trigger


def test_nested_import_names_become_triggers():
    module = cst.parse_module("def f():\n    return F.relu(1)\n\ndef g():\n    import torch.nn.functional as F\n")
    assert id(module.body[0]) in needed(module, frozenset())


def test_skipped_subtrees_are_the_same_objects():
    class Upper(SelectiveTransformer):
        def leave_Name(self, original, updated):
            return updated.with_changes(value=updated.value.upper())

    module = cst.parse_module("a = b\nc = torch\n")
    new = module.visit(Upper(needed(module, frozenset({"torch"}))))
    assert new.code == "a = b\nc = TORCH\n" and new.body[0] is module.body[0]


def _local_names(source: str) -> list[tuple[int, str]]:
    """(line, name) of every alias Name that `scan` resolves to a local variable."""
    from libcst.metadata import MetadataWrapper, PositionProvider

    from codemods.prescan import scan

    wrapper = MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
    _, local = scan(wrapper.module, frozenset())
    positions = wrapper.resolve(PositionProvider)
    return sorted((positions[n].start.line, n.value) for n in positions if isinstance(n, cst.Name) and id(n) in local)


def test_scan_follows_python_scopes():
    source = (
        "import torch.nn.functional as F\n"            # 1
        "def f(x):\n"                                   # 2
        "    y = F(x)\n"                                # 3  local: F assigned below
        "    F = 1\n"                                   # 4
        "    def g():\n"                                # 5
        "        return F\n"                            # 6  f's local
        "    def h():\n"                                # 7
        "        global F\n"                            # 8
        "        return F\n"                            # 9  the alias
        "    return [F for F in x], y\n"                # 10 comprehension's own F
        "def k(x):\n"                                   # 11
        "    z = [(F := t) for t in x]\n"               # 12 walrus binds in k
        "    return F\n"                                # 13 local
        "class C:\n"                                    # 14
        "    F = 2\n"                                   # 15
        "    w = F\n"                                   # 16 class-body local
        "    def m(self, a=F):\n"                       # 17 default: read in the class body
        "        return F\n"                            # 18 the alias
    )
    assert _local_names(source) == [(3, "F"), (4, "F"), (6, "F"), (10, "F"), (10, "F"), (12, "F"),
                                    (13, "F"), (15, "F"), (16, "F"), (17, "F")]
