"""Optimizer state in checkpoints, in torch's layout (backends/mindspore/compat_optim_state.py, rule MB408):
a torch training script is converted and run on MindSpore (fp32, CPU, PyNative). A checkpoint torch wrote
after 2 steps (model, optimizer, iter_num) resumes in the converted script, and 2 more steps give torch's
weights (resumed the same way) within relative L2 1e-5, with AdamW, Adam (amsgrad) and SGD (nesterov);
the converted script's optimizer state_dict() is torch's, key for key; the checkpoint it writes loads into
torch's optimizer and the next step is MindSpore's; a checkpoint of another shape is a one-line error."""

from __future__ import annotations

import json

import numpy as np
import pytest

from codemods import convert_source
from compat_nn_helpers import ms_env  # noqa: F401 - fixture

SCRIPT = '''
import numpy as np
import torch
import torch.nn as nn


def build(out_features=2):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, out_features))
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(torch.from_numpy(np.random.default_rng(i).uniform(-0.5, 0.5, tuple(p.shape)).astype(np.float32)))
    return model


def make_optimizer(model):
    return OPTIMIZER


def get_batch(i):
    rng = np.random.default_rng(100 + i)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(np.tanh(x[:, :2]))


def train(model, optimizer, start, stop):
    for it in range(start, stop):
        X, Y = get_batch(it)
        loss = ((model(X) - Y) ** 2).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


def save(path, model, optimizer, iter_num):
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "iter_num": iter_num}, path)


def resume(path):
    ckpt = torch.load(path, map_location="cpu")
    model = build()
    model.load_state_dict(ckpt["model"])
    optimizer = make_optimizer(model)
    optimizer.load_state_dict(ckpt["optimizer"])
    return model, optimizer, ckpt["iter_num"]


def weights(model):
    return [p.detach().numpy() if hasattr(p, "detach") else p.asnumpy() for p in model.parameters()]
'''

OPTIMIZERS = {
    "adamw": "torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.1)",
    # eps 1e-3 as in tests/codemods/test_train_step.py (with 1e-8, fp32 rounding of a near-zero gradient
    # element becomes a full lr step); amsgrad: max_exp_avg_sq goes through the checkpoint too
    "adam_amsgrad": "torch.optim.Adam(model.parameters(), lr=0.05, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.01, "
                    "amsgrad=True)",
    "sgd_nesterov": "torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)",
}


def _exec(code: str, filename: str) -> dict:
    ns: dict = {}
    exec(compile(code, filename, "exec"), ns)
    return ns


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def _numpy(x):
    return x.asnumpy() if hasattr(x, "asnumpy") else x.detach().numpy()


def _torch_read(path):
    """compat_io's file read in torch: the safetensors tensors, put back into the JSON structure of its metadata."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        structure = json.loads(f.metadata()["mindbridge.structure"])

    def rebuild(node):
        if isinstance(node, dict):
            if "__tensor__" in node:
                return tensors[node["__tensor__"]]
            if "__dict__" in node:
                return {k: rebuild(v) for k, v in node["__dict__"]}
            if "__tuple__" in node:
                return tuple(rebuild(v) for v in node["__tuple__"])
            if "__list__" in node:
                return [rebuild(v) for v in node["__list__"]]
        return node

    return rebuild(structure)


# MindSpore's AdamW updates exp_avg_sq with 1 - float32(beta2): 0.999 -> 1 - 1.29e-5 of torch's (measured:
# 0.99998713 after one step), so its second moment is 1.1e-5 apart after 4 steps (weights: within 1e-5)
STATE_TOL = 3e-5


def _same_layout(ms_sd, torch_sd, name, tol=STATE_TOL):
    """ms_sd is torch's state_dict: the same groups (hyper-parameters equal), indices, keys, shapes; values close."""
    assert ms_sd["param_groups"] == torch_sd["param_groups"], name
    assert sorted(ms_sd["state"]) == sorted(torch_sd["state"]), name
    worst = 0.0
    for i, entry in torch_sd["state"].items():
        assert list(ms_sd["state"][i]) == list(entry), (name, i)
        for key, value in entry.items():
            got = _numpy(ms_sd["state"][i][key])
            assert got.shape == tuple(value.shape) and got.dtype == np.float32, (name, i, key)
            worst = max(worst, _rel(got, value.numpy()))
    assert worst <= tol, (name, worst)
    return worst


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_state_resumes_across_frameworks(name, ms_env, tmp_path, torch):
    from backends.mindspore import compat_optim_state

    source = SCRIPT.replace("OPTIMIZER", OPTIMIZERS[name])
    result = convert_source(source, "train.py")
    assert [d for d in result.diagnostics if d.level == "error"] == [], result.diagnostics
    assert "compat_optim_state.state_dict(optimizer)" in result.code, result.code
    assert "compat_optim_state.load_state_dict(optimizer, ckpt[\"optimizer\"])" in result.code, result.code
    assert "model.load_state_dict(ckpt[\"model\"])" in result.code  # the model's stays its own
    t, m = _exec(source, "train_torch.py"), _exec(result.code, "train_ms.py")

    fresh_t, fresh_m = t["build"](), m["build"]()
    _same_layout(compat_optim_state.state_dict(m["make_optimizer"](fresh_m)), t["make_optimizer"](fresh_t).state_dict(),
                 name)  # before the first step: {"state": {}, ...} in both

    # (a) torch trains 2 steps and saves; torch and the converted script resume it and train 2 more
    model = t["build"]()
    optimizer = t["make_optimizer"](model)
    t["train"](model, optimizer, 0, 2)
    t["save"](tmp_path / "torch.pt", model, optimizer, 2)
    t_model, t_opt, t_it = t["resume"](tmp_path / "torch.pt")
    m_model, m_opt, m_it = m["resume"](tmp_path / "torch.pt")
    assert t_it == m_it == 2
    t["train"](t_model, t_opt, 2, 4)
    m["train"](m_model, m_opt, 2, 4)
    diffs = [_rel(a, b) for a, b in zip(m["weights"](m_model), t["weights"](t_model))]
    assert max(diffs) <= 1e-5, (name, diffs)
    state_diff = _same_layout(compat_optim_state.state_dict(m_opt), t_opt.state_dict(), name)

    # (b) the converted script saves (compat_io: safetensors + JSON); torch loads it and takes the next step
    m["save"](tmp_path / "ms.pt", m_model, m_opt, 4)
    ckpt = _torch_read(tmp_path / "ms.pt")
    b_model = t["build"]()
    b_model.load_state_dict(ckpt["model"])
    b_opt = t["make_optimizer"](b_model)
    b_opt.load_state_dict(ckpt["optimizer"])
    assert ckpt["iter_num"] == 4 and b_opt.state_dict()["param_groups"] == t_opt.state_dict()["param_groups"]
    t["train"](b_model, b_opt, 4, 5)
    m["train"](m_model, m_opt, 4, 5)
    next_diffs = [_rel(a, b) for a, b in zip(m["weights"](m_model), t["weights"](b_model))]
    assert max(next_diffs) <= 1e-5, (name, next_diffs)
    print(f"{name}: weights after step 4 {max(diffs):.1e}, optimizer state {state_diff:.1e}, "
          f"step 5 from the MindSpore checkpoint {max(next_diffs):.1e} (max relative L2)")


