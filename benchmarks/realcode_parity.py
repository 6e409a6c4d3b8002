"""Torch-vs-converted parity for one corpus entry of benchmarks/realcode.py (fp32, CPU, PyNative).

Both models are built from the same constructor expression; the torch one (seeded) then gets seeded
noise added to every floating parameter and persistent buffer (so zero-initialised output
projections, adaLN-zero gates, LayerScale 1e-5 gammas and BatchNorm's 0/1 running statistics and
affine cannot make two different computations agree), and its state_dict is loaded into the
converted model by torch names (backends/mindspore/state.ParameterIndex). Both run in eval mode
on the same inputs. Compared: every floating output (relative L2), integer/bool outputs exactly,
and the gradients of a fixed random projection of the outputs (a scalar) with respect to the
floating positional inputs and every trainable parameter, matched by torch name. MindSpore's
gradients come from a second converted model built and loaded the same way, so that each side
differentiates its first forward (state a forward leaves behind, such as LeViT's eval-mode bias
cache, is not a constant from an earlier call). A torch gradient below 1e-5 of the entry's largest
is zero up to fp32 rounding (a bias under a softmax over its own axis): MindSpore's must then be
below that bound too (or match torch's within 1e-4 relative), instead of within 1e-4 relative of
the noise.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field

import numpy as np

FWD_TOL = 1e-5  # relative L2, every floating output
GRAD_TOL = 1e-4  # relative L2, every gradient (as tests/codemods/test_codemods_exec.py)
CANCELLATION = 1e-5  # a torch gradient below this fraction of the entry's largest counts as zero
NOISE = 0.1  # std of the noise added to every floating parameter/buffer before the copy


class StageError(Exception):
    """A failure at one stage (torch-build, ms-build, load-weights, ms-forward, ms-grad, ...)."""

    def __init__(self, stage: str, err: BaseException):
        self.stage, self.err = stage, err
        super().__init__(f"{stage}: {type(err).__name__}: {_one_line(err)}")


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text[:240] + ("..." if len(text) > 240 else "")


@dataclass
class Parity:
    fwd: float | None = None  # worst relative L2 over floating outputs
    grad: float | None = None  # worst relative L2 over gradients (None: not compared)
    grad_worst: str = ""
    n_outputs: int = 0
    n_grads: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.fwd is not None and self.fwd <= FWD_TOL and not any(n.startswith("FAIL") for n in self.notes)
                and (self.grad is None or self.grad <= GRAD_TOL))


def rel_l2(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def make_inputs(specs, rng: np.random.Generator) -> list:
    """`[2, 5, 16]` float32 normal; `{int: N, shape: S}` int64 in [0, N); `{bool: S}` a mask (last position of
    the last row False); `{value: V}` a Python value passed as it is."""
    out = []
    for spec in specs:
        if isinstance(spec, list):
            out.append(rng.standard_normal(spec).astype(np.float32))
        elif "int" in spec:
            out.append(rng.integers(0, spec["int"], size=spec["shape"], dtype=np.int64))
        elif "bool" in spec:
            m = np.ones(spec["bool"], dtype=bool)
            m[(-1,) * (m.ndim - 1) + (-1,)] = False
            out.append(m)
        elif "value" in spec:
            v = spec["value"]
            out.append(tuple(v) if isinstance(v, list) else v)
        else:
            raise ValueError(f"unknown input spec {spec!r}")
    return out


def _flatten(x, is_tensor) -> list:
    if is_tensor(x):
        return [x]
    if isinstance(x, (tuple, list)):
        return [t for item in x for t in _flatten(item, is_tensor)]
    if isinstance(x, dict):
        return [t for k in x for t in _flatten(x[k], is_tensor)]
    if hasattr(x, "to_tuple"):
        return _flatten(x.to_tuple(), is_tensor)
    return []


def perturb(model, seed: int) -> None:
    """Seeded noise on every floating parameter and persistent buffer (running variances stay positive).
    A tensor that is not finite or has values of 1e3 or more (uninitialised `torch.empty` memory, whose
    init is in code outside the corpus, e.g. transformers' `_init_weights`) is first set to N(0, 1)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict(keep_vars=True).items():
            if not t.is_floating_point():
                continue
            noise = torch.randn(t.shape, generator=gen, dtype=t.dtype)
            if t.numel() and not (torch.isfinite(t).all() and t.abs().max() < 1e3):
                t.copy_(noise)  # torch.empty() left as it is (its init lives elsewhere): seeded values instead
                noise = torch.randn(t.shape, generator=gen, dtype=t.dtype)
            if name.endswith("running_var"):
                t.mul_(torch.exp(NOISE * noise)).add_(NOISE)
            else:
                t.add_(NOISE * noise)


def build(module, expr: str, factory: bool):
    namespace = {**vars(module), "SimpleNamespace": types.SimpleNamespace}
    return module.build() if factory else eval(expr, namespace)  # noqa: S307 -- the corpus file's own text


def compare(entry: dict, torch_module, ms_module, seed: int = 0, after_load=None) -> Parity:
    """Build, perturb, copy, run and compare one entry. `after_load(ms_model)` runs after the weight copy
    (the tests use it to show that a wrong model fails)."""
    import mindspore as ms
    import torch

    from backends.mindspore.state import ParameterIndex

    factory, expr, method = "factory" in entry, entry.get("build", ""), entry.get("call")
    rng = np.random.default_rng(seed)
    args = make_inputs(entry.get("inputs", []), rng)
    kwargs = dict(zip(entry.get("kwargs", {}), make_inputs(list(entry.get("kwargs", {}).values()), rng)))
    want_grad = entry.get("grad", True)

    try:
        torch.manual_seed(seed)
        t_model = build(torch_module, expr, factory)
        perturb(t_model, seed + 1)
        t_model.eval()
    except Exception as e:
        raise StageError("torch-build", e) from e
    sd = {k: v.detach().numpy() for k, v in t_model.state_dict().items()}

    def ms_model():
        try:
            ms.set_seed(seed)
            model = build(ms_module, expr, factory)
            model.set_train(False)
        except Exception as e:
            raise StageError("ms-build", e) from e
        try:
            index = ParameterIndex(model)
            index.load_state_dict(sd)
        except Exception as e:
            raise StageError("load-weights", e) from e
        if after_load is not None:
            after_load(model)
        return model, index

    m_model, index = ms_model()

    def t_arg(a):
        if isinstance(a, np.ndarray):
            t = torch.from_numpy(a.copy())
            return t.requires_grad_(True) if want_grad and t.is_floating_point() else t
        return a

    t_args = [t_arg(a) for a in args]
    t_kwargs = {k: (torch.from_numpy(v.copy()) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    t_call = getattr(t_model, method) if method else t_model
    try:
        t_outs = _flatten(t_call(*t_args, **t_kwargs), torch.is_tensor)
    except Exception as e:
        raise StageError("torch-forward", e) from e
    if not t_outs:
        raise StageError("torch-forward", ValueError("the model returned no tensor"))
    t_np = [o.detach().numpy() for o in t_outs]
    weights = [rng.standard_normal(o.shape).astype(np.float32) if o.dtype.kind == "f" else None for o in t_np]

    ms_args = [ms.Tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    ms_kwargs = {k: (ms.Tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    m_call = getattr(m_model, {"forward": "construct"}.get(method, method)) if method else m_model
    try:
        m_outs = _flatten(m_call(*ms_args, **ms_kwargs), lambda x: isinstance(x, ms.Tensor))
        m_np = [o.asnumpy() for o in m_outs]
    except Exception as e:
        raise StageError("ms-forward", e) from e

    result = Parity(n_outputs=len(t_np))
    if len(m_np) != len(t_np):
        result.notes.append(f"FAIL: {len(m_np)} outputs, torch has {len(t_np)}")
        return result
    fwd = []
    for i, (a, b) in enumerate(zip(m_np, t_np)):
        if b.dtype.kind == "f":
            if np.linalg.norm(b) == 0:
                result.notes.append(f"output {i} is all zeros on torch (compares nothing)")
            fwd.append(rel_l2(a, b))
        elif a.shape != b.shape or not np.array_equal(a, b):
            result.notes.append(f"FAIL: integer output {i} differs")
    result.fwd = max(fwd) if fwd else 0.0

    if not want_grad or all(w is None for w in weights):
        return result
    # gradients: torch
    loss = sum((o * torch.from_numpy(w)).sum() for o, w in zip(t_outs, weights) if w is not None)
    t_params = dict(t_model.named_parameters())
    if not loss.requires_grad:
        return result
    loss.backward()
    grad_pos = [i for i, a in enumerate(t_args) if torch.is_tensor(a) and a.requires_grad]
    t_grads = {f"input {i}": t_args[i].grad for i in grad_pos}
    t_grads.update({n: p.grad for n, p in t_params.items()})
    t_grads = {n: (g.numpy() if g is not None else None) for n, g in t_grads.items()}
    # gradients: MindSpore, on a model built afresh: torch differentiates the very forward that gave its
    # outputs, so state a forward leaves behind (LeViT caches its attention biases in eval mode) must
    # not be a constant from an earlier call here either
    m_model, index = ms_model()
    m_call = getattr(m_model, {"forward": "construct"}.get(method, method)) if method else m_model
    params = m_model.trainable_params()
    m_weights = [ms.Tensor(w) if w is not None else None for w in weights]

    def loss_fn(*a):
        outs = _flatten(m_call(*a, **ms_kwargs), lambda x: isinstance(x, ms.Tensor))
        total = 0
        for o, w in zip(outs, m_weights):
            if w is not None:
                total = total + (o * w).sum()
        return total

    try:
        if not grad_pos and not params:
            return result
        fn = ms.value_and_grad(loss_fn, grad_position=tuple(grad_pos) if grad_pos else None,
                               weights=params if params else None)
        _, grads = fn(*ms_args)
        if grad_pos and params:
            g_in, g_w = grads
        elif grad_pos:
            g_in, g_w = grads, ()
        else:
            g_in, g_w = (), grads
        if grad_pos and len(grad_pos) == 1 and not isinstance(g_in, tuple):
            g_in = (g_in,)
        m_grads = {f"input {i}": g.asnumpy() for i, g in zip(grad_pos, g_in)}
        m_grads.update({index.key_of(p): g.asnumpy() for p, g in zip(params, g_w)})
    except Exception as e:
        raise StageError("ms-grad", e) from e
    missing = sorted(set(t_grads) - set(m_grads))
    if missing:
        result.notes.append(f"FAIL: no MindSpore gradient for {missing[:3]}")
    worst, name = 0.0, ""
    # A gradient that is zero in exact arithmetic (the bias of logits under a softmax over the same axis:
    # timm's GlobalContext) comes out as fp32 rounding noise on both sides, ~1e-8 of the others, and two
    # noises differ by 100%: a torch gradient below CANCELLATION x the entry's largest is a zero, and
    # MindSpore's must be below that bound too (r = its norm / the bound x GRAD_TOL: <= GRAD_TOL passes),
    # unless it matches torch's to GRAD_TOL anyway (EfficientNet's vanishing but real gradients).
    scale = max((float(np.linalg.norm(g)) for g in t_grads.values() if g is not None), default=0.0)
    floor = CANCELLATION * scale
    for n, tg in t_grads.items():
        if n not in m_grads:
            continue
        tg = np.zeros_like(m_grads[n]) if tg is None else tg
        if np.linalg.norm(tg) == 0 and np.linalg.norm(m_grads[n]) == 0:
            continue
        norm = float(np.linalg.norm(tg))
        r = rel_l2(m_grads[n], tg) if norm > 0 else float(np.linalg.norm(m_grads[n]))
        if r > GRAD_TOL and norm < floor:  # the zero rule, only where the noise itself differs
            m_norm = float(np.linalg.norm(m_grads[n]))
            result.notes.append(f"gradient {n} is zero to fp32 rounding (torch |g| {norm:.1e}, MindSpore {m_norm:.1e}, "
                                f"largest {scale:.1e}): both must be below {floor:.1e}")
            r = GRAD_TOL * m_norm / floor
        if r > worst or not name:
            worst, name = r, n
    result.grad, result.grad_worst, result.n_grads = worst, name, len(t_grads)
    return result
