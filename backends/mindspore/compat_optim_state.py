"""optimizer.state_dict() / optimizer.load_state_dict(sd) in torch's layout, for converted training scripts.

A torch optimizer checkpoints as `{"state": {i: {"step", "exp_avg", ...}}, "param_groups": [{"lr",
"betas", ..., "params": [0, 1, ...]}]}`; MindSpore's experimental optimizers hold the same numbers in
Parameters of their own (`exp_avg.<name>`, one `state_step`; SGD's `accum`/`stat`), and their
Cell.state_dict() is an OrderedDict of those. The converter rewrites the optimizer's calls
(codemods/rules/optimizer_state.py, MB408) to this module, which translates both ways, so a
checkpoint torch wrote resumes in the converted script and one the converted script wrote
(compat_io.save: safetensors + JSON) resumes in torch:

    ckpt = {"model": model.state_dict(), "optimizer": compat_optim_state.state_dict(optimizer), "iter_num": it}
    compat_io.save(ckpt, "ckpt.pt")
    ckpt = compat_io.load("ckpt.pt")                     # or a file torch.save wrote
    compat_optim_state.load_state_dict(optimizer, ckpt["optimizer"])

Index i is the optimizer's i-th parameter (groups in order, as torch numbers them); state values are
mindspore.Tensor copies, `step` a float32 0-d tensor as torch stores it, `lr` a Python float.
- AdamW, Adam (compat_train.Adam, what torch.optim.Adam converts to, and MindSpore's own):
  exp_avg, exp_avg_sq, and max_exp_avg_sq where the group has amsgrad. MindSpore counts one step
  for all parameters (`state_step`): the checkpoint's steps must agree; a parameter the checkpoint
  holds no state for starts from zero moments. Before the first step the state is {}, as in torch.
  compat_train.Adam's L2 weight decay is its groups' `weight_decay`.
- SGD: momentum_buffer is `accum` once a step has run (`stat` 0) and momentum is not 0, absent
  otherwise, as in torch. Loading one sets stat to 0 (the next step uses the buffer); its absence
  resets accum and stat (the next step starts the buffer from the gradient, as torch does).
- Adadelta, Adagrad, Adamax, ASGD, NAdam, RAdam, RMSprop, Rprop, SpeedAdamW, a user's own Optimizer
  subclass: NotImplementedError naming the class (their state is not translated yet).
Hyper-parameters read and written: lr, betas, eps, weight_decay, amsgrad, maximize (SGD: lr, momentum,
dampening, weight_decay, nesterov, maximize) and a scheduler's initial_lr; torch's implementation
flags (foreach, capturable, differentiable, fused, decoupled_weight_decay) are written as torch's
defaults and ignored on load. The number of groups and parameters and every shape are checked before
anything is written (a one-line ValueError). Writes go through ops.assign: Parameter.set_data would
leave the optimizer's compiled update on the old buffer (measured: the SGD momentum then stays at the
loaded value). An lr scheduler (`scheduler.step()` makes it a receiver too) checkpoints as torch's
does: its attributes but the optimizer, as Python numbers (`last_epoch`, `base_lrs`, `_last_lr`,
`_step_count`), and loads from torch's; one that holds other schedulers (SequentialLR, ChainedScheduler)
is a NotImplementedError. Anything else (a Cell, compat_train.GradScaler) uses its own
state_dict() / load_state_dict().
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import mindspore
from mindspore import ops
from mindspore.experimental.optim import SGD, Adam, AdamW, Optimizer
from mindspore.experimental.optim.lr_scheduler import LRScheduler

from backends.mindspore.compat_train import Adam as CompatAdam

__all__ = ["state_dict", "load_state_dict"]

_ADAM_FLAGS = {"foreach": None, "capturable": False, "differentiable": False, "fused": None}


@dataclass(frozen=True)
class _Kind:
    hyper: tuple  # torch's hyper-parameter keys, in torch's order
    flags: dict = field(default_factory=dict)  # torch-only keys: written with torch's defaults
    adam: bool = True  # Adam family (exp_avg/exp_avg_sq/state_step); else SGD (accum/stat)
    l2: bool = False  # weight_decay lives in compat_train.Adam's _l2


_ADAM_KEYS = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize")
_KINDS = {  # looked up along the optimizer's MRO: compat_train.Adam (an AdamW) finds its own entry first
    CompatAdam: _Kind(_ADAM_KEYS, {**_ADAM_FLAGS, "decoupled_weight_decay": False}, l2=True),
    AdamW: _Kind(_ADAM_KEYS, {**_ADAM_FLAGS, "decoupled_weight_decay": True}),
    Adam: _Kind(_ADAM_KEYS, {**_ADAM_FLAGS, "decoupled_weight_decay": False}),
    SGD: _Kind(("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"),
               {"foreach": None, "differentiable": False, "fused": None}, adam=False),
}


def _lr(value) -> float:
    """A float32 lr as the shortest decimal that is that float32 (0.05, not 0.05000000074505806)."""
    return float(str(np.float32(_array(value))))


_CAST = {"lr": _lr, "eps": float, "weight_decay": float, "momentum": float, "dampening": float,
         "amsgrad": bool, "maximize": bool, "nesterov": bool, "betas": lambda b: tuple(float(x) for x in b)}


def _kind(opt, method: str) -> _Kind:
    for cls in type(opt).__mro__:
        if cls in _KINDS:
            return _KINDS[cls]
        if cls is Optimizer:
            break
    raise NotImplementedError(f"optimizer.{method}(): {type(opt).__name__}'s state is not translated to torch's "
                              "layout on MindSpore (supported: AdamW, Adam, SGD)")


def _copy(param) -> mindspore.Tensor:
    return mindspore.Tensor(param.asnumpy())


def _group_of(opt) -> list[int]:
    """Group index of each parameter."""
    return [g for g in range(len(opt.param_groups))
            for _ in range(opt.group_start_id[g], opt.group_start_id[g + 1])]


_TORCH_ONLY = {"_step_count", "_is_initial", "_get_lr_called_within_step", "verbose"}
_MS_ONLY = {"optimizer", "increase_tensor", "groups_num"}


def _scalar(value):
    if isinstance(value, (mindspore.Tensor, mindspore.Parameter)):
        return value.asnumpy().item()
    if isinstance(value, list):
        return [_scalar(v) for v in value]
    return value


def _scheduler_state_dict(sched) -> dict:
    """An lr scheduler's state in torch's layout: its attributes but the optimizer, as Python numbers."""
    if any(isinstance(v, list) and v and isinstance(v[0], LRScheduler) for v in vars(sched).values()):
        raise NotImplementedError(f"state_dict() of {type(sched).__name__} (it holds other schedulers) is not "
                                  "translated yet")
    state = {k: _scalar(v) for k, v in vars(sched).items() if k not in _MS_ONLY}
    state["last_epoch"] = int(state["last_epoch"])
    state.update(_step_count=state["last_epoch"] + 1, _is_initial=False, _get_lr_called_within_step=False)
    return state


def _scheduler_load_state_dict(sched, state) -> None:
    """Restore an lr scheduler from torch's layout (or _scheduler_state_dict's): its counters and lrs."""
    for key, value in state.items():
        if key in _TORCH_ONLY or not hasattr(sched, key):
            continue
        held, value = getattr(sched, key), _scalar(value)
        if isinstance(held, mindspore.Parameter):
            ops.assign(held, mindspore.Tensor(value, held.dtype))
        elif isinstance(held, list) and held and isinstance(held[0], mindspore.Parameter):
            for param, v in zip(held, value):  # _last_lr: the optimizer's own lr Parameters
                ops.assign(param, mindspore.Tensor(v, param.dtype))
        elif isinstance(held, list) and held and isinstance(held[0], mindspore.Tensor):
            setattr(sched, key, [mindspore.Tensor(v, t.dtype) for t, v in zip(held, value)])
        else:
            setattr(sched, key, type(held)(value) if isinstance(held, (int, float)) else value)


def state_dict(obj, *args, **kwargs):
    """optimizer.state_dict() / an lr scheduler's in torch's layout; anything else: obj.state_dict()."""
    if isinstance(obj, LRScheduler):
        return _scheduler_state_dict(obj)
    if not isinstance(obj, Optimizer):
        return obj.state_dict(*args, **kwargs)
    kind = _kind(obj, "state_dict")
    groups = _group_of(obj)
    state: dict = {}
    if kind.adam:
        step = int(obj.state_step.asnumpy())
        for i in range(len(obj.parameters)) if step else ():
            entry = {"step": mindspore.Tensor(float(step), mindspore.float32),
                     "exp_avg": _copy(obj.exp_avg[i]), "exp_avg_sq": _copy(obj.exp_avg_sq[i])}
            if obj.param_groups[groups[i]].get("amsgrad"):
                entry["max_exp_avg_sq"] = _copy(obj.max_exp_avg_sq[i])
            state[i] = entry
    else:
        for i in range(len(obj.parameters)):
            if float(obj.param_groups[groups[i]]["momentum"]) != 0 and not obj.stat[i].asnumpy().any():
                state[i] = {"momentum_buffer": _copy(obj.accum[i])}
    param_groups = []
    for g, group in enumerate(obj.param_groups):
        out = {key: _CAST[key](obj._l2[g] if key == "weight_decay" and kind.l2 else group[key]) for key in kind.hyper}
        out.update(kind.flags)
        out["params"] = list(range(obj.group_start_id[g], obj.group_start_id[g + 1]))
        if "initial_lr" in group:
            out["initial_lr"] = _lr(group["initial_lr"])
        param_groups.append(out)
    return {"state": state, "param_groups": param_groups}


def _array(value) -> np.ndarray:
    return np.asarray(value.asnumpy() if hasattr(value, "asnumpy") else value)


def _assign(param, value) -> None:
    ops.assign(param, mindspore.Tensor(np.asarray(value), param.dtype))


def load_state_dict(obj, state, *args, **kwargs):
    """optimizer.load_state_dict(sd) from torch's layout (a torch checkpoint read by compat_io.load, or one
    state_dict() above wrote), an lr scheduler's likewise; anything else: obj.load_state_dict(state)."""
    if isinstance(obj, LRScheduler):
        return _scheduler_load_state_dict(obj, state)
    if not isinstance(obj, Optimizer):
        return obj.load_state_dict(state, *args, **kwargs)
    kind = _kind(obj, "load_state_dict")
    saved_groups = list(state["param_groups"])
    sizes = [obj.group_start_id[g + 1] - obj.group_start_id[g] for g in range(len(obj.param_groups))]
    saved_sizes = [len(g["params"]) for g in saved_groups]
    if saved_sizes != sizes:
        raise ValueError(f"optimizer.load_state_dict(): the checkpoint has {len(saved_sizes)} parameter group(s) of "
                         f"{saved_sizes} parameters, this {type(obj).__name__} {len(sizes)} of {sizes}")
    saved = {int(k): v for k, v in state["state"].items()}
    ids = [int(i) for g in saved_groups for i in g["params"]]  # torch's id of this optimizer's i-th parameter
    entries = [saved.get(pid, {}) for pid in ids]
    writes = []  # (Parameter, array): checked first, written only when all fit
    if kind.adam:
        steps = {float(_array(e["step"])) for e in entries if "step" in e}
        if len(steps) > 1:
            raise ValueError(f"optimizer.load_state_dict(): the checkpoint's parameters have different steps "
                             f"{sorted(steps)}; MindSpore's {type(obj).__name__} keeps one step for all")
        writes.append((obj.state_step, round(steps.pop()) if steps else 0))
        names = [("exp_avg", obj.exp_avg), ("exp_avg_sq", obj.exp_avg_sq), ("max_exp_avg_sq", obj.max_exp_avg_sq)]
    else:
        names = [("momentum_buffer", obj.accum)]
    for i, (param, entry) in enumerate(zip(obj.parameters, entries)):
        for key, slots in names:
            value = entry.get(key)
            value = np.zeros(param.shape) if value is None else _array(value)
            if tuple(value.shape) != tuple(param.shape):
                raise ValueError(f"optimizer.load_state_dict(): param {i} ({param.name}): the checkpoint's {key} "
                                 f"has shape {tuple(value.shape)}, the parameter {tuple(param.shape)}")
            writes.append((slots[i], value))
        if not kind.adam:  # stat 1: the next step starts the buffer from the gradient
            writes.append((obj.stat[i], np.full(param.shape, 0.0 if "momentum_buffer" in entry else 1.0)))
    for param, value in writes:
        _assign(param, value)
    for g, (group, saved_group) in enumerate(zip(obj.param_groups, saved_groups)):
        for key in kind.hyper:
            if key not in saved_group:
                continue
            if key == "lr":
                value = float(_array(saved_group["lr"]))
                _assign(obj.lrs[g], value)
                if group["lr"] is not obj.lrs[g]:  # the script wrote a float into param_groups
                    group["lr"] = value
            elif key == "weight_decay" and kind.l2:
                obj._l2[g] = float(saved_group[key])
            else:
                group[key] = _CAST[key](saved_group[key])
        if "initial_lr" in saved_group:
            value = float(_array(saved_group["initial_lr"]))
            keep_tensor = isinstance(group.get("initial_lr"), mindspore.Tensor)
            group["initial_lr"] = mindspore.Tensor(value, mindspore.float32) if keep_tensor else value
