"""MB408: an optimizer's `state_dict()` / `load_state_dict(sd)` -> backends/mindspore/compat_optim_state.py,
which reads and writes torch's layout (`{"state": {i: {...}}, "param_groups": [...]}`), so optimizer state in
a checkpoint resumes across the two frameworks:

    "optimizer": optimizer.state_dict(),            "optimizer": compat_optim_state.state_dict(optimizer),
    optimizer.load_state_dict(ckpt["optimizer"])    compat_optim_state.load_state_dict(optimizer, ckpt["optimizer"])

Only receivers that are optimizers in this file: the same source text also receives `.zero_grad(...)`
or `.step()` somewhere in the module, or is assigned from a `torch.optim.<Name>(...)` constructor
(through the file's aliases: `from torch import optim; opt = optim.SGD(...)`). `model.state_dict()`
elsewhere stays a Cell's own. A scheduler that receives `.step()` is rewritten too: compat_optim_state
hands anything that is not an optimizer to its own state_dict(). One walk of the module, done at the
first such call of a file.
"""

from __future__ import annotations

import weakref

import libcst as cst

from codemods.names import dotted, head
from codemods.rules import method_rule

_RECEIVERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # converter -> optimizer receiver texts


def _text(node) -> str:
    return "".join(cst.Module([]).code_for_node(node).split())


def _is_optimizer_class(ctx, func) -> bool:
    name, first = dotted(func), head(func)
    if name is None or first is None or id(first) in ctx.local:  # a local shadowing a torch alias
        return False
    q = ctx.names.qualify(name)
    parts = q.split(".") if q else []
    return len(parts) == 3 and parts[:2] == ["torch", "optim"] and parts[2][:1].isupper()


def _receivers(ctx) -> set[str]:
    found = _RECEIVERS.get(ctx)
    if found is not None:
        return found
    found = set()

    class Scan(cst.CSTVisitor):
        def visit_Call(self, node):
            func = node.func
            if isinstance(func, cst.Attribute) and (func.attr.value == "zero_grad"
                                                    or func.attr.value == "step" and not node.args):
                found.add(_text(func.value))

        def visit_Assign(self, node):
            if isinstance(node.value, cst.Call) and _is_optimizer_class(ctx, node.value.func):
                found.update(_text(t.target) for t in node.targets)

        def visit_AnnAssign(self, node):
            if isinstance(node.value, cst.Call) and _is_optimizer_class(ctx, node.value.func):
                found.add(_text(node.target))

    ctx.enclosing[0].visit(Scan())
    _RECEIVERS[ctx] = found
    return found


@method_rule("state_dict", "load_state_dict", code="MB408",
             summary="optimizer.state_dict() / optimizer.load_state_dict(sd) -> compat_optim_state.state_dict(optimizer) "
                     "/ compat_optim_state.load_state_dict(optimizer, sd): torch's layout, for receivers that are "
                     "optimizers in the file (also get zero_grad()/step(), or built by torch.optim.<Name>(...))",
             emits=("backends.mindspore.compat_optim_state.state_dict",
                    "backends.mindspore.compat_optim_state.load_state_dict"))
def optimizer_state(ctx, call):
    if _text(ctx.current.func.value) not in _receivers(ctx):
        return None
    target = f"backends.mindspore.compat_optim_state.{call.func.attr.value}"
    return cst.Call(ctx.render(target), [cst.Arg(call.func.value), *call.args])
