"""Same weights, same batches: the record/replay hook of benchmarks/train_scripts.py (not product code).

The harness puts this folder on PYTHONPATH, so Python imports it before the training script runs.
With MB_TRAIN_RECORD=DIR (the torch run) it records, and with MB_TRAIN_REPLAY=DIR (the converted
run on MindSpore) it replays, in order:

- the parameters every optimizer holds when it is created (torch.optim.Optimizer /
  mindspore.experimental.optim.Optimizer): both runs start from torch's initial weights;
- the random draws the script's own lines make (torch.randint/randn/rand/randperm/multinomial/normal
  and their mint counterparts, only when called from a file under MB_TRAIN_SCRIPT_DIR: nanoGPT's
  batch indices);
- the orders of the data pipeline's random samplers and random_split (torch.utils.data and
  backends.mindspore.compat_data).

Dropout masks and other draws inside the framework are not replayed: a script that depends on them
is compared by loss curves. The scripts themselves run unchanged.

The noise floor: MB_TRAIN_REPLAY on a torch run replays into torch, and MB_TRAIN_GRAD_NOISE=E adds
E x RMS(grad) of Gaussian noise (numpy's generator, not torch's) to every gradient before each
optimizer step. How far torch's own losses move under noise of 1e-6 -- the size of the difference
between two fp32 kernel libraries -- is how closely any second framework can follow the script.
"""

import os
import sys

_RECORD = os.environ.get("MB_TRAIN_RECORD")
_REPLAY = os.environ.get("MB_TRAIN_REPLAY")
_SCRIPT_DIR = os.path.realpath(os.environ.get("MB_TRAIN_SCRIPT_DIR", "/nonexistent"))
_DRAWS = ("randint", "randn", "rand", "randperm", "multinomial", "normal")
_counts: dict = {}


def _next(kind: str) -> str:
    n = _counts.get(kind, 0)
    _counts[kind] = n + 1
    return os.path.join(_RECORD or _REPLAY, f"{kind}_{n:05d}.{'npz' if kind == 'init' else 'npy'}")


def _from_script() -> bool:
    frame = sys._getframe(2)
    return os.path.realpath(frame.f_code.co_filename).startswith(_SCRIPT_DIR + os.sep)


def _load(kind: str):
    import numpy as np

    path = _next(kind)
    if not os.path.exists(path):
        raise RuntimeError(f"replay: the converted run asked for {os.path.basename(path)}, which the torch run "
                           f"never recorded (the two runs diverged in control flow)")
    return np.load(path)


def _replay_data(data):
    """Replay sampler orders and random_split's indices into a torch.utils.data-like module; returns the
    replaying random_split (also installed as data.random_split)."""
    def replay_order(self):
        return iter(_load("order").tolist())

    data.RandomSampler.__iter__ = replay_order
    data.SubsetRandomSampler.__iter__ = replay_order
    split = data.random_split

    def random_split(dataset, lengths, generator=None):
        parts = split(dataset, lengths)
        order, start = _load("split").tolist(), 0
        for p in parts:
            p.indices = order[start:start + len(p.indices)]
            start += len(p.indices)
        return parts

    data.random_split = random_split
    return random_split


def _record_torch():
    import numpy as np
    import torch
    import torch.utils.data as data

    init = torch.optim.Optimizer.__init__

    def optimizer_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if getattr(self, "_mb_recorded", False):
            return
        self._mb_recorded = True
        params = [p.detach().numpy() for g in self.param_groups for p in g["params"]]
        np.savez(_next("init"), *params)

    torch.optim.Optimizer.__init__ = optimizer_init

    def recorder(fn):
        def draw(*args, **kwargs):
            out = fn(*args, **kwargs)
            if _from_script():
                np.save(_next("draw"), out.numpy())
            return out
        return draw

    for name in _DRAWS:
        setattr(torch, name, recorder(getattr(torch, name)))

    def sampler_recorder(cls):
        iterate = cls.__iter__

        def __iter__(self):
            order = list(iterate(self))
            np.save(_next("order"), np.array(order, dtype=np.int64))
            return iter(order)
        cls.__iter__ = __iter__

    sampler_recorder(data.RandomSampler)
    sampler_recorder(data.SubsetRandomSampler)
    split = data.random_split

    def random_split(dataset, lengths, generator=None):
        parts = split(dataset, lengths, generator=generator) if generator is not None else split(dataset, lengths)
        np.save(_next("split"), np.array([i for p in parts for i in p.indices], dtype=np.int64))
        return parts

    data.random_split = random_split
    data.dataset.random_split = random_split


