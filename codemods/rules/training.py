"""MB4xx: training-loop idioms. MindSpore differentiates functionally
(`mindspore.value_and_grad(fn, None, params)`), so backward()/zero_grad()/.grad are reported for a
human to restructure; no_grad blocks and decorators, jit/compile wrappers and checkpoint I/O are
rewritten.

Mixed precision is not reproduced (MB420, MB421): autocast blocks run in the model's dtype and
GradScaler is an identity, so a script that trained in fp16/bf16 under autocast trains in fp32. The
converter says so at each autocast and GradScaler that is not literally disabled (or fp32).
"""

from __future__ import annotations

import libcst as cst

from codemods import cstutil
from codemods.names import dotted
from codemods.rules import attribute_rule, call_rule, describe, method_rule, wrapper_rule

GRAD_HINT = "loss, grads = mindspore.value_and_grad(loss_fn, None, optimizer.parameters)(*batch); optimizer(grads)"
NO_GRAD = ("torch.no_grad", "torch.inference_mode", "torch.enable_grad", "torch.set_grad_enabled",
           "torch.autograd.no_grad")
AUTOCAST = ("torch.autocast", "torch.amp.autocast", "torch.cuda.amp.autocast", "torch.cpu.amp.autocast")
GRAD_SCALER = ("torch.amp.GradScaler", "torch.cuda.amp.GradScaler", "torch.GradScaler")
AMP_HINT = "mixed precision on MindSpore: mindspore.amp.auto_mixed_precision(model, 'O2'), or the recipe's amp setting"
JIT = ("torch.jit.script", "torch.jit.trace", "torch.compile", "torch.jit.ignore", "torch.jit.unused",
       "torch.compiler.disable")

describe("MB405", "torch.compile(model) / @torch.jit.script -> model / no decorator (reported)")
describe("MB410", "torch.optim.AdamW(...) -> mindspore.experimental.optim.AdamW(...) (torch semantics)")
describe("MB411", "torch.manual_seed(0) -> mindspore.set_seed(0)")
describe("MB420", "with torch.autocast(...): body / @torch.autocast(...) -> body / no decorator; a warning unless "
         "enabled=False or dtype=torch.float32 (the block runs in the model's dtype); as a value "
         "(`ctx = torch.amp.autocast(...)`): left as torch, reported")


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


@attribute_rule("grad", code="MB403", summary="p.grad (read) -> compat_train.grad(p), the gradient compat_train.backward "
                "stored; `p.grad = ...` / `del p.grad` reported", emits=("backends.mindspore.compat_train.grad",))
def grad(ctx, attribute):
    if ctx.current in ctx.store_targets:
        ctx.report("MB403", "Tensor.grad", "MindSpore tensors carry no .grad to assign",
                   "compat_train.zero_grad([p]) clears the stored gradient of p")
        return None
    return cst.Call(ctx.render("backends.mindspore.compat_train.grad"), [cst.Arg(attribute.value)])


@wrapper_rule(*NO_GRAD, code="MB404", summary="with torch.no_grad(): body / @torch.no_grad() -> body / no decorator "
                                             "(MindSpore only differentiates inside value_and_grad)")
def no_grad(ctx, node):
    return True


@wrapper_rule(*AUTOCAST, code="MB420", summary="with torch.autocast(...): body -> body (a warning where it "
              "computed in fp16/bf16)")
def autocast(ctx, node):
    call = node.item if isinstance(node, cst.WithItem) else node.decorator
    if not isinstance(call, cst.Call) or _literal_false(_amp_arg(ctx, call, "enabled")):
        return True  # disabled: the block runs in fp32 on torch too
    computed = _autocast_dtype(ctx, call)
    if computed not in ("torch.float32", "torch.float"):
        ctx.report("MB420", ctx.qualified, "autocast dropped: the block runs in the model's dtype on MindSpore (fp32 "
                   f"here), where torch computes in {computed}", AMP_HINT, level="warning")
    return True


def _autocast_dtype(ctx, call) -> str:
    """What torch's autocast computes in: the qualified dtype, the expression as written, or the default."""
    dtype = _amp_arg(ctx, call, "dtype")
    if dtype is None:
        return {"torch.cuda.amp.autocast": "torch.float16 (its default)",
                "torch.cpu.amp.autocast": "torch.bfloat16 (its default)"}.get(
            ctx.qualified, "torch.float16 on cuda, torch.bfloat16 on cpu (the defaults)")
    name = dotted(dtype)
    return (name and ctx.names.qualify(name)) or f"`{cst.Module([]).code_for_node(dtype)}`"


@call_rule(*AUTOCAST, code="MB420", summary="torch.amp.autocast(...) as a value -> left as torch, reported")
def autocast_value(ctx, call):
    ctx.report("MB420", ctx.qualified, "autocast as a value is not converted (MindSpore has no autocast context; "
               "a block under it runs in the model's dtype, fp32 here)",
               f"ctx = nullcontext(), or write `with torch.autocast(...)` out; {AMP_HINT}")
    return None


@call_rule(*GRAD_SCALER, code="MB421", summary="torch.amp.GradScaler(...) -> compat_train.GradScaler(...), an "
           "identity; a warning unless enabled=False", emits=("backends.mindspore.compat_train.GradScaler",))
def grad_scaler(ctx, call):
    if not _literal_false(_amp_arg(ctx, call, "enabled")):
        ctx.report("MB421", ctx.qualified, "loss scaling is an identity on MindSpore (fp32 training needs none; fp16 "
                   "loss scaling is not reproduced)", AMP_HINT, level="warning")
    return call.with_changes(func=ctx.render("backends.mindspore.compat_train.GradScaler"))


# positional index of an argument of torch's amp APIs (the rest take it by keyword only)
_AMP_POSITIONS = {
    "torch.autocast": {"dtype": 1, "enabled": 2}, "torch.amp.autocast": {"dtype": 1, "enabled": 2},
    "torch.cuda.amp.autocast": {"enabled": 0, "dtype": 1}, "torch.cpu.amp.autocast": {"enabled": 0, "dtype": 1},
    "torch.amp.GradScaler": {"enabled": 5}, "torch.GradScaler": {"enabled": 5},
    "torch.cuda.amp.GradScaler": {"enabled": 4},
}


def _amp_arg(ctx, call, name):
    return cstutil.arg_value(call, _AMP_POSITIONS[ctx.qualified].get(name, 99), name)


def _literal_false(node) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


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


@call_rule("torch.save", code="MB406", summary="torch.save(obj, f) -> compat_io.save(obj, f): one safetensors file "
           "(tensors by path, the rest as JSON) that torch and MindSpore both read",
           emits=("backends.mindspore.compat_io.save",))
def save(ctx, call):
    return call.with_changes(func=ctx.render("backends.mindspore.compat_io.save"))


@call_rule("torch.load", code="MB406", summary="torch.load(f, map_location=...) -> compat_io.load(f, map_location=...): "
           "compat_io's checkpoints, plain safetensors, or torch's own files (read with torch)",
           emits=("backends.mindspore.compat_io.load",))
def load(ctx, call):
    return call.with_changes(func=ctx.render("backends.mindspore.compat_io.load"))
