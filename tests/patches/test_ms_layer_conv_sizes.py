"""torch's 1-element stride/padding/dilation (`nn.Conv2d(..., stride=[2])`, `F.conv2d(x, w, stride=(2,))`),
which efficientnet_pytorch passes (`stride=[int(options['s'][0])]`) and mint.nn.Conv2d/Conv3d
reject at __init__ ("When expanding an sequence to tuple, input sequence dimension must be 2, but
got [1]"). Fixed by patches/mindspore/layers.py:conv_sizes_wrapper and the ntuple in
functional.conv2d. Compared with torch after loading torch's weights: outputs and the gradients
of sum(out * c) for the input and the weights, fp32 relative L2 <= 1e-5, PyNative."""

import numpy as np
import pytest

from ms_parity import patched_cpu_fixture

TOL = 1e-5
SIZES = [  # constructor keywords; positional forms are in test_positional_and_subclass
    {"stride": [2]},
    {"stride": (2,), "padding": [1]},
    {"stride": [1], "padding": (1,), "dilation": [2]},
    {"stride": [2], "padding": [0], "dilation": (1,), "groups": 4},  # depthwise, as EfficientNet
]


ms_cpu = patched_cpu_fixture()


def rel(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def _compare(ms, t_layer, m_layer, shape, torch):
    for name, value in t_layer.state_dict().items():
        getattr(m_layer, name).set_data(ms.Tensor(value.numpy()))
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    yt = t_layer(xt)
    c = np.random.default_rng(1).standard_normal(tuple(yt.shape)).astype(np.float32)
    (yt * torch.tensor(c)).sum().backward()
    y = m_layer(ms.Tensor(x))
    assert y.shape == yt.shape and rel(y.asnumpy(), yt.detach().numpy()) <= TOL
    params = m_layer.trainable_params()
    g_x, g_w = ms.grad(lambda a: (m_layer(a) * ms.Tensor(c)).sum(), 0, params)(ms.Tensor(x))
    assert rel(g_x.asnumpy(), xt.grad.numpy()) <= TOL
    t_params = dict(t_layer.named_parameters())
    for p, g in zip(params, g_w):
        assert rel(g.asnumpy(), t_params[p.name.split(".")[-1]].grad.numpy()) <= TOL, p.name


@pytest.mark.parametrize("kw", SIZES, ids=[str(k) for k in SIZES])
def test_conv2d_one_element_sizes_match_torch(ms_cpu, torch, kw):
    from mindspore import mint

    torch.manual_seed(0)
    _compare(ms_cpu, torch.nn.Conv2d(4, 8, 3, **kw), mint.nn.Conv2d(4, 8, 3, **kw), (2, 4, 9, 9), torch)


@pytest.mark.parametrize("kw", SIZES[:3], ids=[str(k) for k in SIZES[:3]])
def test_conv3d_one_element_sizes_match_torch(ms_cpu, torch, kw):
    from mindspore import mint

    torch.manual_seed(0)
    _compare(ms_cpu, torch.nn.Conv3d(2, 3, 3, **kw), mint.nn.Conv3d(2, 3, 3, **kw), (1, 2, 7, 7, 7), torch)


def test_positional_and_subclass(ms_cpu, torch):
    """EfficientNet's Conv2dStaticSamePadding: `super().__init__(in, out, k, stride, **kwargs)` with
    stride=[2], then `self.stride if len(self.stride) == 2 else [self.stride[0]] * 2`."""
    from mindspore import mint

    def same_padding(base):
        class Conv(base):
            def __init__(self, cin, cout, k, stride=1, **kwargs):
                super().__init__(cin, cout, k, stride, **kwargs)
                self.stride = self.stride if len(self.stride) == 2 else [self.stride[0]] * 2

        return Conv

    torch.manual_seed(0)
    t = same_padding(torch.nn.Conv2d)(4, 4, 3, [2], groups=4, bias=False)
    m = same_padding(mint.nn.Conv2d)(4, 4, 3, [2], groups=4, bias=False)
    assert list(t.stride) == list(m.stride) == [2, 2]
    _compare(ms_cpu, t, m, (2, 4, 8, 8), torch)


def test_functional_conv2d_one_element_sizes(ms_cpu, torch):
    from mindspore import mint

    x = np.random.default_rng(2).standard_normal((2, 4, 9, 9)).astype(np.float32)
    w = np.random.default_rng(3).standard_normal((4, 4, 3, 3)).astype(np.float32)
    for kw in ({"stride": (2,)}, {"padding": [1]}, {"dilation": (2,)}, {"stride": [2], "padding": (1,)}):
        want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), **kw).numpy()
        got = mint.nn.functional.conv2d(ms_cpu.Tensor(x), ms_cpu.Tensor(w), **kw).asnumpy()
        assert got.shape == want.shape and rel(got, want) <= TOL, kw
