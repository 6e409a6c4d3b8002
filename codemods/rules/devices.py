"""MB3xx: device placement. MindSpore places tensors by the context's device target, so moves
and device arguments are dropped; dtype conversions are kept.
"""

from __future__ import annotations

import libcst as cst

from codemods import cstutil
from codemods.rules import call_rule, describe, method_rule

describe("MB303", "torch.zeros(3, device=d, pin_memory=True) -> mint.zeros(3) (device=, pin_memory=, "
                  "non_blocking=, memory_format= dropped from mapped calls)")


@method_rule("cuda", "cpu", "pin_memory", "npu", code="MB301", summary="x.cuda() / x.cpu() -> x")
def drop_move(ctx, call):
    return call.func.value


@method_rule("to", code="MB302", summary="x.to(device) -> x; x.to(device, dtype) / x.to(dtype) -> x.to(dtype)")
def to(ctx, call):
    dtype = cstutil.keyword(call, "dtype")
    kept = [dtype.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT)] if dtype else []
    for a in cstutil.positional(call):
        if not a.star and cstutil.looks_like_dtype(a.value):
            kept.append(a)
    if not kept:
        return call.func.value
    kept += [a for a in call.args if a.keyword is not None and a.keyword.value == "copy"]
    if len(kept) == len(call.args) and not dtype:
        return None
    return call.with_changes(args=cstutil.clean(kept[:1] + kept[1:]))


@call_rule("torch.device", code="MB304", summary='torch.device("cuda") -> "cuda" (a plain string; moves are dropped)')
def device(ctx, call):
    value = cstutil.arg_value(call, 0, "type")
    return value if value is not None else cst.SimpleString('"cpu"')


@call_rule("torch.cuda.is_available", "torch.npu.is_available", code="MB305",
           summary='torch.cuda.is_available() -> mindspore.get_context("device_target") != "CPU"',
           emits=("mindspore.get_context",))
def is_available(ctx, call):
    get = cst.Call(func=ctx.render("mindspore.get_context"), args=[cst.Arg(cst.SimpleString('"device_target"'))])
    return cst.Comparison(get, [cst.ComparisonTarget(cst.NotEqual(), cst.SimpleString('"CPU"'))])
