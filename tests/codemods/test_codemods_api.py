"""The library interface others call: convert_source, Diagnostic, CONVERTER_VERSION, emitted_names,
and the mapping tables (every target must exist in the installed MindSpore)."""

import ast
import importlib

import pytest

from conftest import REPO, needs
import codemods
from codemods import CONVERTER_VERSION, ConversionResult, Diagnostic, convert_source, emitted_names
from codemods.tables import load_tables


def test_convert_source_interface():
    r = convert_source("import torch\nx = torch.stft(torch.ones(4), 2)\n", "m.py")
    assert isinstance(r, ConversionResult) and r.changed
    (d,) = r.diagnostics
    assert isinstance(d, Diagnostic) and (d.file, d.line, d.col, d.code, d.api) == ("m.py", 2, 5, "MB003", "torch.stft")
    assert d.format().startswith("m.py:2:5 MB003 torch.stft: ") and d.format().endswith("]")
    compile(r.code, "m.py", "exec")


def test_files_without_torch_are_returned_unchanged():
    src = '"""mentions torch only in a docstring"""\ndef f(x):\n    return x.transpose(0, 1)\n'
    r = convert_source(src)
    assert (r.code, r.changed, r.diagnostics) == (src, False, [])


def test_syntax_error_is_a_diagnostic():
    r = convert_source("import torch\ndef f(:\n", "bad.py")
    assert r.code == "import torch\ndef f(:\n" and not r.changed
    assert r.diagnostics[0].code == "MB001" and r.diagnostics[0].line == 2


def test_select_limits_rules():
    src = "import torch\nclass M(torch.nn.Module):\n    def forward(self, x):\n        return x.size(0)\n"
    only_modules = convert_source(src, select=["MB1"]).code
    assert "nn.Cell" in only_modules and "construct" in only_modules and "x.size(0)" in only_modules
    assert "x.shape[0]" in convert_source(src, select=["MB2"]).code


def test_llama_converts_without_diagnostics():
    r = convert_source((REPO / "examples/llama/model.py").read_text(), "examples/llama/model.py")
    assert r.changed and r.diagnostics == []
    assert "import torch" not in r.code and "mint.transpose(" in r.code and "compat.scaled_dot_product_attention" in r.code


def test_version_and_emitted_names():
    assert isinstance(CONVERTER_VERSION, str) and CONVERTER_VERSION
    names = emitted_names()
    for name in ("mindspore.mint.arange", "mindspore.mint.nn.functional.cross_entropy", "mindspore.Tensor.masked_fill",
                 "mindspore.mint.transpose", "mindspore.nn.Cell", "backends.mindspore.compat.scaled_dot_product_attention",
                 "mindspore.common.initializer.Normal", "mindspore.experimental.optim.AdamW"):
        assert name in names
    assert not any(n.startswith("torch") for n in names)


def test_adamw_has_torch_semantics():
    assert load_tables().calls["torch.optim.AdamW"].to == "mindspore.experimental.optim.AdamW"


def test_compat_imports_neither_torch_nor_codemods():
    tree = ast.parse((REPO / "backends/mindspore/compat.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(m.split(".")[0] in ("torch", "codemods") for m in imported)


@pytest.mark.mindspore
def test_every_emitted_mindspore_name_exists():
    needs("mindspore")
    missing = []
    for name in sorted(emitted_names()):
        parts = name.split(".")
        for i in range(len(parts), 0, -1):  # longest importable module prefix, then attributes
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            try:
                for attr in parts[i:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                missing.append(name)
            break
        else:
            missing.append(name)
    assert missing == []
