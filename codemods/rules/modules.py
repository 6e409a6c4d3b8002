"""MB1xx: torch.nn.Module idioms -> mindspore.nn.Cell idioms.

Run through `python -m codemods.convert`; each function below is one rule, keyed by the method,
attribute or def name or qualified torch name it rewrites. Module/containers/Parameter renames
(MB101, MB103, MB104) are table entries in mappings/layers.yaml. forward -> construct (MB102) is
two rules: `def forward` in Cell subclasses, and every `.forward` attribute (any object may be a
Cell, so `model.forward(x)` is renamed wherever it stands).
"""

from __future__ import annotations

import libcst as cst

from codemods import cstutil
from codemods.rules import attribute_rule, call_rule, def_rule, describe, method_rule

describe("MB101", "class M(nn.Module) -> class M(nn.Cell)", ("mindspore.nn.Cell",))
describe("MB102", "def forward(self, x) / self.forward(x) -> def construct(self, x) / self.construct(x)")
describe("MB103", "nn.ModuleList/Sequential/ModuleDict -> nn.CellList/SequentialCell/compat.ModuleDict")
describe("MB104", "nn.Parameter(t) -> mindspore.Parameter(t)")
describe(
    "MB109",
    "register_buffer / state_dict / load_state_dict / apply / named_buffers: same API on nn.Cell, kept",
    ("mindspore.nn.Cell.register_buffer", "mindspore.nn.Cell.state_dict",
     "mindspore.nn.Cell.load_state_dict", "mindspore.nn.Cell.apply", "mindspore.nn.Cell.named_buffers"),
)


@def_rule("forward", code="MB102", summary="def forward(self, x) in a Cell subclass -> def construct(self, x)")
def forward_def(ctx, funcdef):
    return funcdef.with_changes(name=cst.Name("construct"))


@attribute_rule("forward", code="MB102",
                summary="self.forward(x) / model.forward -> self.construct(x) / model.construct")
def forward_attribute(ctx, attribute):
    return attribute.with_changes(attr=cst.Name("construct"))


def _method(call: cst.Call, name: str, args=None) -> cst.Call:
    func = call.func.with_changes(attr=cst.Name(name))
    return call.with_changes(func=func, args=call.args if args is None else args)


@method_rule("train", "eval", code="MB105", summary="m.train() / m.eval() -> m.set_train(True) / m.set_train(False)",
             emits=("mindspore.nn.Cell.set_train",))
def train_eval(ctx, call):
    if call.func.attr.value == "eval":
        if call.args:
            return None
        mode = cst.Name("False")
    else:
        mode = cstutil.arg_value(call, 0, "mode") or cst.Name("True")
    return _method(call, "set_train", [cst.Arg(mode)])


_TRAVERSAL = {
    "parameters": "get_parameters",
    "named_parameters": "parameters_and_names",
    "named_modules": "cells_and_names",
    "children": "cells",
}


@method_rule(*_TRAVERSAL, code="MB106",
             summary="parameters() / named_parameters() / named_modules() / children() -> get_parameters() / "
                     "parameters_and_names() / cells_and_names() / cells()",
             emits=tuple(f"mindspore.nn.Cell.{v}" for v in _TRAVERSAL.values()))
def traversal(ctx, call):
    name = call.func.attr.value
    args = [] if name in ("parameters", "named_parameters", "named_modules") else call.args
    if name in ("parameters", "named_parameters") and any(
        a.keyword is not None and a.keyword.value == "recurse" for a in call.args
    ):
        ctx.report("MB106", f"Module.{name}(recurse=...)", "recurse= has no Cell equivalent; dropped", level="warning")
    return _method(call, _TRAVERSAL[name], args)


@method_rule("modules", code="MB106", summary="m.modules() -> (c for _, c in m.cells_and_names())")
def modules(ctx, call):
    if call.args:
        return None
    return cst.parse_expression(f"(cell for _, cell in {cst.Module([]).code_for_node(call.func.value)}.cells_and_names())")


@method_rule("named_children", code="MB106", summary="m.named_children() -> m.name_cells().items()",
             emits=("mindspore.nn.Cell.name_cells",))
def named_children(ctx, call):
    inner = _method(call, "name_cells", [])
    return cst.Call(func=cst.Attribute(value=inner, attr=cst.Name("items")))


@call_rule("torch.nn.ModuleList", code="MB103",
           summary="nn.ModuleList(layer(i) for i in ...) -> nn.CellList(list(layer(i) for i in ...)) (CellList takes a "
                   "list only)", emits=("mindspore.nn.CellList",))
def module_list_of_an_iterable(ctx, call):
    arg = cstutil.arg_value(call, 0, "modules")
    if arg is None or isinstance(arg, (cst.List, cst.ListComp)) or len(call.args) != 1:
        return None  # the table's plain rename
    listed = cst.Call(func=cst.Name("list"), args=[cst.Arg(arg)])
    return cst.Call(func=ctx.render("mindspore.nn.CellList"), args=[cst.Arg(listed)])
