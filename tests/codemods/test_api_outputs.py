"""API output tests, PaConvert's way: every mapped torch API has a tiny torch snippet
(tests/codemods/api_cases_*.py, by topic; api_cases.py has the inputs and the case format) that
runs as written on torch and, converted by codemods.convert_source, on real MindSpore (CPU,
PyNative, pynative_synchronize, the CPU fallback set of patches/mindspore applied). The MindSpore
side is never written by hand: the snippet's conversion exercises the table entry itself.

Comparison: same structure (tuples, lists), same shapes, same dtypes (torch.float32 ~
mindspore.float32); float32 values |ms - torch| <= tol + tol * |torch| with tol = 1e-5 unless the
case states another (float16 results: at least 1e-3); integer and bool results exactly; Python
scalars equal (floats to the same tolerance). Random ops compare shape and dtype only, plus a
stated property (`check`). Layer cases copy torch's state_dict into the Cell by name (the names must
agree) and run both in eval mode.

Each snippet is converted with no diagnostics, its output names no torch API, and converting it
again changes nothing. test_every_table_entry_has_a_case keeps the coverage honest: every
mapped (not `unsupported`) table entry has a case, apart from the UNTESTED list, which must shrink
as cases are added.

All cases run in one MindSpore process in a module fixture (~2 s on 2 cores).

    .venv/bin/pytest tests/codemods/test_api_outputs.py -q
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pytest
import yaml

from api_cases import ARGS, INPUTS, RULE_REWRITTEN, TABLES, UNTESTED
from api_cases_breadth import CASES as BREADTH_CASES
from api_cases_misc import CASES as MISC_CASES
from api_cases_nn import CASES as NN_CASES
from api_cases_tensor import CASES as TENSOR_CASES
from codemods import convert_source
from codemods.tables import MAPPINGS_DIR, load_tables
from conftest import needs

CASES = TENSOR_CASES + NN_CASES + MISC_CASES + BREADTH_CASES  # every topic's cases share api_cases.INPUTS
HEADER = "import numpy as np\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n"
IDS = []
for _c in CASES:
    _n = sum(1 for k in IDS if k.startswith(_c.api + "["))
    IDS.append(f"{_c.api}[{_n}]")


def _source(case) -> str:
    if case.build:
        return HEADER + f"def build():\n    return {case.build}\n\n\ndef call(mod, {ARGS}):\n    return {case.expr}\n"
    return HEADER + f"def case({ARGS}):\n    return {case.expr}\n"


def _exec(code: str, name: str) -> dict:
    namespace = {"__name__": name}
    exec(compile(code, name, "exec"), namespace)
    return namespace


# ------------------------------------------------------------------ output normalisation
def _dtype_name(d) -> str:
    return str(d).lower().replace("torch.", "").replace("bool_", "bool")


def _norm(out):
    """A framework-neutral form: ("T", dtype, array) for tensors, ("D", name) for dtypes,
    tuples for sequences, plain values otherwise."""
    import mindspore
    import torch

    if isinstance(out, torch.Tensor):
        return ("T", _dtype_name(out.dtype), out.detach().numpy())
    if isinstance(out, mindspore.Tensor):
        return ("T", _dtype_name(out.dtype), out.asnumpy())
    if isinstance(out, (torch.dtype, mindspore.Type)):
        return ("D", _dtype_name(out))
    if isinstance(out, (tuple, list)):
        return tuple(_norm(o) for o in out)
    if isinstance(out, np.generic):
        return out.item()
    return out


def _compare(ms_out, th_out, tol, where="out"):
    if isinstance(th_out, tuple) and th_out[:1] == ("T",):
        if not isinstance(th_out[2], np.ndarray) or th_out[2].ndim == 0:
            pass
        if isinstance(ms_out, (numbers.Number, bool)) and th_out[2].ndim == 0:
            ms_out = ("T", th_out[1], np.asarray(ms_out, th_out[2].dtype))
        assert isinstance(ms_out, tuple) and ms_out[:1] == ("T",), f"{where}: MindSpore gave {ms_out!r}, torch a tensor"
        _, m_dtype, a = ms_out
        _, t_dtype, b = th_out
        assert m_dtype == t_dtype, f"{where}: dtype {m_dtype} != torch {t_dtype}"
        assert a.shape == b.shape, f"{where}: shape {a.shape} != torch {b.shape}"
        if np.issubdtype(b.dtype, np.floating):
            t = max(tol, 1e-3) if b.dtype == np.float16 else tol
            np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=t, atol=t, equal_nan=True,
                                       err_msg=where)
        else:
            np.testing.assert_array_equal(a, b, err_msg=where)
        return
    if isinstance(th_out, tuple) and th_out[:1] != ("D",):
        assert isinstance(ms_out, tuple) and len(ms_out) == len(th_out), f"{where}: {ms_out!r} vs torch {th_out!r}"
        for k, (m, t) in enumerate(zip(ms_out, th_out)):
            _compare(m, t, tol, f"{where}[{k}]")
        return
    if isinstance(ms_out, tuple) and ms_out[:1] == ("T",) and ms_out[2].ndim == 0:
        ms_out = ms_out[2].item()  # a 0-d tensor where torch gives a Python scalar (e.g. torch.equal)
    if isinstance(th_out, float) and isinstance(ms_out, numbers.Real):
        assert math.isclose(ms_out, th_out, rel_tol=tol, abs_tol=tol) or (math.isnan(ms_out) and math.isnan(th_out)), \
            f"{where}: {ms_out} != torch {th_out}"
        return
    assert ms_out == th_out, f"{where}: {ms_out!r} != torch {th_out!r}"


def _shape_dtype(out):
    if isinstance(out, tuple) and out[:1] == ("T",):
        return out[1], out[2].shape
    return out


# ------------------------------------------------------------------ running every case once
def _run_torch(case, ns):
    import torch

    torch.manual_seed(0)
    args = [torch.tensor(v) for v in INPUTS.values()]
    if case.build:
        mod = ns["build"]()
        mod.eval()
        return mod, ns["call"](mod, *args)
    return None, ns["case"](*args)


def _run_ms(case, ns, torch_mod):
    import mindspore

    mindspore.set_seed(0)
    args = [mindspore.Tensor(v) for v in INPUTS.values()]
    if not case.build:
        return ns["case"](*args)
    mod = ns["build"]()
    mod.set_train(False)
    state = {k: v.detach().numpy() for k, v in torch_mod.state_dict().items()}
    ms_params = dict(mod.parameters_and_names())
    torch_params = {k for k, _ in torch_mod.named_parameters()}
    assert torch_params <= set(ms_params), f"torch parameters {sorted(torch_params - set(ms_params))} missing"
    for name, p in ms_params.items():
        assert name in state, f"MindSpore parameter {name} is not a torch state_dict key {sorted(state)}"
        p.set_data(mindspore.Tensor(state[name]))
    return ns["call"](mod, *args)


@pytest.fixture(scope="module")
def results():
    needs("torch")
    needs("mindspore")
    import mindspore

    import patches.mindspore

    mindspore.set_context(mode=mindspore.PYNATIVE_MODE, device_target="CPU", pynative_synchronize=True)
    patches.mindspore.apply("CPU")
    out = {}
    try:
        for cid, case in zip(IDS, CASES):
            out[cid] = _one(case, cid)
    finally:
        patches.mindspore.revert()
    return out


def _one(case, cid):
    """(None, None) when the case passes, else (stage, message)."""
    src = _source(case)
    try:
        res = convert_source(src, f"<{cid}>")
    except Exception as e:  # noqa: BLE001 -- reported per case
        return "convert", f"{type(e).__name__}: {e}"
    if res.diagnostics:
        return "convert", "; ".join(d.format() for d in res.diagnostics)
    if "torch" in res.code:
        return "convert", f"the output still names torch:\n{res.code}"
    again = convert_source(res.code, f"<{cid} again>").code
    if again != res.code:
        return "idempotence", f"converting the output again changed it:\n{res.code}\n---\n{again}"
    entry = load_tables().calls[case.api]
    leaf = entry.to.rpartition(".")[2]
    if leaf not in res.code and case.api not in RULE_REWRITTEN:
        return "convert", f"the output does not use the table target {entry.to}:\n{res.code}"
    try:
        t_mod, t_out = _run_torch(case, _exec(src, f"torch_{cid}"))
        t_out = _norm(t_out)
    except Exception as e:  # noqa: BLE001
        return "torch", f"{type(e).__name__}: {e}"
    try:
        m_out = _norm(_run_ms(case, _exec(res.code, f"ms_{cid}"), t_mod))
    except Exception as e:  # noqa: BLE001
        first = next((ln for ln in str(e).splitlines() if ln.strip() and not ln.startswith("-")), "")
        return "mindspore", f"{type(e).__name__}: {first}\n{res.code}"
    try:
        if case.random:
            assert _dtype_name(_shape_dtype(m_out)) == _dtype_name(_shape_dtype(t_out)), (m_out, t_out)
            for side, o in (("torch", t_out), ("mindspore", m_out)):
                if case.check:
                    assert eval(case.check, {"np": np, "out": o[2]}), f"{side} output fails {case.check}: {o[2]}"
        else:
            _compare(m_out, t_out, case.tol)
    except AssertionError as e:
        return "compare", f"{e}\n{res.code}"
    return None, None


@pytest.mark.parametrize("cid", IDS)
def test_api_output_matches_torch(results, cid):
    stage, message = results[cid]
    assert stage is None, f"{cid}: {stage}: {message}"


def test_every_table_entry_has_a_case():
    """Every mapped entry has an output case, or is listed in UNTESTED (kept exact both ways);
    every case names a real entry. Scope: the tables in api_cases.TABLES."""
    calls = load_tables().calls
    unknown = sorted({c.api for c in CASES} - set(calls))
    assert not unknown, f"cases for names no table maps: {unknown}"
    unsupported_with_case = sorted(c.api for c in CASES if calls[c.api].to is None)
    assert not unsupported_with_case, f"cases for unsupported entries: {unsupported_with_case}"
    owned = set()
    for table in TABLES:
        owned |= set(yaml.safe_load((MAPPINGS_DIR / f"{table}.yaml").read_text())["map"])
    mapped = {n for n, e in calls.items() if e.to and n in owned}
    uncovered = mapped - {c.api for c in CASES}
    assert not uncovered - UNTESTED, f"table entries with no output case: {sorted(uncovered - UNTESTED)}"
    assert not UNTESTED - uncovered, f"drop from UNTESTED (now tested or gone): {sorted(UNTESTED - uncovered)}"


def test_unsupported_entries_state_a_reason_and_a_suggestion():
    for name, e in load_tables().calls.items():
        if e.to is None:
            assert e.unsupported and e.suggest, f"{name}: an unsupported entry needs a reason and a suggestion"
