"""MB206/MB207: in-place ops and named-tuple results, where MindSpore 2.10 differs silently.

Measured on MindSpore 2.10 CPU (PyNative): `x.add_(y)`, `mul_`, `sub_`, `div_`, `exp_`... return the
right value but leave `x` unchanged, on a fresh tensor, a Parameter, a slice and a transpose alike;
`x.copy_(v)` and setitem (`x[i] = v`, `x[i] += v`) do write. So (MB206):

- plain receiver (`x`, `self.buf`, `p.data`): `x.add_(y)` -> `x.copy_(mint.add(x, y))` (copy_ returns
  x, as add_ does, so it may stand inside an expression);
- basic-index receiver (`x[:, 1]`, `x[0]`, `x[..., :2]`; a bare name in the index is taken to be an
  int), as a statement: `x[:, 1].add_(y)` -> `x[:, 1] = mint.add(x[:, 1], y)`, `x[i].copy_(y)` ->
  `x[i] = y`, `x[i].zero_()` -> `x[i] = 0`, `x[i].fill_(v)` -> `x[i] = v`; reported when the index
  calls something (it would run twice) or is not a basic index, or the call is not a statement;
- reported: any other view-producing receiver (`x.transpose(1, 2).mul_(s)`, `x.view(-1).zero_()`,
  `x.T`, `x.detach()`, chained in-place calls), a name bound from such a view earlier in the same
  function (`v = x[:, 0]; v.add_(1)`), and in-place methods with no out-of-place form here.

MB207: torch's named-tuple results (`topk`, `sort`, `max/min/median(dim)`, `kthvalue`, `mode`,
`cummax`, `cummin`) are plain tuples in MindSpore: `.values` -> `[0]`, `.indices` -> `[1]`, on the
call itself or on a name bound from one earlier in the same function.
"""

from __future__ import annotations

import libcst as cst

from codemods import cstutil
from codemods.names import dotted
from codemods.rules import attribute_rule, describe, method_rule

M = "mindspore.mint."
# in-place method -> out-of-place function taking (self, *args, **kwargs)
OUT_OF_PLACE = {
    **{f"{n}_": M + n for n in (
        "add", "sub", "mul", "div", "exp", "log", "neg", "abs", "sqrt", "rsqrt", "sigmoid", "tanh", "clamp",
        "pow", "floor", "ceil", "round", "sign", "reciprocal", "sin", "cos", "lerp", "addcmul", "addcdiv",
        "log1p", "expm1", "erf", "trunc", "frac", "square", "fmod", "remainder", "floor_divide", "logical_not",
        "tril", "triu", "index_add", "erfinv", "atan", "asin", "acos", "sinh", "cosh",
        "asinh", "acosh", "atanh", "tan", "log2", "log10", "exp2", "nan_to_num", "logical_and", "logical_or",
        "logical_xor", "atan2", "xlogy", "sinc", "ge", "bitwise_and")},
    "scatter_reduce_": "backends.mindspore.compat.scatter_reduce",
    # not mint.scatter: once it has run on a tensor of another rank, its 1-D writes are lost (MindSpore 2.10 CPU)
    "scatter_": "backends.mindspore.compat.scatter", "scatter_add_": "backends.mindspore.compat.scatter_add",
    "relu_": M + "nn.functional.relu",
    "subtract_": M + "sub", "multiply_": M + "mul", "divide_": M + "div", "negative_": M + "neg",
    "clip_": M + "clamp",
}
METHOD_FORM = {"masked_fill_": "masked_fill"}  # no mint function: the (working) out-of-place Tensor method
SETITEM = ("copy_", "zero_", "fill_")  # handled through setitem on an indexed receiver
# torch in-place methods with no translation here: always reported
UNSUPPORTED = ("index_fill_", "index_copy_", "masked_scatter_", "clamp_min_", "clamp_max_", "t_", "transpose_",
               "unsqueeze_", "squeeze_", "bernoulli_", "exponential_", "random_", "fill_diagonal_", "put_",
               "index_put_", "baddbmm_", "addmm_", "cauchy_", "geometric_", "log_normal_", "resize_", "swapaxes_")
