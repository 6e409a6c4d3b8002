"""x[mask, :] with a boolean mask of 2+ dims inside a tuple index. MindSpore 2.10 CPU reads the mask's
coordinates as indices into the wrong axes (x (B, T, D), mask (B, T): x[mask, :] comes out (n, T), axes 0
and 2, not (n, D); a GatherNd range error only when t >= D), so the result is silently wrong when it fits.
Qwen3-VL's deepstack does hidden_states[visual_pos_masks, :]. The getitem wrapper
(patches/mindspore/tensor_methods.py) rewrites the mask as its nonzero() coordinates, which is torch's
definition. Compared with torch here: values, shapes and the gradient of sum(x[idx] * w), exact. PyNative."""

import numpy as np
import pytest

from ms_parity import patched_cpu_fixture

S = slice
MASK = np.zeros((2, 6), bool)
MASK[0, 1:3] = MASK[1, 4] = True
CASES = [  # (shape, index builder taking the mask): trailing slices, an int, None, a mask after a slice, empty
    ((2, 6, 5), lambda m: (m, S(None))),  # Qwen3-VL's deepstack
    ((2, 6, 5, 3), lambda m: (m, S(None), S(None))),
    ((2, 6, 5), lambda m: (m, 1)),
    ((2, 6, 5), lambda m: (m, S(1, 4))),
    ((2, 6, 5), lambda m: (m, None)),
    ((4, 2, 6, 3), lambda m: (S(None), m, S(None))),
    ((2, 6, 5), lambda m: (m[:, ::-1].copy(), S(None))),  # another mask
]


ms_cpu = patched_cpu_fixture()


@pytest.mark.parametrize("shape,make", CASES, ids=[f"{s}-{i}" for i, (s, _) in enumerate(CASES)])
@pytest.mark.parametrize("mask", ["some", "none"])
def test_multi_dim_masks_match_torch(ms_cpu, torch, shape, make, mask):
    ms = ms_cpu
    m = MASK if mask == "some" else np.zeros_like(MASK)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    yt = xt[tuple(torch.from_numpy(i) if isinstance(i, np.ndarray) else i for i in make(m))]
    w = np.random.default_rng(1).standard_normal(tuple(yt.shape)).astype(np.float32)
    (yt * torch.tensor(w)).sum().backward()
    index = tuple(ms.Tensor(i) if isinstance(i, np.ndarray) else i for i in make(m))
    got = ms.Tensor(x)[index].asnumpy()
    assert got.shape == tuple(yt.shape) and np.array_equal(got, yt.detach().numpy())
    grad = ms.grad(lambda a: (a[index] * ms.Tensor(w)).sum())(ms.Tensor(x)).asnumpy()
    assert np.array_equal(grad, xt.grad.numpy())


def test_deepstack_update_matches_torch(ms_cpu, torch):
    """Qwen3-VL's _deepstack_process: h = h.clone(); h[mask, :] = h[mask, :] + v, values and both gradients."""
    ms = ms_cpu
    from mindspore import mint

    rng = np.random.default_rng(2)
    h, v = rng.standard_normal((2, 6, 5)).astype(np.float32), rng.standard_normal((3, 5)).astype(np.float32)
    ht, vt, mt = torch.tensor(h, requires_grad=True), torch.tensor(v, requires_grad=True), torch.from_numpy(MASK)
    out = ht.clone()
    out[mt, :] = out[mt, :] + vt
    (out * out).sum().backward()
    m = ms.Tensor(MASK)

    def update(a, b):
        a = mint.clone(a)
        a[m, :] = a[m, :] + b
        return a

    assert np.array_equal(update(ms.Tensor(h), ms.Tensor(v)).asnumpy(), out.detach().numpy())
    gh, gv = ms.grad(lambda a, b: (update(a, b) ** 2).sum(), grad_position=(0, 1))(ms.Tensor(h), ms.Tensor(v))
    np.testing.assert_allclose(gh.asnumpy(), ht.grad.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(gv.asnumpy(), vt.grad.numpy(), rtol=0, atol=1e-6)


def test_only_multi_dim_masks_are_rewritten(ms_cpu):
    from patches.mindspore.tensor_methods import _multi_dim_mask

    ms = ms_cpu
    assert _multi_dim_mask((ms.Tensor(MASK), S(None)))
    assert not _multi_dim_mask((ms.Tensor(MASK[0]), S(None)))  # 1-D mask: MindSpore's own path is right
    assert not _multi_dim_mask((ms.Tensor(np.array([[0, 1]])), S(None)))  # an integer index
    assert not _multi_dim_mask((S(None), 0))
