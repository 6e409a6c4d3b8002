"""MB4xx: training-loop idioms. MindSpore differentiates functionally
(`mindspore.value_and_grad(fn, None, params)`), so backward()/zero_grad()/.grad are reported for a
human to restructure; no_grad blocks and decorators, jit/compile wrappers and checkpoint I/O are
rewritten.
"""

from __future__ import annotations

import libcst as cst

from codemods import cstutil
from codemods.rules import attribute_rule, call_rule, describe, method_rule, wrapper_rule

GRAD_HINT = "loss, grads = mindspore.value_and_grad(loss_fn, None, optimizer.parameters)(*batch); optimizer(grads)"
NO_GRAD = ("torch.no_grad", "torch.inference_mode", "torch.enable_grad", "torch.set_grad_enabled",
           "torch.autograd.no_grad", "torch.autocast", "torch.cuda.amp.autocast", "torch.amp.autocast")
JIT = ("torch.jit.script", "torch.jit.trace", "torch.compile", "torch.jit.ignore", "torch.jit.unused",
       "torch.compiler.disable")

describe("MB405", "torch.compile(model) / @torch.jit.script -> model / no decorator (reported)")
describe("MB410", "torch.optim.AdamW(...) -> mindspore.experimental.optim.AdamW(...) (torch semantics)")
describe("MB411", "torch.manual_seed(0) -> mindspore.set_seed(0)")


@method_rule("backward", code="MB401", summary="loss.backward() as a statement -> moved to the block pass "
             "(rules/train_step.py); in an expression or with arguments: reported")
def backward(ctx, call):
    if ctx.current in ctx.statement_calls and not call.args:
        ctx.backward_pending[id(call)] = ctx.current  # rewritten (or reported) with its block
        return None
    ctx.report("MB401", "Tensor.backward", "MindSpore has no tape-based backward; only a plain "
               "`loss.backward()` statement is rewritten", GRAD_HINT)
    return None


@method_rule("zero_grad", code="MB402", summary="optimizer.zero_grad() / model.zero_grad() -> "
             "compat_train.zero_grad(optimizer) (clears the gradients compat_train.backward stored)",
             emits=("backends.mindspore.compat_train.zero_grad",))
def zero_grad(ctx, call):
    return cst.Call(ctx.render("backends.mindspore.compat_train.zero_grad"),
                    [cst.Arg(call.func.value), *call.args])


@method_rule("step", code="MB407", summary="x.step() -> compat_train.step(x): an optimizer applies the stored "
             "gradients, anything else (an lr scheduler) steps itself", emits=("backends.mindspore.compat_train.step",))
def step(ctx, call):
    if call.args:
        return None  # scaler.step(optimizer) (compat_train.GradScaler), env.step(action): not an optimizer step
    return cst.Call(ctx.render("backends.mindspore.compat_train.step"), [cst.Arg(call.func.value)])


@attribute_rule("grad", code="MB403", summary="p.grad -> reported: MindSpore returns gradients from value_and_grad")
def grad(ctx, attribute):
    ctx.report("MB403", "Tensor.grad", "MindSpore tensors carry no .grad",
               "take gradients from mindspore.value_and_grad")
    return None


@wrapper_rule(*NO_GRAD, code="MB404", summary="with torch.no_grad(): body / @torch.no_grad() -> body / no decorator "
                                             "(MindSpore only differentiates inside value_and_grad)")
def no_grad(ctx, node):
    return True


@call_rule(*JIT, code="MB405", summary="torch.compile(model) -> model (reported)")
def jit_identity(ctx, call):
    target = cstutil.arg_value(call, 0, "model") or cstutil.arg_value(call, 0, "obj")
    if target is None:
        return None
    _report_jit(ctx, "wrapper")
    return target


@wrapper_rule(*JIT, code="MB405", summary="@torch.jit.script / @torch.compile -> no decorator (reported)")
def jit_decorator(ctx, node):
    if not isinstance(node, cst.Decorator):
        return False  # `with torch.compile(m):` is no idiom: only the call is rewritten (jit_identity)
    _report_jit(ctx, "decorator")
    return True


def _report_jit(ctx, removed: str) -> None:
    ctx.report("MB405", ctx.qualified, f"compilation {removed} removed", "wrap the train step in mindspore.jit",
               level="warning")


@call_rule("torch.save", code="MB406", summary="torch.save(m.state_dict(), p) -> mindspore.save_checkpoint(m, p)",
           emits=("mindspore.save_checkpoint",))
def save(ctx, call):
    obj, path = cstutil.arg_value(call, 0, "obj"), cstutil.arg_value(call, 1, "f")
    if obj is None or path is None:
        return None
    if isinstance(obj, cst.Call) and isinstance(obj.func, cst.Attribute) and obj.func.attr.value == "state_dict":
        obj = obj.func.value  # save_checkpoint takes the Cell and writes its parameters by name
    elif not isinstance(obj, cst.Dict):
        ctx.report("MB406", "torch.save", "only state dicts (or dicts of tensors) can be saved as checkpoints",
                   "mindspore.save_checkpoint(cell_or_dict, path)")
        return None
    return cst.Call(func=ctx.render("mindspore.save_checkpoint"), args=cstutil.clean([cst.Arg(obj), cst.Arg(path)]))


@call_rule("torch.load", code="MB406", summary="torch.load(p, map_location=...) -> mindspore.load_checkpoint(p)",
           emits=("mindspore.load_checkpoint",))
def load(ctx, call):
    path = cstutil.arg_value(call, 0, "f")
    if path is None:
        return None
    return cst.Call(func=ctx.render("mindspore.load_checkpoint"), args=[cst.Arg(path)])
