"""MB2xx: Tensor idioms whose MindSpore spelling differs (sizes, graph-mode-safe function forms).

Function forms (x.transpose(1, 2) -> mint.transpose(x, 1, 2)) come from mappings/methods.yaml
and are applied by the transformer under MB203; the rules here change structure.
"""

from __future__ import annotations

import libcst as cst

from codemods import cstutil
from codemods.rules import describe, method_rule

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
