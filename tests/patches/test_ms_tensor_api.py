"""A 0-d tensor takes a format spec as torch's does (`f"{loss:.4f}"`, patches/mindspore/tensor_api.py);
without a spec and for tensors with dimensions, formatting behaves as torch's too."""

import numpy as np
import pytest

from conftest import needs


@pytest.fixture
def ms_patched():
    needs("mindspore")
    import mindspore

    import patches.mindspore as pm

    pm.apply("CPU")
    yield mindspore
    pm.revert()


@pytest.mark.parametrize("spec", [".4f", "8.3e", ">10.2f", "g"])
def test_zero_d_tensors_format_like_torch(ms_patched, torch, spec):
    value = np.float32(1.2345678)
    want = format(torch.tensor(value), spec)
    assert format(ms_patched.Tensor(value), spec) == want
    assert format(ms_patched.Parameter(ms_patched.Tensor(value), name="p"), spec) == want
    assert format(ms_patched.Tensor(np.int64(7)), "03d") == format(torch.tensor(7), "03d")


def test_a_spec_on_a_tensor_with_dimensions_fails_as_on_torch(ms_patched, torch):
    with pytest.raises(TypeError):
        format(torch.ones(2), ".2f")
    with pytest.raises(TypeError):
        format(ms_patched.Tensor(np.ones(2, np.float32)), ".2f")
    assert f"{ms_patched.Tensor(np.ones(2, np.float32))}" == str(ms_patched.Tensor(np.ones(2, np.float32)))


def test_tensor_device_is_the_same_string_with_torchs_type(ms_patched):
    """x.device.type (transformers picks a histc dtype by it): 'cpu' for MindSpore's 'CPU'."""
    d = ms_patched.Tensor(np.ones(2, np.float32)).device
    assert d == "CPU" and d.type == "cpu" and d.index is None
