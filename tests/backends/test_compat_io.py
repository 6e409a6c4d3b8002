"""torch.save / torch.load converted (backends/mindspore/compat_io.py): a checkpoint torch wrote
resumes in the converted script (same outputs, fp32 exact after loading), the converted script's
own checkpoints round-trip and are plain safetensors files that numpy/torch read, writes honour the
umask, and what cannot be stored is a one-line error."""

from __future__ import annotations

import os

import numpy as np
import pytest

from codemods import convert_source
from compat_nn_helpers import ms_env  # noqa: F401 - fixture

SCRIPT = '''
import numpy as np
import torch
import torch.nn as nn


def build():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def write(path):
    model = build()
    torch.save({"model": model.state_dict(), "iter_num": 7, "config": {"n_layer": 2, "name": "tiny"},
                "best_val_loss": 0.25, "shape": (2, 3)}, path)


def resume(path, x):
    model = build()
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(ckpt["model"])
    return model(torch.from_numpy(x)), ckpt["iter_num"], ckpt["config"], ckpt["best_val_loss"]
'''


def test_a_torch_checkpoint_resumes_in_the_converted_script(ms_env, tmp_path, torch):
    result = convert_source(SCRIPT, "ckpt.py")
    assert "compat_io.save(" in result.code and "compat_io.load(" in result.code, result.code
    ns_t: dict = {}
    exec(compile(SCRIPT, "ckpt_torch.py", "exec"), ns_t)
    ns_m: dict = {}
    exec(compile(result.code, "ckpt_ms.py", "exec"), ns_m)
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    ns_t["write"](tmp_path / "torch.pt")
    want, it, cfg, best = ns_t["resume"](tmp_path / "torch.pt", x)
    got, it_m, cfg_m, best_m = ns_m["resume"](tmp_path / "torch.pt", x)
    assert np.array_equal(got.asnumpy(), want.detach().numpy())
    assert (it_m, cfg_m, best_m) == (it, cfg, best) == (7, {"n_layer": 2, "name": "tiny"}, 0.25)

    import mindspore as ms

    ns_m["write"](tmp_path / "ms.pt")  # the converted script's own checkpoint (its own seeded init): safetensors
    again, it2, cfg2, _ = ns_m["resume"](tmp_path / "ms.pt", x)
    saved = ns_m["build"]()(ms.Tensor(x))
    assert np.array_equal(again.asnumpy(), saved.asnumpy()) and (it2, cfg2) == (7, cfg)
    from safetensors.numpy import load_file

    flat = load_file(str(tmp_path / "ms.pt"))
    assert sorted(flat) == ["model/0.bias", "model/0.weight", "model/2.bias", "model/2.weight"]


def test_writes_honour_the_umask_and_bad_values_are_one_line_errors(ms_env, tmp_path):
    import mindspore as ms

    from backends.mindspore import compat_io

    old = os.umask(0o027)
    try:
        compat_io.save({"w": ms.Tensor(np.ones(2, np.float32)), "t": (1, "a", None)}, tmp_path / "c.pt")
    finally:
        os.umask(old)
    assert (tmp_path / "c.pt").stat().st_mode & 0o777 == 0o640
    back = compat_io.load(tmp_path / "c.pt")
    assert back["t"] == (1, "a", None) and back["w"].asnumpy().tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="cannot store a set at 'bad'"):
        compat_io.save({"bad": {1, 2}}, tmp_path / "d.pt")
    assert not (tmp_path / "d.pt").exists()