# calls and attributes whose result shares storage with their input in torch
VIEW_CALLS = frozenset((
    "view", "view_as", "transpose", "permute", "narrow", "select", "diagonal", "expand", "expand_as",
    "unsqueeze", "squeeze", "t", "flatten", "reshape", "reshape_as", "unfold", "unflatten", "as_strided",
    "swapaxes", "swapdims", "movedim", "moveaxis", "detach", "real", "imag", "split", "chunk", "unbind",
    "tensor_split", "hsplit", "vsplit", "contiguous", "view_as_real", "view_as_complex", "diagonal_copy",
    "squeeze_copy", "mT", "T", "H", "mH", "adjoint",
))
VIEW_ATTRIBUTES = frozenset(("T", "mT", "H", "mH", "real", "imag"))
NAMED_TUPLES = frozenset(("topk", "sort", "max", "min", "median", "nanmedian", "kthvalue", "mode", "cummax",
                          "cummin"))
NEEDS_DIM = frozenset(("max", "min", "median", "nanmedian"))  # without a dim these return one tensor

describe("MB206", "x.add_(y) / x[:, 1].add_(y) / x[i].copy_(y) -> x.copy_(mint.add(x, y)) / "
                  "x[:, 1] = mint.add(x[:, 1], y) / x[i] = y; in-place through a view reported",
         tuple(sorted(set(OUT_OF_PLACE.values()))) + ("mindspore.Tensor.copy_", "mindspore.Tensor.masked_fill"))
describe("MB207", "torch.topk(x, k).values / x.max(dim=1).indices -> mint.topk(x, k)[0] / x.max(dim=1)[1]")


# -- what a receiver is -----------------------------------------------------------------------
def _last_name(func) -> str | None:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return None


def _is_plain(node) -> bool:
    while isinstance(node, cst.Attribute):
        if node.attr.value in VIEW_ATTRIBUTES:
            return False
        node = node.value
    return isinstance(node, cst.Name)


def _basic_index_part(node) -> bool:
    """An int-like expression: literal, name, attribute, arithmetic of those, unary minus."""
    if isinstance(node, (cst.Integer, cst.Name, cst.Ellipsis)):
        return True
    if isinstance(node, cst.Attribute):
        return _is_plain(node)
    if isinstance(node, cst.UnaryOperation):
        return _basic_index_part(node.expression)
    if isinstance(node, cst.BinaryOperation):
        return _basic_index_part(node.left) and _basic_index_part(node.right)
    if isinstance(node, cst.Call):  # len(x), int(n): evaluated, so not safe to repeat
        return isinstance(node.func, cst.Name) and node.func.value in ("len", "int", "min", "max") and all(
            _basic_index_part(a.value) for a in node.args)
    return False


def _basic_index(sub: cst.Subscript) -> bool:
    for el in sub.slice:
        s = el.slice
        if isinstance(s, cst.Slice):
            if not all(p is None or _basic_index_part(p) for p in (s.lower, s.upper, s.step)):
                return False
        elif not _basic_index_part(s.value):
            return False
    return True


def is_view(node) -> bool:
    """Does this expression share storage with a tensor in torch (a slice, a view call, .T ...)?"""
    if isinstance(node, cst.Subscript):
        return _basic_index(node) or is_view(node.value)
    if isinstance(node, cst.Attribute):
        return node.attr.value in VIEW_ATTRIBUTES or node.attr.value == "data"
    if isinstance(node, cst.Call):
        name = _last_name(node.func)
        return name in VIEW_CALLS
    return False


def _binding_before(ctx, name: str, call) -> cst.BaseExpression | None:
    """The value last assigned to `name` before `call` in the enclosing function (None: none seen)."""
    scope = ctx.enclosing[-1] if ctx.enclosing else None
    if scope is None:
        return None
    state = {"value": None, "done": False}

    class _Finder(cst.CSTVisitor):
        def on_visit(self, node):
            if state["done"]:
                return False
            if node is call:
                state["done"] = True
                return False
            if node is not scope and isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return False
            return super().on_visit(node)

        def leave_Assign(self, node):
            if state["done"]:
                return
            for t in node.targets:
                if isinstance(t.target, cst.Name) and t.target.value == name:
                    state["value"] = node.value
                elif isinstance(t.target, (cst.Tuple, cst.List)) and any(
                        isinstance(e.value, cst.Name) and e.value.value == name for e in t.target.elements):
                    state["value"] = t.target  # unpacked: not a view we can see

        def leave_AugAssign(self, node):
            if not state["done"] and isinstance(node.target, cst.Name) and node.target.value == name:
                state["value"] = None  # x += y rebinds x to a new tensor

        def visit_For(self, node):
            if isinstance(node.target, cst.Name) and node.target.value == name:
                # `for row in x.unbind(0)` / `for row in x[1:]`: each row is a view of x in torch
                it = node.iter
                state["value"] = it if isinstance(it, cst.Subscript) or (
                    isinstance(it, cst.Call) and _last_name(it.func) in ("unbind", "split", "chunk",
                                                                         "tensor_split")) else None

    scope.visit(_Finder())
    return state["value"]


