"""torch.autograd.Function for MindSpore: the user's `backward` is what MindSpore's grad uses.

    class STE(compat_nn.Function):            # converted from `class STE(torch.autograd.Function)`
        @staticmethod
        def forward(ctx, x): ctx.save_for_backward(x); return mint.round(x)
        @staticmethod
        def backward(ctx, grad): (x,) = ctx.saved_tensors; return grad
    y = STE.apply(x)                          # any tensor shapes; one gradient per input

How: defining a subclass builds one `nn.Cell` with a custom `bprop` (MindSpore's custom-gradient
mechanism) and stores it as the class attribute `apply`. `construct` runs `forward`; `bprop(*inputs,
out, dout)` runs `forward` once more and returns `backward(ctx, dout)` (None -> zeros).

Graph mode (`mindspore.jit`) keeps no attribute set on a Python object inside a called function, so
`ctx` is a dict there: on subclass creation forward/backward are re-read from their source and
rewritten (`ctx.a = v` -> `ctx["a"] = v`, `ctx.save_for_backward(x, y)` -> `ctx["saved_tensors"] =
(x, y)`, `ctx.a` -> `ctx["a"]`, forward's `return e` -> `return e, ctx`); the same rewritten code runs
in PyNative. The rewritten functions keep the user's module globals; their source is written to
`$TMPDIR/mindbridge-compat_nn-<uid>/fn_<sha256>.py` (MindSpore's parser reads source through inspect).

Limits (reported as TypeError when the class is defined): positional inputs only (1-8, `apply`
takes all of them), `ctx` used only as `ctx.<attr>`, no closures over local variables, methods of
ctx other than save_for_backward / mark_non_differentiable / mark_dirty / set_materialize_grads.
`forward` must be deterministic (it is re-run for the backward). No double backward.
Free of torch: converted code imports it at run time.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import linecache
import os
import tempfile
import textwrap
from pathlib import Path

import mindspore
from mindspore import mint, nn

__all__ = ["Function", "once_differentiable"]

_DROPPED_METHODS = ("mark_non_differentiable", "mark_dirty", "set_materialize_grads")


def once_differentiable(fn):
    """torch.autograd.function.once_differentiable: a marker (no double backward here anyway)."""
    return fn


class _CtxToDict(ast.NodeTransformer):
    """Rewrites one function body so that `ctx` is a dict (see the module docstring)."""

    def __init__(self, ctx: str, is_forward: bool, where: str):
        self.ctx, self.is_forward, self.where, self.depth = ctx, is_forward, where, 0

    def _is_ctx(self, node) -> bool:
        return isinstance(node, ast.Name) and node.id == self.ctx

    def _key(self, attr: str, ctx_kind) -> ast.Subscript:
        return ast.Subscript(value=ast.Name(self.ctx, ast.Load()), slice=ast.Constant(attr), ctx=ctx_kind)

    def visit_FunctionDef(self, node):
        if self.depth:
            raise TypeError(f"{self.where}: nested functions are not supported")
        self.depth += 1
        node.decorator_list = []
        node.body = [self.visit(s) for s in node.body]
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        raise TypeError(f"{self.where}: lambdas are not supported")

    def visit_Expr(self, node):
        call = node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and self._is_ctx(call.func.value):
            if call.func.attr == "save_for_backward":
                value = ast.Tuple([self.visit(a) for a in call.args], ast.Load())
                return ast.copy_location(ast.Assign([self._key("saved_tensors", ast.Store())], value), node)
            if call.func.attr in _DROPPED_METHODS:
                return ast.copy_location(ast.Pass(), node)
        return self.generic_visit(node)

    def visit_Attribute(self, node):
        if self._is_ctx(node.value):
            return ast.copy_location(self._key(node.attr, node.ctx), node)
        return self.generic_visit(node)

    def visit_Name(self, node):
        if node.id == self.ctx:
            raise TypeError(f"{self.where}: `{self.ctx}` is only supported as `{self.ctx}.<attribute>`")
        return node

    def visit_Return(self, node):
        value = self.visit(node.value) if node.value is not None else ast.Constant(None)
        if self.is_forward:
            value = ast.Tuple([value, ast.Name(self.ctx, ast.Load())], ast.Load())
        return ast.copy_location(ast.Return(value), node)


def _rewrite(cls, name: str):
    """cls.<name> (a staticmethod taking ctx first) rewritten with a dict ctx; the new plain function."""
    fn = inspect.getattr_static(cls, name)
    fn = fn.__func__ if isinstance(fn, staticmethod) else fn
    where = f"{cls.__qualname__}.{name}"
    if fn.__code__.co_freevars:
        raise TypeError(f"{where}: closures over local variables are not supported; use module globals")
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    func = tree.body[0]
    args = func.args
    if name == "forward" and (args.vararg or args.kwarg or args.kwonlyargs or args.defaults):
        raise TypeError(f"{where}: only positional inputs without defaults are supported")
    ctx = (args.posonlyargs + args.args)[0].arg
    tree.body[0] = _CtxToDict(ctx, name == "forward", where).visit(func)
    ast.fix_missing_locations(tree)
    source = f"# {where}, rewritten by backends/mindspore/compat_nn/autograd.py\n" + ast.unparse(tree) + "\n"
    namespace: dict = {}
    exec(compile(source, _source_file(source), "exec"), fn.__globals__, namespace)
    return namespace[func.name]


def _source_file(source: str) -> str:
    """A real file holding `source`: MindSpore's graph parser reads a function's source through inspect."""
    folder = Path(tempfile.gettempdir()) / f"mindbridge-compat_nn-{os.getuid() if hasattr(os, 'getuid') else 0}"
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / f"fn_{hashlib.sha256(source.encode()).hexdigest()[:24]}.py"
    if not path.exists() or path.read_text(encoding="utf-8") != source:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(source, encoding="utf-8")
        os.replace(tmp, path)
    linecache.checkcache(str(path))
    return str(path)


def _grads(grads, inputs):
    """backward's result as one gradient per input; None (or missing) -> zeros, 0 for non-tensors."""
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    out = []
    for i, x in enumerate(inputs):
        g = grads[i] if i < len(grads) else None
        if g is None:
            g = mint.zeros(x.shape, dtype=x.dtype) if isinstance(x, mindspore.Tensor) else 0
        elif isinstance(x, mindspore.Tensor) and g.shape != x.shape:
            g = _sum_to(g, x.shape)
        out.append(g)
    return tuple(out)


