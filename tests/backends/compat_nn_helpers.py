"""Shared by tests/backends/test_compat_nn_*.py: torch -> MindSpore weight copy by name, rel L2, and
a MindSpore environment (PyNative, patches.mindspore applied for missing CPU kernels, as the
MindSpore backend runs converted code)."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from conftest import needs


def rel_l2(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


@pytest.fixture(scope="module")
def ms_env():
    needs("torch")
    needs("mindspore")
    import mindspore

    import patches.mindspore as pm

    mindspore.set_context(mode=mindspore.PYNATIVE_MODE)
    pm.apply()
    yield mindspore
    pm.revert()


def copy_weights(torch_module, ms_cell):
    """Load torch's state_dict into the MindSpore cell by name; the name sets and shapes must be equal."""
    import mindspore

    sd = torch_module.state_dict()
    ms_params = dict(ms_cell.parameters_and_names())
    assert set(ms_params) == set(sd), (sorted(set(ms_params) ^ set(sd)))
    for name, p in ms_params.items():
        assert tuple(p.shape) == tuple(sd[name].shape), name
        p.set_data(mindspore.Tensor(sd[name].detach().numpy()))


def _outputs(out):
    """A call's result as a tuple of tensors: nested tuples flattened, None dropped."""
    if out is None:
        return ()
    if isinstance(out, (tuple, list)):
        flat = ()
        for o in out:  # a loop, not a nested comprehension: graph mode parses this too
            flat = flat + _outputs(o)
        return flat
    return (out,)


def torch_run(module, call, inputs, seeds):
    """(outputs as numpy, {param name: grad}, [float input grads]) of `call(*inputs)` for the loss
    sum_i sum(out_i * seed_i); float32 numpy inputs are differentiated, others passed as tensors."""
    import torch

    tin = [torch.tensor(x, requires_grad=x.dtype == np.float32) if isinstance(x, np.ndarray) else x for x in inputs]
    outs = _outputs(call(*tin))
    assert len(outs) == len(seeds)
    loss = sum((o * torch.from_numpy(s)).sum() for o, s in zip(outs, seeds))
    module.zero_grad()
    loss.backward()
    grads = {n: p.grad.numpy() for n, p in module.named_parameters() if p.grad is not None}
    in_grads = [t.grad.numpy() for t in tin if isinstance(t, torch.Tensor) and t.grad is not None]
    return [o.detach().numpy() for o in outs], grads, in_grads


def ms_run(cell, call, inputs, seeds, jit=False):
    """The same as torch_run for a MindSpore cell (value_and_grad over float inputs and parameters)."""
    import mindspore

    tin = [mindspore.Tensor(x) if isinstance(x, np.ndarray) else x for x in inputs]
    float_pos = tuple(i for i, x in enumerate(inputs) if isinstance(x, np.ndarray) and x.dtype == np.float32)
    params = cell.trainable_params()
    names = {id(p): n for n, p in cell.parameters_and_names()}
    ms_seeds = [mindspore.Tensor(s) for s in seeds]

    def loss_fn(*args):
        outs = _outputs(call(*args))
        loss = 0
        for o, s in zip(outs, ms_seeds):
            loss = loss + (o * s).sum()
        return loss, outs

    fn = mindspore.value_and_grad(loss_fn, float_pos, params, has_aux=True)
    if jit:
        fn = mindspore.jit(fn)
    (_, outs), (in_grads, grads) = fn(*tin)
    in_grads = in_grads if isinstance(in_grads, tuple) else (in_grads,)
    return ([o.asnumpy() for o in outs], {names[id(p)]: g.asnumpy() for p, g in zip(params, grads)},
            [g.asnumpy() for g in in_grads])


def assert_close(t, m, tol):
    """t, m: results of torch_run / ms_run; every output and gradient within rel L2 `tol`."""
    (t_out, t_g, t_in), (m_out, m_g, m_in) = t, m
    assert len(t_out) == len(m_out)
    for a, b in zip(m_out, t_out):
        assert a.shape == b.shape and rel_l2(a, b) <= tol, ("output", a.shape, b.shape, rel_l2(a, b))
    assert set(t_g) <= set(m_g)
    for n in t_g:
        assert rel_l2(m_g[n], t_g[n]) <= tol, (n, rel_l2(m_g[n], t_g[n]))
    assert len(t_in) == len(m_in)
    for a, b in zip(m_in, t_in):
        assert rel_l2(a, b) <= tol, ("input grad", rel_l2(a, b))


def worst(t, m) -> float:
    """The largest rel L2 over outputs and gradients (for reporting)."""
    (t_out, t_g, t_in), (m_out, m_g, m_in) = t, m
    vals = [rel_l2(a, b) for a, b in zip(m_out, t_out)] + [rel_l2(m_g[n], t_g[n]) for n in t_g]
    return max(vals + [rel_l2(a, b) for a, b in zip(m_in, t_in)])


def import_file(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
