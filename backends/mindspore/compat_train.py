"""torch's imperative training step on MindSpore, for converted training scripts.

torch accumulates gradients on Parameters (`loss.backward()`), clears them (`zero_grad()`), clips
them in place (`clip_grad_norm_`) and applies them (`optimizer.step()`); MindSpore returns them from
`mindspore.value_and_grad`. The converter (codemods/rules/train_step.py) keeps the script's shape
and puts the code that computes the loss into a function, so this module can differentiate it:

    optimizer.zero_grad()                       compat_train.zero_grad(optimizer)
    logits, loss = model(x, y)                  def _mb_forward():
    loss.backward()                      ->         logits, loss = model(x, y)
                                                    return loss, (logits, loss)
                                                (logits, loss) = compat_train.backward(_mb_forward)
    clip_grad_norm_(model.parameters(), 1.0)    compat_train.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()                            compat_train.step(optimizer)
    scheduler.step()                            compat_train.step(scheduler)  # not an optimizer: scheduler.step()

`backward` differentiates with respect to the parameters of every optimizer created so far (torch
differentiates every leaf; a parameter no optimizer holds cannot be updated anyway) and adds the
gradients to a store keyed by Parameter, as torch adds to `.grad`: several backward() calls before
a step accumulate. `step(optimizer)` hands the store's gradients to the MindSpore optimizer
(`mindspore.experimental.optim`, torch semantics). A parameter without a gradient gets zeros
(torch skips it: with weight decay the two differ for such a parameter). PyNative only.
"""

from __future__ import annotations

import weakref

import mindspore
from mindspore import ops
from mindspore.experimental.optim import AdamW, Optimizer

_OPTIMIZERS: "weakref.WeakSet[Optimizer]" = weakref.WeakSet()
_GRADS: dict[int, tuple] = {}  # id(Parameter) -> (Parameter, accumulated gradient)

__all__ = ["backward", "zero_grad", "step", "clip_grad_norm_", "grad", "GradScaler", "track", "Adam"]


def track(optimizer: Optimizer) -> Optimizer:
    """Register an optimizer whose parameters backward() differentiates (done for every one created)."""
    _OPTIMIZERS.add(optimizer)
    return optimizer


def _register_on_init() -> None:
    init = Optimizer.__init__
    if getattr(init, "_mindbridge_tracks", False):
        return

    def __init__(self, params, *args, **kwargs):
        init(self, _trainable(params), *args, **kwargs)
        _OPTIMIZERS.add(self)

    __init__._mindbridge_tracks = True
    Optimizer.__init__ = __init__


_register_on_init()


def _trainable(params):
    """The parameters a torch optimizer would ever move. `model.get_parameters()` also yields the
    normalisation layers' running statistics (torch buffers, MindSpore Parameters with
    requires_grad=False); torch skips a frozen parameter (it has no gradient), so leaving both out
    changes nothing but keeps weight decay and momentum off them."""
    if isinstance(params, (mindspore.Parameter, mindspore.Tensor)):
        return params
    params = list(params)
    if params and isinstance(params[0], dict):
        return [{**g, "params": [p for p in g["params"] if getattr(p, "requires_grad", True)]} for g in params]
    return [p for p in params if getattr(p, "requires_grad", True)]


def _parameters(optimizers) -> list:
    seen, out = set(), []
    for opt in optimizers:
        for p in opt.parameters:
            if id(p) not in seen and p.requires_grad:
                seen.add(id(p))
                out.append(p)
    return out


def backward(forward, *args):
    """Run `forward(*args)` -> (loss, aux) under value_and_grad; add the gradients to the store; return aux."""
    params = _parameters(list(_OPTIMIZERS))
    if not params:
        raise RuntimeError("loss.backward(): no optimizer holds trainable parameters; create the optimizer "
                           "before the first backward()")
    (_, aux), grads = mindspore.value_and_grad(forward, None, params, has_aux=True)(*args)
    for p, g in zip(params, grads):
        held = _GRADS.get(id(p))
        _GRADS[id(p)] = (p, g if held is None else held[1] + g)
    return aux