def _sum_to(g, shape):
    """A gradient of a broadcast input summed back to the input's shape, as torch's autograd does
    (PyNative MindSpore does it too, graph mode does not)."""
    lead = g.ndim - len(shape)
    if lead > 0:
        g = g.sum(tuple(range(lead)))
    axes = tuple(i for i in range(len(shape)) if shape[i] == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axes, keepdim=True)
    return g


class _Apply(nn.Cell):
    """Runs one Function class; the subclasses below fix the arity (MindSpore's bprop needs named parameters)."""

    def __init__(self, forward, backward):
        super().__init__(auto_prefix=False)
        self.fwd, self.bwd = forward, backward

    def _forward(self, *inputs):
        out, _ = self.fwd({"saved_tensors": (), "needs_input_grad": (True,) * len(inputs)}, *inputs)
        return out

    def _backward(self, inputs, out, dout):
        _, ctx = self.fwd({"saved_tensors": (), "needs_input_grad": (True,) * len(inputs)}, *inputs)
        if isinstance(out, tuple):
            return _grads(self.bwd(ctx, *dout), inputs)
        return _grads(self.bwd(ctx, dout), inputs)


class _Apply1(_Apply):
    def construct(self, a0):
        return self._forward(a0)

    def bprop(self, a0, out, dout):
        return self._backward((a0,), out, dout)


class _Apply2(_Apply):
    def construct(self, a0, a1):
        return self._forward(a0, a1)

    def bprop(self, a0, a1, out, dout):
        return self._backward((a0, a1), out, dout)


class _Apply3(_Apply):
    def construct(self, a0, a1, a2):
        return self._forward(a0, a1, a2)

    def bprop(self, a0, a1, a2, out, dout):
        return self._backward((a0, a1, a2), out, dout)


class _Apply4(_Apply):
    def construct(self, a0, a1, a2, a3):
        return self._forward(a0, a1, a2, a3)

    def bprop(self, a0, a1, a2, a3, out, dout):
        return self._backward((a0, a1, a2, a3), out, dout)


class _Apply5(_Apply):
    def construct(self, a0, a1, a2, a3, a4):
        return self._forward(a0, a1, a2, a3, a4)

    def bprop(self, a0, a1, a2, a3, a4, out, dout):
        return self._backward((a0, a1, a2, a3, a4), out, dout)


class _Apply6(_Apply):
    def construct(self, a0, a1, a2, a3, a4, a5):
        return self._forward(a0, a1, a2, a3, a4, a5)

    def bprop(self, a0, a1, a2, a3, a4, a5, out, dout):
        return self._backward((a0, a1, a2, a3, a4, a5), out, dout)


class _Apply7(_Apply):
    def construct(self, a0, a1, a2, a3, a4, a5, a6):
        return self._forward(a0, a1, a2, a3, a4, a5, a6)

    def bprop(self, a0, a1, a2, a3, a4, a5, a6, out, dout):
        return self._backward((a0, a1, a2, a3, a4, a5, a6), out, dout)


class _Apply8(_Apply):
    def construct(self, a0, a1, a2, a3, a4, a5, a6, a7):
        return self._forward(a0, a1, a2, a3, a4, a5, a6, a7)

    def bprop(self, a0, a1, a2, a3, a4, a5, a6, a7, out, dout):
        return self._backward((a0, a1, a2, a3, a4, a5, a6, a7), out, dout)


_ARITY = {1: _Apply1, 2: _Apply2, 3: _Apply3, 4: _Apply4, 5: _Apply5, 6: _Apply6, 7: _Apply7, 8: _Apply8}


class Function:
    """torch.autograd.Function: subclass with static forward(ctx, ...) / backward(ctx, *grads); call Fn.apply(...)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "forward" not in cls.__dict__ and "backward" not in cls.__dict__:
            return  # an intermediate base class
        forward, backward = _rewrite(cls, "forward"), _rewrite(cls, "backward")
        n = forward.__code__.co_argcount - 1
        if n not in _ARITY:
            raise TypeError(f"{cls.__qualname__}.forward takes {n} inputs; 1-{len(_ARITY)} are supported")
        cls.apply = _ARITY[n](forward, backward)

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("a Function subclass defines forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("a Function subclass defines backward(ctx, *grads)")
