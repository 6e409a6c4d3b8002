"""Helper for the MindSpore-fallback tests: run one case on torch and on MindSpore (PyNative or
graph mode via mindspore.jit) and compare forward outputs and input gradients.

A case is a plain `def` over MindSpore tensors (the graph compiler parses its source) plus a torch
lambda over torch tensors. Gradients are of sum(out * c) with a fixed random cotangent c, with
respect to every floating input (summed over all floating outputs). Floats: relative L2 <= tol
(1e-6 by default); integers and bools: exact, and dtypes must match torch's.

A test module imports `ms`, `mint` and `F` from here (None without MindSpore), lists its cases,
then takes its fixture and parametrised test from here too:

    fallbacks = fallbacks_fixture("mint.arange")      # apply the CPU fallback set for the module
    ms_cpu = patched_cpu_fixture()                    # or: the patched mindspore module, for hand-written tests
    test_fallback_matches_torch = parity_test(CASES)  # each case, PyNative and graph mode
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest
from conftest import needs

try:  # the test modules import ms, mint and F from here
    import mindspore as ms
    from mindspore import mint

    F = mint.nn.functional
except ImportError:  # fallbacks_fixture skips (or fails under CI)
    ms = mint = F = None

RNG = np.random.default_rng(1234)


def randf(*shape, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, shape).astype(np.float32)


@dataclass
class Case:
    name: str
    ms_fn: Callable
    torch_fn: Callable
    inputs: list[Any] = field(default_factory=list)
    grad: bool = True
    grad_out: int | None = None  # which output of a tuple to differentiate
    tol: float = 1e-6
    no_grad: tuple = ()  # input positions torch cannot differentiate (e.g. nll_loss weight)


class Cases(list):
    """A test module's case list; `@cases.add(torch_fn, [inputs])` registers a MindSpore def."""

    def add(self, torch_fn, inputs=(), grad=True, grad_out=None, tol=1e-6, no_grad=()):
        def deco(fn):
            self.append(Case(fn.__name__, fn, torch_fn, list(inputs), grad, grad_out, tol, tuple(no_grad)))
            return fn

        return deco


def _flat(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _np(t):
    if hasattr(t, "detach"):
        return t.detach().numpy()
    if hasattr(t, "asnumpy"):
        return t.asnumpy()
    return np.asarray(t)


def _dtype_name(t) -> str:
    s = str(t.dtype).lower().replace("torch.", "")
    return {"bool_": "bool"}.get(s, s)


def rel_l2(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    mask = ~(np.isnan(a) & np.isnan(b))
    num = np.linalg.norm((a - b)[mask])
    den = np.linalg.norm(b[mask])
    return float(num / den) if den > 0 else float(num)


def compare(ms_out, th_out, tol, what):
    ms_out, th_out = _flat(ms_out), _flat(th_out)
    assert len(ms_out) == len(th_out), f"{what}: {len(ms_out)} outputs vs torch {len(th_out)}"
    for k, (m, t) in enumerate(zip(ms_out, th_out)):
        if not hasattr(t, "dtype"):  # python scalars (equal) compare directly
            assert m == t, f"{what}[{k}]: {m} != torch {t}"
            continue
        assert _dtype_name(m) == _dtype_name(t), f"{what}[{k}] dtype {m.dtype} != torch {t.dtype}"
        a, b = _np(m), _np(t)
        assert a.shape == b.shape, f"{what}[{k}] shape {a.shape} != torch {b.shape}"
        if np.issubdtype(b.dtype, np.floating):
            err = rel_l2(a, b)
            assert err <= tol, f"{what}[{k}] rel L2 {err:.3e} > {tol:g}"
        else:
            np.testing.assert_array_equal(a, b, err_msg=f"{what}[{k}]")


def run(c: Case, graph: bool) -> None:
    import mindspore as ms
    import torch

    t_in = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in c.inputs]
    m_in = [ms.Tensor(a) if isinstance(a, np.ndarray) else a for a in c.inputs]
    float_pos = [k for k, a in enumerate(c.inputs) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
                 and k not in c.no_grad]
    for k in float_pos:
        t_in[k].requires_grad_(True)

    fwd = ms.jit(c.ms_fn) if graph else c.ms_fn
    t_out = c.torch_fn(torch, *t_in)
    compare(fwd(*m_in), t_out, c.tol, f"{c.name} forward ({'graph' if graph else 'pynative'})")
    if not (c.grad and float_pos):
        return

    t_outs = _flat(t_out)
    if c.grad_out is not None:
        sel = (c.grad_out,)
    else:
        sel = tuple(k for k, o in enumerate(t_outs) if getattr(o, "is_floating_point", lambda: False)())
    if not sel:
        return  # integer outputs only (indices): nothing to differentiate
    cots = [RNG.uniform(0.5, 1.5, tuple(t_outs[k].shape)).astype(np.float32) for k in sel]
    t_loss = sum((t_outs[k] * torch.tensor(cot)).sum() for k, cot in zip(sel, cots))
    t_grads = torch.autograd.grad(t_loss, [t_in[k] for k in float_pos])
    n, fn, is_tuple = len(m_in), c.ms_fn, isinstance(t_out, (tuple, list))

    def loss(*a):
        out = fn(*a[:n])
        if not is_tuple:
            return (out * a[n]).sum()
        total = 0
        for j in range(len(sel)):
            total = total + (out[sel[j]] * a[n + j]).sum()
        return total

    g = ms.grad(loss, grad_position=tuple(float_pos))
    g = ms.jit(g) if graph else g
    m_grads = g(*m_in, *[ms.Tensor(cot) for cot in cots])
    compare(_flat(m_grads), list(t_grads), c.tol, f"{c.name} grad ({'graph' if graph else 'pynative'})")


def patched_cpu_fixture():
    """A module-scoped fixture: mindspore itself, in PyNative mode, with the CPU patch set applied (kept)."""

    @pytest.fixture(scope="module")
    def ms_cpu():
        needs("mindspore")
        import mindspore

        import patches.mindspore as pm

        mindspore.set_context(mode=mindspore.PYNATIVE_MODE)
        pm.apply("CPU")
        return mindspore

    return ms_cpu


def fallbacks_fixture(*expected: str):
    """A module-scoped autouse fixture: needs mindspore and torch, sets CPU + pynative_synchronize,
    applies the fallback set (asserting each `expected` name, e.g. "mint.arange", is among those
    applied) and reverts it after the module's tests."""

    @pytest.fixture(scope="module", autouse=True)
    def fallbacks():
        needs("mindspore")
        needs("torch")
        import mindspore as ms

        import patches.mindspore

        ms.set_context(device_target="CPU", pynative_synchronize=True)
        applied = patches.mindspore.apply("CPU")
        assert set(expected) <= set(applied)
        yield
        patches.mindspore.revert()

    return fallbacks


def parity_test(cases):
    """The parametrised test running `run(c, graph)` for each case, in PyNative and graph mode."""

    @pytest.mark.parametrize("graph", [False, True], ids=["pynative", "graph"])
    @pytest.mark.parametrize("c", cases, ids=[c.name for c in cases])
    def test_fallback_matches_torch(c, graph):
        run(c, graph)

    return test_fallback_matches_torch