def _params_of(obj) -> list:
    if isinstance(obj, Optimizer):
        return list(obj.parameters)
    if isinstance(obj, mindspore.nn.Cell):
        return list(obj.get_parameters())
    return list(obj)


def zero_grad(obj, set_to_none: bool = True):
    """optimizer.zero_grad() / model.zero_grad(): forget the stored gradients of its parameters."""
    for p in _params_of(obj):
        _GRADS.pop(id(p), None)


def grad(param):
    """`p.grad`: the accumulated gradient, or None before the first backward(). Anything that is not a
    tensor keeps its own `.grad` attribute (a config object's, say)."""
    if not isinstance(param, (mindspore.Tensor, mindspore.Parameter)):
        return param.grad
    held = _GRADS.get(id(param))
    return None if held is None else held[1]


def step(obj, *args, **kwargs):
    """optimizer.step() applies the stored gradients; anything else (an lr scheduler) steps itself."""
    if not isinstance(obj, Optimizer):
        return obj.step(*args, **kwargs)
    if args or kwargs:
        raise TypeError("optimizer.step(closure) is not supported on MindSpore: call backward() first")
    grads = tuple(grad(p) if grad(p) is not None else ops.zeros_like(p) for p in obj.parameters)
    obj(grads)
    return None


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """torch.nn.utils.clip_grad_norm_ on the stored gradients: returns the total norm (a 0-d tensor)."""
    if isinstance(parameters, mindspore.Tensor):
        parameters = [parameters]
    held = [(p, grad(p)) for p in parameters]
    held = [(p, g) for p, g in held if g is not None]
    if not held:
        return mindspore.Tensor(0.0, mindspore.float32)
    norm_type = float(norm_type)
    if norm_type == float("inf"):
        total = ops.stack([ops.abs(g).max() for _, g in held]).max()
    else:
        total = ops.stack([ops.norm(g.astype(mindspore.float32), norm_type) for _, g in held])
        total = ops.norm(total, norm_type)
    if error_if_nonfinite and not bool(ops.isfinite(total)):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is non-finite")
    coef = ops.clamp(max_norm / (total + 1e-6), max=1.0)
    for p, g in held:
        _GRADS[id(p)] = (p, g * coef.astype(g.dtype))
    return total


class GradScaler:
    """torch.amp.GradScaler in fp32: loss scaling is an identity, so scale()/unscale_()/update() do
    nothing and step(optimizer) steps. (fp16 loss scaling is not reproduced: MindSpore CPU has no fp16
    training kernels to need it; on Ascend use MindSpore's own amp.)"""

    def __init__(self, device="cuda", init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._enabled = enabled

    def scale(self, outputs):
        return outputs

    def unscale_(self, optimizer):
        return None

    def step(self, optimizer, *args, **kwargs):
        return step(optimizer, *args, **kwargs)

    def update(self, new_scale=None):
        return None

    def get_scale(self):
        return 1.0

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        return None


class Adam(AdamW):
    """torch.optim.Adam. MindSpore's experimental Adam runs the Adam primitive, which adds eps before the
    bias correction (p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)); torch adds it after
    (m_hat / (sqrt(v_hat) + eps)), so the two part as soon as eps is not negligible (measured with
    eps=1e-3: loss 0.3832 vs torch's 0.3501 at step 3). torch's Adam is its AdamW with no decoupled
    decay, plus L2 weight decay added to the gradient, which is what this is."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None):
        params = list(params)
        if params and isinstance(params[0], dict):
            l2 = [float(g.get("weight_decay", weight_decay)) for g in params]
            params = [{**g, "weight_decay": 0.0} for g in params]
        else:
            l2 = [float(weight_decay)]
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=0.0, amsgrad=amsgrad, maximize=maximize)
        self._l2 = l2

    def construct(self, gradients):
        if any(self._l2):
            gradients = list(gradients)
            for group_id, wd in enumerate(self._l2):
                if wd:
                    for i in range(self.group_start_id[group_id], self.group_start_id[group_id + 1]):
                        gradients[i] = gradients[i] + wd * self.parameters[i]
            gradients = tuple(gradients)
        return super().construct(gradients)
