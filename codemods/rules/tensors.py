"""MB2xx: Tensor idioms whose MindSpore spelling differs (sizes, graph-mode-safe function forms).

Function forms (x.transpose(1, 2) -> mint.transpose(x, 1, 2)) come from mappings/methods.yaml
and are applied by the transformer under MB203; the rules here change structure.
"""

from __future__ import annotations

import libcst as cst

from codemods import cstutil
from codemods.rules import call_rule, describe, method_rule

describe("MB202", "torch.zeros(2, 3) / x.expand(B, T) / x.repeat(1, 2) -> mint.zeros((2, 3)) / "
                  "x.expand((B, T)) / mint.tile(x, (1, 2))")
describe("MB203", "x.transpose(1, 2) / x.chunk(2, dim=-1) / x.clone() -> mint.transpose(x, 1, 2) / "
                  "mint.chunk(x, 2, dim=-1) / mint.clone(x)")


@method_rule("size", code="MB201", summary="x.size() / x.size(-1) -> x.shape / x.shape[-1]")
def size(ctx, call):
    shape = cst.Attribute(value=call.func.value, attr=cst.Name("shape"))
    if not call.args:
        return shape
    dim = cstutil.arg_value(call, 0, "dim")
    if dim is None or len(call.args) != 1:
        return None
    return cst.Subscript(value=shape, slice=[cst.SubscriptElement(cst.Index(dim))])


@method_rule("detach", code="MB204", summary="x.detach() -> ops.stop_gradient(x)",
             emits=("mindspore.ops.stop_gradient",))
def detach(ctx, call):
    if call.args:
        return None
    return cst.Call(func=ctx.render("mindspore.ops.stop_gradient"), args=[cst.Arg(call.func.value)])


def _is_two(node) -> bool:
    """The integer literal 2. Not 2.0: torch.pow(int_tensor, 2.0) promotes to float, x * x would not."""
    return isinstance(node, cst.Integer) and node.evaluated_value == 2


def _is_plain(node) -> bool:
    """`x`, `self.x`, `a.b.c`: cheap to write twice (a property getter would run twice; nothing else does)."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


def _square(ctx, x):
    # x * x is what torch computes for pow(x, 2) (aten's pow kernels special-case exponent 2 as
    # base * base on CPU and CUDA; the backward is grad * 2 * x), so values and gradients stay
    # bit-identical to torch (tests/codemods/test_codemods_square.py). MindSpore compiles x * x to a
    # Mul forward and Mul + AddN backward; x.pow(2) / mint.pow to a Pow kernel forward plus a Pow(x, 1)
    # in the backward, mint.square to a Square forward plus that Pow backward. Measured in graph mode
    # on CPU (tiny Llama, 16x128x96 per RMSNorm): the 14 Pow kernels of its 7 RMSNorms took 10-13 ms
    # of a ~420 ms step. A compound x goes to mint.square so that it is evaluated once.
    x = x.with_changes(lpar=[], rpar=[])
    if _is_plain(x):
        return cst.BinaryOperation(left=x, operator=cst.Multiply(), right=x,
                                   lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.Call(func=ctx.render("mindspore.mint.square"), args=[cst.Arg(x)])


_SQUARE = dict(code="MB205", summary="x.pow(2) / torch.pow(x, 2) / torch.square(x) -> (x * x), or mint.square(x) "
                                     "when x is not a plain name", emits=("mindspore.mint.square",))


@method_rule("pow", **_SQUARE)
def pow_method(ctx, call):
    if len(call.args) != 1:
        return None
    exponent = cstutil.arg_value(call, 0, "exponent")
    if exponent is None or not _is_two(exponent):
        return None
    return _square(ctx, call.func.value)


@call_rule("torch.pow", **_SQUARE)
def pow_function(ctx, call):
    if len(call.args) != 2:  # out= and other forms: the mapping table (mint.pow)
        return None
    base, exponent = cstutil.arg_value(call, 0, "input"), cstutil.arg_value(call, 1, "exponent")
    if base is None or exponent is None or not _is_two(exponent):
        return None
    return _square(ctx, base)


@call_rule("torch.square", **_SQUARE)
def square_function(ctx, call):
    x = cstutil.arg_value(call, 0, "input")
    if len(call.args) != 1 or x is None or not _is_plain(x):
        return None  # the mapping table: mint.square
    return _square(ctx, x)


@method_rule("squeeze", code="MB203", summary="x.squeeze(dim=0) -> mint.squeeze(x, dim=0); x.squeeze() kept",
             emits=("mindspore.mint.squeeze",))
def squeeze(ctx, call):
    # Tensor.squeeze rejects dim= (a TypeError); mint.squeeze needs a dim, so the bare form stays a method
    if not call.args or _on_self(call):
        return call
    return cstutil.with_receiver_first(call, ctx.render("mindspore.mint.squeeze"))


def _on_self(call) -> bool:
    """`self.std(x)`: a method of the Cell itself, not a Tensor method."""
    return isinstance(call.func.value, cst.Name) and call.func.value.value in ("self", "cls")


def _correction(ctx, call):
    """torch's unbiased=True/False -> correction=1/0 (mint.std/var take only correction); None if not a literal."""
    unbiased = cstutil.keyword(call, "unbiased")
    if unbiased is None:
        return call
    value = unbiased.value
    if not (isinstance(value, cst.Name) and value.value in ("True", "False")):
        return None
    args = [a.with_changes(keyword=cst.Name("correction"), value=cst.Integer("1" if value.value == "True" else "0"))
            if a is unbiased else a for a in call.args]
    return call.with_changes(args=args)


