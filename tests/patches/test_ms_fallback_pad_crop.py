"""F.pad / ZeroPad2d with a negative entry (a crop: RWKV's time shift is ZeroPad2d((0, 0, 1, -1))).
MindSpore 2.10 CPU's own pad loses one more element to zeros on every such call in a process, so
values and gradients go silently wrong from the second call on; the fallback crops by slicing
instead. Checked here against torch over repeated calls (fp32, exact: a crop and a zero pad
involve no arithmetic), PyNative."""

import numpy as np
import pytest

from ms_parity import patched_cpu_fixture

SPECS = [(0, 0, 1, -1), (-1, 2), (1, -2, -1, 1), (-1, -1, 0, 0), (2, 1)]


ms_cpu = patched_cpu_fixture()


def test_negative_pads_stay_right_over_repeated_calls(ms_cpu, torch):
    from mindspore import mint

    ms = ms_cpu
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 4)).astype(np.float32)
    for spec in SPECS:
        xt = torch.tensor(x, requires_grad=True)
        yt = torch.nn.functional.pad(xt, spec)
        w = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
        (yt * torch.tensor(w)).sum().backward()
        for _ in range(3):  # the bug shows from the second call on
            y = mint.nn.functional.pad(ms.Tensor(x), spec).asnumpy()
            g = ms.grad(lambda a: (mint.nn.functional.pad(a, spec) * ms.Tensor(w)).sum())(ms.Tensor(x)).asnumpy()
            assert np.array_equal(y, yt.detach().numpy()), spec
            assert np.array_equal(g, xt.grad.numpy()), spec


def test_zero_pad2d_time_shift_over_repeated_calls(ms_cpu, torch):
    from mindspore import mint

    h = np.arange(1, 13, dtype=np.float32).reshape(2, 6, 1)
    want = torch.nn.ZeroPad2d((0, 0, 1, -1))(torch.tensor(h)).numpy()
    shift = mint.nn.ZeroPad2d((0, 0, 1, -1))
    for _ in range(4):
        assert np.array_equal(shift(ms_cpu.Tensor(h)).asnumpy(), want)