def _code(node) -> str:
    return cst.Module([]).code_for_node(node)


# -- MB206 ------------------------------------------------------------------------------------
def _report(ctx, call, why: str, suggestion: str = "write the update as setitem: x[idx] = new_value"):
    ctx.report("MB206", f"Tensor.{call.func.attr.value}", why, suggestion)
    return None


def _out_of_place(ctx, name: str, receiver, args) -> cst.BaseExpression | None:
    if name in METHOD_FORM:
        return cst.Call(func=cst.Attribute(value=receiver, attr=cst.Name(METHOD_FORM[name])),
                        args=cstutil.clean(list(args)))
    target = OUT_OF_PLACE.get(name)
    if target is None:
        return None
    return cst.Call(func=ctx.render(target), args=cstutil.clean([cst.Arg(receiver)] + list(args)))


def _strip_data(node):
    if isinstance(node, cst.Attribute) and node.attr.value == "data":
        return node.value  # p.data.add_(x): MindSpore's p.data is a copy; write into p itself
    return node


def classify(ctx, receiver) -> str:
    """"plain", "index" (basic-index subscript of a plain tensor), or why it cannot be written through."""
    receiver = _strip_data(receiver)
    if isinstance(receiver, cst.Subscript):
        if not _is_plain(receiver.value):
            return "an indexed view of a computed tensor"
        if not _basic_index(receiver):
            return "an index that is not a basic (int/slice) index"
        base = receiver.value
        if isinstance(base, cst.Name):
            bound = _binding_before(ctx, base.value, ctx.current)
            if bound is not None and is_view(bound):
                return f"`{base.value}`, bound from a view (`{_code(bound)}`) earlier in this function"
        return "index"
    if _is_plain(receiver):
        if isinstance(receiver, cst.Name):
            bound = _binding_before(ctx, receiver.value, ctx.current)
            if bound is not None and is_view(bound):
                return f"`{receiver.value}`, bound from a view (`{_code(bound)}`) earlier in this function"
        return "plain"
    if isinstance(receiver, cst.Call) and _last_name(receiver.func) in (*OUT_OF_PLACE, *METHOD_FORM, *SETITEM):
        return "the result of another in-place call (chained in-place calls)"
    if isinstance(receiver, cst.Call) and _last_name(receiver.func) in _CREATION \
            and _code(receiver.func).startswith(("mint.", "mindspore.", "ops.")):
        return "fresh"
    if is_view(receiver) or isinstance(receiver, cst.Attribute):
        return "a view (transpose/view/permute/... or .T)"
    return "a computed tensor"


# `torch.zeros(n).scatter_add_(0, idx, src)`: nothing else holds the new tensor, so the out-of-place
# result is the same value (transformers' MoE load-balancing losses)
_CREATION = {"zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like"}


def _setitem(ctx, call, value: cst.BaseExpression):
    """Queue `x[idx] = value` as the replacement of the statement holding `call`."""
    target = _strip_data(call.func.value)
    ctx.statement_rewrites[ctx.current] = cst.Assign(targets=[cst.AssignTarget(target)], value=value)
    return call


def _index_update(ctx, call, value_of):
    """Shared path for an indexed receiver: `value_of(receiver)` is the new value, or None."""
    receiver = _strip_data(call.func.value)
    if ctx.current not in ctx.statement_calls:
        return _report(ctx, call, "in-place update of an indexed tensor inside an expression: MindSpore writes "
                                  "into a copy", "make it a statement, or write x[idx] = new_value")
    value = value_of(receiver)
    if value is None:
        return _report(ctx, call, "no out-of-place form known for this in-place method")
    return _setitem(ctx, call, value)