@method_rule("std", "var", code="MB208",
             summary="x.std(dim) / x.var(dim, unbiased=False) -> mint.std(x, dim) / mint.var(x, dim, correction=0) "
                     "(Tensor.std/var are biased in MindSpore)",
             emits=("mindspore.mint.std", "mindspore.mint.var"))
def std_var_method(ctx, call):
    name = call.func.attr.value
    if _on_self(call):
        return call
    if len(cstutil.positional(call)) > 1:  # x.std(dim, unbiased): the old positional form
        ctx.report("MB208", f"Tensor.{name}", "positional unbiased/keepdim arguments are not converted",
                   f"write x.{name}(dim, correction=..., keepdim=...)")
        return None
    fixed = _correction(ctx, call)
    if fixed is None:
        ctx.report("MB208", f"Tensor.{name}", "unbiased= that is not a literal True/False",
                   "use correction=1 or correction=0")
        return None
    return cstutil.with_receiver_first(fixed, ctx.render(f"mindspore.mint.{name}"))


@call_rule("torch.std", "torch.var", code="MB208", summary="torch.std(x, dim, unbiased=False) -> "
                                                          "mint.std(x, dim, correction=0)")
def std_var_function(ctx, call):
    if cstutil.keyword(call, "unbiased") is None:
        return None  # the mapping table: mint.std / mint.var
    name = ctx.qualified.rsplit(".", 1)[1]
    fixed = _correction(ctx, call)
    if fixed is None or len(cstutil.positional(call)) > 2:
        ctx.report("MB208", ctx.qualified, "unbiased= that is not a literal True/False, or positional unbiased",
                   "use correction=1 or correction=0")
        return None
    return fixed.with_changes(func=ctx.render(f"mindspore.mint.{name}"))


_LEGACY_TENSOR_DTYPES = {"FloatTensor": "float32", "DoubleTensor": "float64", "HalfTensor": "float16",
                         "BFloat16Tensor": "bfloat16", "LongTensor": "int64", "IntTensor": "int32",
                         "ShortTensor": "int16", "CharTensor": "int8", "ByteTensor": "uint8", "BoolTensor": "bool_"}


@call_rule(*(f"torch.{name}" for name in _LEGACY_TENSOR_DTYPES), code="MB209",
           summary="torch.LongTensor([1, 2]) / torch.FloatTensor(2, 3) -> mindspore.Tensor([1, 2], dtype=mindspore.int64) "
                   "/ mint.zeros((2, 3), dtype=mindspore.float32); torch.LongTensor(name) -> "
                   "compat.legacy_tensor(name, dtype=mindspore.int64), which tells data from sizes at run time as torch does",
           emits=("mindspore.Tensor", "mindspore.mint.zeros", "backends.mindspore.compat.legacy_tensor"))
def legacy_tensor_constructor(ctx, call):
    dtype = ctx.render("mindspore." + _LEGACY_TENSOR_DTYPES[ctx.qualified.rpartition(".")[2]])
    args = [a for a in call.args if a.keyword is None or a.keyword.value != "device"]
    data = (cst.List, cst.Tuple, cst.ListComp)
    plain = args and not any(a.keyword is not None or a.star for a in args)
    if plain and len(args) == 1 and (isinstance(args[0].value, data) or _is_list_call(args[0].value)):
        return cst.Call(func=ctx.render("mindspore.Tensor"), args=[cst.Arg(args[0].value), _dtype_arg(dtype)])
    if plain and all(isinstance(a.value, cst.Integer) for a in args):  # sizes; torch leaves the values uninitialised
        sizes = cst.Tuple([cst.Element(a.value) for a in args] if len(args) > 1 else [cst.Element(args[0].value,
                                                                                                     comma=cst.Comma())])
        return cst.Call(func=ctx.render("mindspore.mint.zeros"), args=[cst.Arg(sizes), _dtype_arg(dtype)])
    # a name (data or a size?), *sizes, or no argument: decided at run time, the way torch decides
    args = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in args]
    return cst.Call(func=ctx.render("backends.mindspore.compat.legacy_tensor"), args=[*args, _dtype_arg(dtype)])


def _is_list_call(node) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in ("list", "tuple")


def _dtype_arg(dtype) -> cst.Arg:
    return cst.Arg(dtype, keyword=cst.Name("dtype"), equal=cst.AssignEqual(cst.SimpleWhitespace(""),
                                                                            cst.SimpleWhitespace("")))
