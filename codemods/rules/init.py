"""MB107/MB108: in-place initialisation -> `p.set_data(initializer(Init(...), p.shape, p.dtype))`.

A bare name as the target (`def init_(tensor): tensor.uniform_(-s, s)`, `for p in params: ...`) may
be a Parameter or a plain tensor, which has no set_data: `compat.set_data(tensor, ...)` picks at run time.

MindSpore has no in-place random fills on CPU (zero_/normal_/uniform_ kernels are missing), and
its idiom is an Initializer written into the Parameter with set_data. Defaults are spelled out
where MindSpore's differ from torch's (Normal's sigma defaults to 0.01, torch's std to 1.0).
"""

from __future__ import annotations

import libcst as cst

from codemods import cstutil
from codemods.rules import call_rule, method_rule

INIT = "mindspore.common.initializer."
# torch.nn.init function -> (Initializer, [(torch arg, MindSpore kwarg, default spelled out or None)])
NN_INIT = {
    "normal_": ("Normal", [("mean", "mean", None), ("std", "sigma", "1.0")]),
    "zeros_": ("Zero", []),
    "ones_": ("One", []),
    "constant_": ("Constant", [("val", "value", None)]),
    "uniform_": ("backends.mindspore.compat.UniformRange", [("a", "a", None), ("b", "b", None)]),
    "xavier_uniform_": ("XavierUniform", [("gain", "gain", None)]),
    "xavier_normal_": ("XavierNormal", [("gain", "gain", None)]),
    "kaiming_uniform_": ("HeUniform", [("a", "negative_slope", None), ("mode", "mode", None),
                                       ("nonlinearity", "nonlinearity", None)]),
    "kaiming_normal_": ("HeNormal", [("a", "negative_slope", None), ("mode", "mode", None),
                                     ("nonlinearity", "nonlinearity", None)]),
    "trunc_normal_": ("TruncatedNormal", [("mean", "mean", None), ("std", "sigma", "1.0"),
                                          ("a", "a", None), ("b", "b", None)]),
    "orthogonal_": ("Orthogonal", [("gain", "gain", None)]),
}
# Tensor in-place method -> (Initializer, argument spec) with the receiver as the tensor.
METHODS = {
    "zero_": ("Zero", []),
    "fill_": ("Constant", [("value", "value", None)]),
    "normal_": ("Normal", [("mean", "mean", None), ("std", "sigma", "1.0")]),
    "uniform_": ("backends.mindspore.compat.UniformRange", [("from", "a", None), ("to", "b", None)]),
}


def classify_view(ctx, call):
    """None when the receiver of normal_/uniform_ is a tensor we can write; else it was reported (MB206)."""
    from codemods.rules.inplace import classify, describe_kind

    kind = classify(ctx, call.func.value)
    if kind == "plain":
        return None
    ctx.report("MB206", f"Tensor.{call.func.attr.value}", f"random in-place fill on {describe_kind(kind)}: MindSpore 2.10 "
               "computes on a copy", "x[idx] = random values drawn with mint/ops")
    return kind


def _is_fresh(ctx, call) -> bool:
    from codemods.rules.inplace import classify

    return classify(ctx, call.func.value) == "fresh"


def _qualified(init: str) -> str:
    return init if "." in init else INIT + init


def _strip_data(node: cst.BaseExpression) -> cst.BaseExpression:
    # `p.data.normal_()`: in MindSpore `p.data` is a plain Tensor copy; set_data needs the Parameter
    if isinstance(node, cst.Attribute) and node.attr.value == "data":
        return node.value
    return node


def _set_data(ctx, target, init: str, spec, call: cst.Call, first: int) -> cst.Call:
    kwargs = []
    for i, (torch_name, ms_name, default) in enumerate(spec):
        value = cstutil.arg_value(call, first + i, torch_name)
        if value is None and default is not None:
            value = cst.parse_expression(default)
        if value is not None:
            kwargs.append(cst.Arg(value, keyword=cst.Name(ms_name),
                                  equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))))
    kwargs.sort(key=lambda a: a.keyword.value != "sigma")  # Normal(sigma, mean): MindSpore's order
    init_call = cst.Call(func=ctx.render(_qualified(init)), args=cstutil.clean(kwargs))
    shape = cst.Attribute(value=target, attr=cst.Name("shape"))
    dtype = cst.Attribute(value=target, attr=cst.Name("dtype"))
    value = cst.Call(func=ctx.render(INIT + "initializer"),
                     args=cstutil.clean([cst.Arg(init_call), cst.Arg(shape), cst.Arg(dtype)]))
    if isinstance(target, cst.Name):  # `def init_(tensor): tensor.uniform_(..)`: a Parameter or a plain tensor
        return cst.Call(func=ctx.render("backends.mindspore.compat.set_data"), args=[cst.Arg(target), cst.Arg(value)])
    return cst.Call(func=cst.Attribute(value=target, attr=cst.Name("set_data")), args=[cst.Arg(value)])


_EMITS = tuple(sorted({_qualified(i) for i, _ in NN_INIT.values()} | {
    INIT + "initializer", "mindspore.Parameter.set_data", "backends.mindspore.compat.set_data",
    "mindspore.mint.rand_like", "mindspore.mint.randn_like"}))
# `torch.empty_like(h).uniform_(a, b)` (Mixtral's router jitter): nothing else holds the new tensor, so
# the values are drawn out of place: rand_like(t) * (b - a) + a, randn_like(t) * std + mean
_FRESH = {"uniform_": ("mindspore.mint.rand_like", ("from", "0.0"), ("to", "1.0"), "({r} * ({b} - {a}) + {a})"),
          "normal_": ("mindspore.mint.randn_like", ("mean", "0.0"), ("std", "1.0"), "({r} * {b} + {a})")}


def _fresh_random(ctx, name, call):
    func, (ka, da), (kb, db), form = _FRESH[name]
    code = cst.Module([]).code_for_node
    a, b = cstutil.arg_value(call, 0, ka), cstutil.arg_value(call, 1, kb)
    draw = cst.Call(func=ctx.render(func), args=[cst.Arg(call.func.value)])
    return cst.parse_expression(form.format(r=code(draw), a=code(a) if a is not None else da,
                                            b=code(b) if b is not None else db))


@call_rule(*(f"torch.nn.init.{n}" for n in NN_INIT), code="MB107",
           summary="nn.init.normal_(p, std=0.02) -> p.set_data(initializer(Normal(sigma=0.02), p.shape, p.dtype))",
           emits=_EMITS)
def nn_init(ctx, call):
    name = ctx.qualified.rsplit(".", 1)[1]
    target = cstutil.arg_value(call, 0, "tensor")
    if target is None:
        return None
    init, spec = NN_INIT[name]
    return _set_data(ctx, _strip_data(target), init, spec, call, 1)


@method_rule(*METHODS, code="MB108",
             summary="p.zero_() / p.fill_(v) / p.normal_(0, s) -> p.set_data(initializer(Zero()/Constant(v)/Normal(...), ...))",
             emits=_EMITS)
def tensor_init(ctx, call):
    name = call.func.attr.value
    if name in ("zero_", "fill_"):  # x[i].zero_() -> x[i] = 0; through a view: reported (rules/inplace.py)
        from codemods.rules.inplace import setitem_or_report

        result = setitem_or_report(ctx, call)
        if result is not False:
            return result
    elif name in _FRESH and _is_fresh(ctx, call):
        return _fresh_random(ctx, name, call)
    elif classify_view(ctx, call) is not None:
        return None
    init, spec = METHODS[name]
    return _set_data(ctx, _strip_data(call.func.value), init, spec, call, 0)
