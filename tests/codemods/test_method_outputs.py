"""Tensor-method output tests, PaConvert's way: every entry of codemods/mappings/methods.yaml
(`functions`, `varargs`, `kept`) has torch snippets (tests/codemods/method_cases.py) that run as
written on torch and, converted by codemods.convert_source, on MindSpore (CPU, PyNative,
pynative_synchronize, patches/mindspore applied). Compared as in test_api_outputs.py: structure,
shapes, dtypes, float values to 1e-5, integers and bools exactly.

A `functions` entry's output must call its target; a `kept` method must still be called as a
method. test_every_method_entry_has_a_case keeps the bookkeeping exact (UNTESTED).

    .venv/bin/pytest tests/codemods/test_method_outputs.py -q
"""

from __future__ import annotations

import numpy as np
import pytest

from codemods import convert_source
from codemods.tables import load_tables
from ms_exec import ms_env  # noqa: F401 - fixture
from conftest import needs
from method_cases import ARGS, CASES, INPUTS, UNTESTED
from test_api_outputs import HEADER, _compare, _dtype_name, _exec, _shape_dtype
from test_api_outputs import _norm as _norm_api


def _norm(out):
    """As test_api_outputs._norm, and a NumPy array (x.numpy()) compares as a tensor."""
    if isinstance(out, np.ndarray):
        return ("T", _dtype_name(out.dtype), out)
    if isinstance(out, (tuple, list)):
        return tuple(_norm(o) for o in out)
    return _norm_api(out)

IDS = []
for _c in CASES:
    _n = sum(1 for k in IDS if k.startswith(_c.method + "["))
    IDS.append(f"{_c.method}[{_n}]")


def _one(case, cid):
    """(None, None) when the case passes, else (stage, message)."""
    import mindspore
    import torch

    src = HEADER + f"def case({ARGS}):\n    return {case.expr}\n"
    res = convert_source(src, f"<{cid}>")
    if res.diagnostics:
        return "convert", "; ".join(d.format() for d in res.diagnostics) + "\n" + res.code
    if "torch" in res.code:
        return "convert", f"the output still names torch:\n{res.code}"
    if convert_source(res.code, f"<{cid} again>").code != res.code:
        return "idempotence", f"converting the output again changed it:\n{res.code}"
    entry = load_tables().methods.get(case.method)
    if entry is not None and entry.to and entry.to.rpartition(".")[2] not in res.code:
        return "convert", f"the output does not use the table target {entry.to}:\n{res.code}"
    try:
        torch.manual_seed(0)
        t_out = _norm(_exec(src, f"torch_{cid}")["case"](*[torch.tensor(v) for v in INPUTS.values()]))
    except Exception as e:  # noqa: BLE001 -- reported per case
        return "torch", f"{type(e).__name__}: {e}"
    try:
        mindspore.set_seed(0)
        m_out = _norm(_exec(res.code, f"ms_{cid}")["case"](*[mindspore.Tensor(v) for v in INPUTS.values()]))
    except Exception as e:  # noqa: BLE001
        first = next((ln for ln in str(e).splitlines() if ln.strip() and not ln.startswith("-")), "")
        return "mindspore", f"{type(e).__name__}: {first}\n{res.code}"
    try:
        if case.random:
            assert _dtype_name(_shape_dtype(m_out)) == _dtype_name(_shape_dtype(t_out)), (m_out, t_out)
        else:
            _compare(m_out, t_out, case.tol)
    except (AssertionError, ValueError) as e:
        return "compare", f"{e}\n{res.code}"
    return None, None


@pytest.fixture(scope="module")
def results(ms_env):
    return {cid: _one(case, cid) for cid, case in zip(IDS, CASES)}


@pytest.mark.parametrize("cid", IDS)
def test_method_output_matches_torch(results, cid):
    stage, message = results[cid]
    assert stage is None, f"{cid}: {stage}: {message}"


def test_every_method_entry_has_a_case():
    t = load_tables()
    entries = {n for n, e in t.methods.items() if e.to} | set(t.varargs_methods) | set(t.kept_methods)
    covered = {c.method for c in CASES}
    assert not covered - entries, f"cases for methods no table lists: {sorted(covered - entries)}"
    missing = entries - covered
    assert not missing - UNTESTED, f"methods.yaml entries with no output case: {sorted(missing - UNTESTED)}"
    assert not UNTESTED - missing, f"drop from UNTESTED (now tested or gone): {sorted(UNTESTED - missing)}"


def test_unsupported_methods_state_a_reason_and_a_suggestion():
    for name, e in load_tables().methods.items():
        if e.to is None:
            assert e.unsupported and e.suggest, f"{name}: an unsupported entry needs a reason and a suggestion"


REQUIRES_GRAD = '''import torch
import torch.nn as nn


def f():
    lin = nn.Linear(2, 2)
    same = lin.requires_grad_(False) is lin
    w = nn.Parameter(torch.zeros(2))
    w.requires_grad_(False)
    e = nn.Parameter(torch.ones(2))
    e.detach_()
    return (same, [p.requires_grad for p in lin.parameters()], w.requires_grad, w.requires_grad_().requires_grad,
            e.requires_grad)
'''


def test_requires_grad_on_modules_and_parameters(results):
    """x.requires_grad_(flag) on a module (a Cell) sets it on every parameter and returns the module;
    p.detach_() on a Parameter stops its gradient."""
    import torch

    import patches.mindspore

    res = convert_source(REQUIRES_GRAD, "<requires_grad_>")
    assert not res.diagnostics and "requires_grad_(" in res.code, res.code
    patches.mindspore.apply("CPU")
    try:
        ms_out = _exec(res.code, "ms_requires_grad")["f"]()
    finally:
        patches.mindspore.revert()
    assert ms_out == _exec(REQUIRES_GRAD, "torch_requires_grad")["f"]() == (True, [False, False], False, True, False)
    assert torch.is_grad_enabled()
