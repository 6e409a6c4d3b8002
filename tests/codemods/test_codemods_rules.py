"""The rule registries (codemods/rules/__init__.py): a structural rule runs under its own code only
(--select), the names rules key on are prescan triggers, and the transformer only dispatches."""

import pytest

from conftest import REPO
from codemods import convert_source
from codemods.rules import ATTRIBUTE_RULES, DEF_RULES, METHOD_RULES, WRAPPER_RULES, load_all
from codemods.tables import load_tables
from codemods.transformer import Converter

CELL = "import torch.nn as nn\n\nclass M(nn.Module):\n"
# name -> (code, source, text the rule writes or reports, text left when the rule is not selected)
CASES = {
    "def forward in a Cell": ("MB102", CELL + "    def forward(self, x):\n        return x\n",
                              "def construct(self, x)", "def forward(self, x)"),
    "forward attribute": ("MB102", "import torch\n\nstep = model.forward\n", "step = model.construct",
                          "step = model.forward"),
    "grad attribute": ("MB403", "import torch\n\ng = p.grad\n", "g = compat_train.grad(p)", "g = p.grad"),
    "with no_grad": ("MB404", "import torch\n\nx = 0\nwith torch.no_grad():\n    y = 1\n", "x = 0\ny = 1\n",
                     "with torch.no_grad():"),
    "no_grad decorator": ("MB404", "import torch\n\nx = 0\n\n@torch.no_grad()\ndef f(x):\n    return x\n",
                          "x = 0\n\ndef f(x):", "@torch.no_grad()"),
    "jit decorator": ("MB405", "import torch\n\n@torch.jit.script\ndef f(x):\n    return x\n",
                      "MB405 torch.jit.script: compilation decorator removed", "@torch.jit.script"),
}


def _text(source: str, select: list[str]) -> str:
    result = convert_source(source, "m.py", select=select)
    return result.code + "".join(d.format() + "\n" for d in result.diagnostics)


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_runs_under_its_own_code_only(name):
    code, source, applied, left = CASES[name]
    selected, other = _text(source, [code]), _text(source, ["MB5"])
    assert applied in selected
    assert applied not in other and left in other


def test_compile_used_as_context_manager_keeps_the_with():
    result = convert_source("import torch\n\nwith torch.compile(m):\n    pass\n", "m.py")
    assert result.code == "with m:\n    pass\n"
    assert [d.code for d in result.diagnostics] == ["MB405"]  # the call, not a dropped decorator


def test_rule_keyed_names_are_prescan_triggers():
    load_all()
    assert {*ATTRIBUTE_RULES, *DEF_RULES, *METHOD_RULES} <= Converter.triggers(load_tables())


def test_transformer_names_no_structural_rule():
    load_all()
    source = "".join((REPO / "codemods" / name).read_text(encoding="utf-8")  # the transformer and its helpers
                     for name in ("transformer.py", "references.py", "torch_imports.py"))
    rules = {**ATTRIBUTE_RULES, **DEF_RULES, **WRAPPER_RULES}
    assert [key for key in rules if f'"{key}"' in source] == []
    assert sorted({r.code for r in rules.values() if r.code in source}) == []
