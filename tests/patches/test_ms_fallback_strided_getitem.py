"""x[:, 0::2, 0::2, :] with a step > 1 on an interior axis (Swin's patch merging). MindSpore 2.10
CPU's forward is right but its gradient kernel fails ("For 'StridedSliceGrad', 5 input memory out
of bounds") for any 3-D+ tensor; the getitem wrapper (patches/mindspore/tensor_methods.py) takes
such an index as a step-1 span plus one gather per stepped axis. Compared with torch here: values,
shapes and the gradient of sum(x[idx] * w) with a random w, exact (a slice and a gather involve no
arithmetic; the gradient only scatters w). PyNative (Tensor.__getitem__ patches are PyNative only)."""

import numpy as np
import pytest

from ms_parity import patched_cpu_fixture

S = slice
CASES = [  # (shape, index): odd and even sizes, one and two stepped axes, ints, None, Ellipsis
    ((2, 4, 4, 8), (S(None), S(0, None, 2), S(0, None, 2), S(None))),  # Swin, even sizes
    ((2, 5, 7, 3), (S(None), S(1, None, 2), S(0, None, 2), S(None))),  # odd sizes
    ((3, 7, 5), (S(None), S(2, 6, 3))),  # one interior axis, a stop and a step of 3
    ((2, 5, 7, 3), (Ellipsis, S(1, None, 3), S(None))),
    ((2, 5, 5, 3), (None, S(None), S(1, None, 2))),
    ((2, 5, 5, 3), (0, S(None), S(1, None, 2))),
    ((2, 5, 5, 3), (S(None), S(4, None, 2))),  # one element left
    ((2, 5, 5, 3), (S(None), S(5, None, 2))),  # none left
    ((4, 4, 1), (S(0, None, 2), S(1, None, 2))),
    ((2, 6, 6, 6, 2), (S(1, None, 2), S(None), S(0, 5, 3), S(-5, None, 4))),
    ((6, 5), (S(1, None, 2), S(0, None, 2))),  # 2-D: MindSpore's own path, checked all the same
]


ms_cpu = patched_cpu_fixture()


def _torch_ref(torch, x, index, w_seed=1):
    xt = torch.tensor(x, requires_grad=True)
    yt = xt[index]
    w = np.random.default_rng(w_seed).standard_normal(tuple(yt.shape)).astype(np.float32)
    (yt * torch.tensor(w)).sum().backward()
    return yt.detach().numpy(), w, xt.grad.numpy()


@pytest.mark.parametrize("shape,index", CASES, ids=[f"{s}-{i}" for i, (s, _) in enumerate(CASES)])
def test_stepped_slices_match_torch(ms_cpu, torch, shape, index):
    ms = ms_cpu
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    want, w, want_grad = _torch_ref(torch, x, index)
    got = ms.Tensor(x)[index].asnumpy()
    grad = ms.grad(lambda a: (a[index] * ms.Tensor(w)).sum())(ms.Tensor(x)).asnumpy()
    assert got.shape == want.shape and np.array_equal(got, want)
    assert np.array_equal(grad, want_grad)


def test_swin_patch_merging_interleave(ms_cpu, torch):
    """The converted SwinPatchMerging line: cat of the four (row, col) phases on the channel axis."""
    from mindspore import mint

    ms = ms_cpu
    x = np.random.default_rng(2).standard_normal((2, 6, 6, 8)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.cat([xt[:, r::2, c::2, :] for c in range(2) for r in range(2)], dim=-1)
    w = np.random.default_rng(3).standard_normal(tuple(yt.shape)).astype(np.float32)
    (yt * torch.tensor(w)).sum().backward()

    def merge(a):
        return mint.cat([a[:, r::2, c::2, :] for c in range(2) for r in range(2)], dim=-1)

    assert np.array_equal(merge(ms.Tensor(x)).asnumpy(), yt.detach().numpy())
    grad = ms.grad(lambda a: (merge(a) * ms.Tensor(w)).sum())(ms.Tensor(x)).asnumpy()
    assert np.array_equal(grad, xt.grad.numpy())


def test_parameter_indexing_is_patched_too(ms_cpu, torch):
    """mindspore.Parameter is no Tensor subclass in 2.10: it carries its own __getitem__ wrapper."""
    ms = ms_cpu
    x = np.random.default_rng(4).standard_normal((3, 6, 4)).astype(np.float32)
    index = (S(None), S(1, None, 2))
    want, w, want_grad = _torch_ref(torch, x, index)
    p = ms.Parameter(ms.Tensor(x), name="p")
    assert np.array_equal(p[index].asnumpy(), want)
    grad = ms.grad(lambda: (p[index] * ms.Tensor(w)).sum(), None, [p])()[0].asnumpy()
    assert np.array_equal(grad, want_grad)


def test_only_interior_steps_are_rerouted(ms_cpu):
    from patches.mindspore.tensor_methods import _interior_step

    x = ms_cpu.Tensor(np.zeros((2, 4, 4, 8), np.float32))
    assert _interior_step((S(None), S(0, None, 2)), x)
    assert _interior_step((Ellipsis, S(0, None, 2), S(None)), x)
    assert not _interior_step((S(None), S(1, 3)), x)  # no step: MindSpore's own path
    assert not _interior_step((S(0, None, 2),), x)  # first axis: MindSpore's gradient is right
    assert not _interior_step((Ellipsis, S(0, None, 2)), x)  # last axis: likewise
    assert not _interior_step((S(None), ms_cpu.Tensor([0, 1])), x)  # tensor index: left alone
    assert not _interior_step((S(None), S(0, None, 2)), ms_cpu.Tensor(np.zeros((4, 4), np.float32)))