def _replay_torch():
    import numpy as np
    import torch
    import torch.utils.data as data

    init = torch.optim.Optimizer.__init__

    def optimizer_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if getattr(self, "_mb_replayed", False):
            return
        self._mb_replayed = True
        archive = _load("init")
        with torch.no_grad():
            for i, p in enumerate(p for g in self.param_groups for p in g["params"]):
                p.copy_(torch.from_numpy(archive[f"arr_{i}"]))

    torch.optim.Optimizer.__init__ = optimizer_init

    def replayer(fn):
        def draw(*args, **kwargs):
            return torch.from_numpy(_load("draw")) if _from_script() else fn(*args, **kwargs)
        return draw

    for name in _DRAWS:
        setattr(torch, name, replayer(getattr(torch, name)))

    data.dataset.random_split = _replay_data(data)
    noise = float(os.environ.get("MB_TRAIN_GRAD_NOISE", 0))
    if noise:
        rng = np.random.default_rng(0)

        def add_noise(optimizer, args, kwargs):
            for g in optimizer.param_groups:
                for p in g["params"]:
                    if p.grad is not None:
                        rms = float(p.grad.pow(2).mean().sqrt())
                        p.grad.add_(torch.from_numpy(rng.standard_normal(p.grad.shape).astype(np.float32)) * (noise * rms))

        from torch.optim.optimizer import register_optimizer_step_pre_hook

        register_optimizer_step_pre_hook(add_noise)


def _is_torch_run() -> bool:
    return os.environ.get("MB_TRAIN_BACKEND") == "torch"


def _replay_mindspore():
    import mindspore
    from mindspore import mint, ops
    from mindspore.experimental.optim import Optimizer

    init = Optimizer.__init__

    def optimizer_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if getattr(self, "_mb_replayed", False):
            return
        self._mb_replayed = True
        archive = _load("init")
        saved = [archive[f"arr_{i}"] for i in range(len(archive.files))]
        params = list(self.parameters)
        if len(saved) != len(params):
            raise RuntimeError(f"replay: torch's optimizer held {len(saved)} parameters, MindSpore's holds {len(params)}")
        for i, (p, value) in enumerate(zip(params, saved)):
            if tuple(p.shape) != tuple(value.shape):
                raise RuntimeError(f"replay: parameter {i} ({p.name}) is {tuple(p.shape)} here, {value.shape} in torch")
            ops.assign(p, mindspore.Tensor(value, p.dtype))  # set_data can leave an optimizer on the old buffer

    Optimizer.__init__ = optimizer_init

    def replayer(fn):
        def draw(*args, **kwargs):
            if not _from_script():
                return fn(*args, **kwargs)
            return mindspore.Tensor(_load("draw"))
        return draw

    def install():
        for name in _DRAWS:
            setattr(mint, name, replayer(getattr(mint, name)))

    # the kernel fallbacks of patches.mindspore replace some mint random ops when the script readies
    # MindSpore: wrap whatever is there after they are applied
    import patches.mindspore

    apply = patches.mindspore.apply

    def apply_then_replay(*args, **kwargs):
        out = apply(*args, **kwargs)
        install()
        return out

    patches.mindspore.apply = apply_then_replay

    from backends.mindspore import compat_data

    _replay_data(compat_data)


try:
    if _RECORD:
        os.makedirs(_RECORD, exist_ok=True)
        _record_torch()
    elif _REPLAY:
        _replay_torch() if _is_torch_run() else _replay_mindspore()
except BaseException:  # Python reports an error in sitecustomize and runs on: a run without its hook
    import traceback

    traceback.print_exc()
    sys.stderr.write("error: the record/replay hook failed to install\n")
    os._exit(70)
