"""mint.nn layers that the converter emits, on CPU with the fallback set applied: parameter names
equal torch's state_dict keys, and forward + parameter/input gradients match torch after copying
the weights by name, in PyNative and graph mode (mindspore.jit).

    .venv/bin/pytest tests/patches/test_ms_fallback_layers.py -q
"""

import numpy as np
import pytest
from ms_parity import fallbacks_fixture, mint, ms, randf, rel_l2

IDS = np.array([[1, 0, 9], [3, 3, 0]], dtype=np.int64)
_I, _J = np.meshgrid(range(2), range(3), indexing="ij")
UNPOOL_IDX = np.broadcast_to((2 * _I + (_I + _J) % 2) * 6 + 2 * _J, (2, 3, 2, 3)).astype(np.int64)  # one per 2x2 window of 4x6
# (layer class name, constructor args, kwargs, inputs, train mode)
LAYERS = [
    ("Embedding", (10, 4), {"padding_idx": 0}, [IDS], True),
    ("LayerNorm", ((4, 5),), {"eps": 1e-4}, [randf(3, 4, 5)], True),
    ("Linear", (5, 3), {}, [randf(3, 4, 5)], True),
    ("GELU", (), {"approximate": "tanh"}, [randf(3, 4, 5)], True),
    ("Dropout", (0.5,), {}, [randf(3, 4, 5)], False),  # eval: identity, as in torch
    ("Conv2d", (3, 4, 3), {"padding": 1, "stride": 2}, [randf(2, 3, 6, 7)], True),
    ("BatchNorm2d", (3,), {}, [randf(2, 3, 6, 7)], True),
    ("BatchNorm2d", (3,), {}, [randf(2, 3, 6, 7)], False),
    ("CrossEntropyLoss", (), {"ignore_index": 2, "label_smoothing": 0.1},
     [randf(6, 5), np.array([1, 2, 4, 0, 2, 3], np.int64)], True),
    ("LogSoftmax", (), {"dim": -1}, [randf(3, 4, 5)], True),
    ("MSELoss", (), {"reduction": "sum"}, [randf(3, 4), randf(3, 4)], True),
    ("L1Loss", (), {}, [randf(3, 4), randf(3, 4)], True),
    ("Conv1d", (3, 2, 3), {"padding": 1}, [randf(2, 3, 7)], True),
    ("Hardtanh", (-0.5, 0.5), {}, [randf(3, 4)], True),
    ("ReLU6", (), {}, [randf(3, 4) * 5], True),
    ("NLLLoss", (), {"ignore_index": 1}, [randf(6, 5), np.array([1, 2, 4, 0, 2, 3], np.int64)], True),
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, [randf(2, 3, 7, 9)], True),
    ("MaxPool2d", (2,), {}, [randf(2, 3, 7, 9)], True),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}, [randf(2, 3, 7, 9)], True),
    ("AvgPool2d", (2,), {"ceil_mode": True, "divisor_override": 3}, [randf(2, 3, 7, 9)], True),
    ("AdaptiveAvgPool2d", ((3, None),), {}, [randf(2, 3, 7, 9)], True),
    ("AvgPool1d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, [randf(2, 3, 9)], True),
    ("AdaptiveAvgPool1d", (4,), {}, [randf(2, 3, 9)], True),
    ("AdaptiveMaxPool1d", (4,), {}, [randf(2, 3, 9)], True),
    ("AvgPool3d", (2,), {"stride": 1, "padding": 1, "count_include_pad": False}, [randf(2, 3, 4, 5, 6)], True),
    ("AdaptiveAvgPool3d", ((2, None, 3),), {}, [randf(2, 3, 4, 5, 6)], True),
    ("MaxUnpool2d", (2,), {}, [randf(2, 3, 2, 3), UNPOOL_IDX], True),
    ("ConvTranspose2d", (4, 6, 3), {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2},
     [randf(2, 4, 5, 6)], True),
    ("Conv3d", (4, 6, (2, 3, 2)), {"stride": (1, 2, 1), "padding": 1, "groups": 2}, [randf(2, 4, 4, 5, 6)], True),
    ("Conv3d", (3, 2, 3), {"padding": 1, "padding_mode": "reflect", "bias": False}, [randf(2, 3, 4, 5, 6)], True),
    ("Unfold", ((2, 3),), {"padding": 1, "stride": 2}, [randf(2, 3, 5, 6)], True),
    ("Fold", ((5, 5), (2, 3)), {}, [randf(2, 12, 12)], True),
    ("CosineEmbeddingLoss", (), {"margin": 0.2}, [randf(5, 4), randf(5, 4), np.array([1, -1, 1, -1, -1], np.float32)],
     True),
    ("ReflectionPad3d", ((1, 2, 0, 1, 2, 1),), {}, [randf(2, 3, 4, 5, 6)], True),
    ("UpsamplingNearest2d", (), {"scale_factor": 2.0}, [randf(2, 3, 4, 5)], True),
    ("UpsamplingBilinear2d", (), {"scale_factor": 1.5}, [randf(2, 3, 4, 5)], True),
    ("UpsamplingBilinear2d", ((7, 9),), {}, [randf(2, 3, 4, 5)], True),
    ("Dropout2d", (0.5,), {}, [randf(2, 3, 4, 5)], False),  # eval: identity
]


