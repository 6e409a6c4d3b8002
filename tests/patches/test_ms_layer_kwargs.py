"""mint.nn layers accept torch's `device=` and `inplace=` when the class travels as a value
(patches/mindspore/layer_kwargs.py): timm's `linear_layer(a, b, **dd)` and `act_layer(inplace=True)`.
Compared with torch (fp32, relative L2 <= 1e-6 after loading torch's weights), PyNative."""

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


def _layers(nn):
    return {"linear": nn.Linear, "norm": nn.LayerNorm, "act": nn.ReLU, "conv": nn.Conv2d}


def test_classes_as_values_take_torch_factory_keywords(ms_patched, torch):
    from mindspore import mint

    dd = {"device": None, "dtype": None}
    built = {}
    for side, nn in (("torch", torch.nn), ("ms", mint.nn)):
        kinds = _layers(nn)
        built[side] = (kinds["linear"](4, 6, bias=True, **dd), kinds["norm"](6, eps=1e-5, **dd),
                       kinds["act"](inplace=True), kinds["conv"](2, 3, 3, padding=1, **dd))
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    t_lin, t_norm, t_act, _ = built["torch"]
    m_lin, m_norm, m_act, m_conv = built["ms"]
    for t_layer, m_layer in ((t_lin, m_lin), (t_norm, m_norm)):
        for name, value in t_layer.state_dict().items():
            getattr(m_layer, name).set_data(ms_patched.Tensor(value.numpy()))
    want = t_act(t_norm(t_lin(torch.tensor(x)))).detach().numpy()
    got = m_act(m_norm(m_lin(ms_patched.Tensor(x)))).asnumpy()
    assert np.linalg.norm(got - want) <= 1e-6 * np.linalg.norm(want)
    assert m_conv.weight.shape == (3, 2, 3, 3)


def test_other_unknown_keywords_still_fail_and_revert_restores(ms_patched):
    from mindspore import mint

    import patches.mindspore as pm

    with pytest.raises(TypeError, match="no_such"):
        mint.nn.Linear(2, 3, no_such=1)
    pm.revert()
    with pytest.raises(TypeError, match="device"):
        mint.nn.Linear(2, 3, device="cpu")