@method_rule(*OUT_OF_PLACE, *METHOD_FORM, code="MB206",
             summary="x.add_(y) / x[:, 1].add_(y) -> x.copy_(mint.add(x, y)) / x[:, 1] = mint.add(x[:, 1], y)",
             emits=("mindspore.Tensor.copy_",))
def inplace_op(ctx, call):
    name = call.func.attr.value
    kind = classify(ctx, call.func.value)
    if kind == "plain":
        receiver = _strip_data(call.func.value)
        value = _out_of_place(ctx, name, receiver, call.args)
        return cst.Call(func=cst.Attribute(value=receiver, attr=cst.Name("copy_")), args=[cst.Arg(value)])
    if kind == "index":
        return _index_update(ctx, call, lambda r: _out_of_place(ctx, name, r, call.args))
    if kind == "fresh":
        value = _out_of_place(ctx, name, call.func.value, call.args)
        if value is not None:
            return value
        kind = "a new tensor"
    return _report(ctx, call, f"in-place {name} on {kind}: MindSpore 2.10 computes on a copy and the base "
                              "tensor keeps its values")


@method_rule(*UNSUPPORTED, code="MB206", summary="x.index_fill_(...) and other in-place methods without a "
                                                 "MindSpore in-place kernel -> reported")
def inplace_unsupported(ctx, call):
    return _report(ctx, call, "in-place method without a translation: MindSpore 2.10 CPU does not write in place",
                   "write the out-of-place result back: x.copy_(new_value) or x[idx] = new_value")


def setitem_or_report(ctx, call) -> cst.BaseExpression | bool | None:
    """For copy_/zero_/fill_: the rewritten call (indexed receiver), None after a report, False: not ours."""
    name = call.func.attr.value
    kind = classify(ctx, call.func.value)
    if kind == "plain":
        return False
    if kind == "index":
        def value_of(_receiver):
            if name == "zero_":
                return cst.Integer("0") if not call.args else None
            value = cstutil.arg_value(call, 0, "src" if name == "copy_" else "value")
            return value if value is not None and len(call.args) == 1 else None
        return _index_update(ctx, call, value_of)
    return _report(ctx, call, f"in-place {name} on {describe_kind(kind)}: MindSpore 2.10 computes on a copy and "
                              "the base tensor keeps its values")


def describe_kind(kind: str) -> str:
    return "a new tensor" if kind == "fresh" else kind


@method_rule("copy_", code="MB206", summary="x[i].copy_(y) -> x[i] = y; copy_ through a view reported")
def copy_(ctx, call):
    result = setitem_or_report(ctx, call)
    return None if result is False else result


# -- MB207 ------------------------------------------------------------------------------------
def _named_tuple_call(ctx, node) -> bool:
    """A call of topk/sort/kthvalue/..., or of max/min/median with a dim (else they return one tensor)."""
    if not isinstance(node, cst.Call):
        return False
    name = _last_name(node.func)
    if name not in NAMED_TUPLES:
        return False
    if name not in NEEDS_DIM:
        return True
    if cstutil.keyword(node, "dim") is not None:
        return True
    # torch.max(x, 1) / mint.max(x, 1): a module function takes the tensor first; x.max(1) does not
    head = node.func
    while isinstance(head, cst.Attribute):
        head = head.value
    module_function = isinstance(node.func, cst.Attribute) and isinstance(head, cst.Name) and (
        head.value in ctx.names.torch or head.value in ctx.names.bindings)
    return len(cstutil.positional(node)) >= (2 if module_function else 1)


@attribute_rule("values", "indices", code="MB207",
                summary="torch.topk(x, k).values / x.max(dim=1).indices -> mint.topk(x, k)[0] / x.max(dim=1)[1]")
def named_tuple_field(ctx, attribute):
    value = attribute.value
    found = _named_tuple_call(ctx, value)
    if not found and isinstance(value, cst.Name):
        bound = _binding_before(ctx, value.value, ctx.current)
        found = bound is not None and _named_tuple_call(ctx, bound)
    if not found:
        return None
    index = "0" if attribute.attr.value == "values" else "1"
    return cst.Subscript(value=value, slice=[cst.SubscriptElement(cst.Index(cst.Integer(index)))])