fallbacks = fallbacks_fixture()


def _pair(name, args, kwargs, train):
    import torch

    torch.manual_seed(0)
    t_layer = getattr(torch.nn, name)(*args, **kwargs)
    m_layer = getattr(mint.nn, name)(*args, **kwargs)
    t_layer.train(train)
    m_layer.set_train(train)
    sd = {k: v.detach().numpy() for k, v in t_layer.state_dict().items()}
    m_params = dict(m_layer.parameters_and_names())
    m_names = {n for n, _ in m_layer.parameters_and_names()}
    assert m_names == set(sd), f"{name}: MindSpore parameter names {sorted(m_names)} != torch keys {sorted(sd)}"
    for k, v in sd.items():
        m_params[k].set_data(ms.Tensor(v.astype(np.float32) if v.dtype.kind == "f" else v.astype(np.int64)))
    return t_layer, m_layer


@pytest.mark.parametrize("graph", [False, True], ids=["pynative", "graph"])
@pytest.mark.parametrize("spec", LAYERS, ids=[f"{s[0]}-{'train' if s[4] else 'eval'}" for s in LAYERS])
def test_layer_matches_torch(spec, graph):
    import torch

    name, args, kwargs, inputs, train = spec
    t_layer, m_layer = _pair(name, args, kwargs, train)
    t_in = [torch.tensor(a) for a in inputs]
    if t_in[0].is_floating_point():
        t_in[0].requires_grad_(True)
    t_out = t_layer(*t_in)
    cot = np.random.default_rng(7).uniform(0.5, 1.5, tuple(t_out.shape)).astype(np.float32)
    t_params = [p for p in t_layer.parameters() if p.requires_grad]
    wrt = ([t_in[0]] if t_in[0].requires_grad else []) + t_params
    t_grads = torch.autograd.grad((t_out * torch.tensor(cot)).sum(), wrt) if wrt else []

    def loss(*a):
        return (m_layer(*a[:-1]) * a[-1]).sum()

    grad_pos = 0 if inputs[0].dtype.kind == "f" else None
    m_weights = m_layer.trainable_params()
    fn = ms.value_and_grad(loss, grad_pos, m_weights if m_weights else None)
    fwd = ms.jit(m_layer.construct) if graph else m_layer
    if graph:
        fn = ms.jit(fn)
    m_in = [ms.Tensor(a) for a in inputs]
    m_out = fwd(*m_in)
    assert rel_l2(m_out.asnumpy(), t_out.detach().numpy()) <= 1e-6, f"{name} forward"
    if not wrt:
        return
    _, m_grads = fn(*m_in, ms.Tensor(cot))
    if grad_pos is not None and m_weights:
        m_grads = [m_grads[0], *m_grads[1]]
    elif not isinstance(m_grads, (tuple, list)):
        m_grads = [m_grads]
    assert len(m_grads) == len(t_grads)
    for k, (g_ms, g_t) in enumerate(zip(m_grads, t_grads)):
        assert rel_l2(g_ms.asnumpy(), g_t.numpy()) <= 1e-6, f"{name} grad {k}"


def test_batchnorm_updates_running_stats_like_torch():
    import torch

    x = randf(4, 3, 5, 5)
    t_layer, m_layer = _pair("BatchNorm2d", (3,), {"momentum": 0.2}, True)
    t_layer(torch.tensor(x))
    m_layer(ms.Tensor(x))
    for k in ("running_mean", "running_var"):
        assert rel_l2(m_layer.parameters_dict()[k].asnumpy(), getattr(t_layer, k).numpy()) <= 1e-6, k