def test_a_checkpoint_of_another_shape_is_a_one_line_error(ms_env, tmp_path, torch):
    from backends.mindspore import compat_io, compat_optim_state

    source = SCRIPT.replace("OPTIMIZER", OPTIMIZERS["adamw"])
    t, m = _exec(source, "train_torch.py"), _exec(convert_source(source, "train.py").code, "train_ms.py")
    model = t["build"]()
    optimizer = t["make_optimizer"](model)
    t["train"](model, optimizer, 0, 1)
    t["save"](tmp_path / "torch.pt", model, optimizer, 1)
    other = m["make_optimizer"](m["build"](out_features=3))
    before = other.exp_avg[0].asnumpy().copy()
    with pytest.raises(ValueError) as err:
        compat_optim_state.load_state_dict(other, compat_io.load(tmp_path / "torch.pt")["optimizer"])
    message = str(err.value)
    assert "\n" not in message and "param 2" in message and "(2, 8)" in message and "(3, 8)" in message, message
    assert np.array_equal(other.exp_avg[0].asnumpy(), before)  # nothing written
    fewer = m["make_optimizer"](m["build"]()[0])  # 2 parameters, not 4
    with pytest.raises(ValueError, match=r"\[4\] parameters, this AdamW 1 of \[2\]"):
        compat_optim_state.load_state_dict(fewer, compat_io.load(tmp_path / "torch.pt")["optimizer"])


def test_other_objects_use_their_own_state_dict_and_other_optimizers_say_so(ms_env):
    from mindspore import mint
    from mindspore.experimental.optim import Adagrad
    from mindspore.experimental.optim.lr_scheduler import StepLR

    from backends.mindspore import compat_optim_state

    cell = mint.nn.Linear(2, 1)
    assert list(compat_optim_state.state_dict(cell)) == list(cell.state_dict()) == ["weight", "bias"]
    opt = Adagrad(cell.trainable_params(), lr=0.1)
    with pytest.raises(NotImplementedError, match="Adagrad"):
        compat_optim_state.state_dict(opt)
    with pytest.raises(NotImplementedError, match="Adagrad"):
        compat_optim_state.load_state_dict(opt, {"state": {}, "param_groups": []})

    from mindspore.experimental.optim import SGD

    sgd = SGD(cell.trainable_params(), lr=0.1)
    StepLR(sgd, step_size=2)  # sets initial_lr, as torch's schedulers do
    sd = compat_optim_state.state_dict(sgd)
    assert sd["state"] == {} and sd["param_groups"][0]["initial_lr"] == 0.1
    sd["param_groups"][0]["lr"] = 0.025
    compat_optim_state.load_state_dict(sgd, sd)
    assert compat_optim_state.state_dict(sgd)["param_groups"][0]["lr"] == 0.025
