"""What one torch reference, torch call or method call becomes: a table entry, a rule, or a report.

Called by `Converter` (codemods/transformer.py) with itself as `conv`, bottom-up (the arguments of a
call are already converted). A reference (`torch.float32`, `nn.Linear`) is renamed through the
mapping tables (codemods/tables.py), also inside annotations; a torch call goes to its call rule
first, then to its table entry (keywords dropped or renamed, sizes packed); a method call
(`x.view(...)`) to its method rule, then to the methods table. What has no MindSpore spelling keeps
its torch name and is reported (MB002, MB003).
"""

from __future__ import annotations

import libcst as cst

from codemods import cstutil
from codemods.names import build, dotted, head
from codemods.rules import CALL_RULES, METHOD_RULES, WRAPPER_RULES

# Tensor classes that annotations name (`input_ids: torch.LongTensor`): all mindspore.Tensor.
TENSOR_CLASSES = frozenset(f"torch.{n}" for n in (
    "Tensor", "FloatTensor", "LongTensor", "BoolTensor", "IntTensor", "HalfTensor", "DoubleTensor", "ByteTensor",
    "CharTensor", "ShortTensor", "BFloat16Tensor", "cuda.FloatTensor", "cuda.LongTensor", "cuda.BoolTensor",
    "cuda.HalfTensor"))


# -- references ----------------------------------------------------------------------------
def lookup(tables, q: str):
    """Table entry for q, or for its longest mapped prefix (nn.Module.__init__)."""
    entry = tables.calls.get(q)
    if entry is not None:
        return entry, ""
    parts = q.split(".")
    for i in range(len(parts) - 1, 1, -1):
        entry = tables.calls.get(".".join(parts[:i]))
        if entry is not None:
            return entry, "." + ".".join(parts[i:])
    return None, ""


def untranslated(conv, node, q, entry, rule_call=False):
    """The torch name kept, with the report that says why."""
    if entry is not None and entry.unsupported:
        conv.report("MB003", q, entry.unsupported, entry.suggest, node=node)
    elif q in CALL_RULES and not rule_call:
        conv.report("MB002", q, "only calls of this API are converted", node=node)
    elif q in WRAPPER_RULES and not rule_call:  # `ctx = nullcontext() if a else torch.no_grad()`
        conv.report("MB002", q, "converted in `with` statements and as a decorator only; as a value it has "
                    "no MindSpore counterpart (MindSpore has no grad mode to switch)", "write the `with` "
                    "block out, and stop gradients with ops.stop_gradient(x) where torch's no_grad did", node=node)
    elif not rule_call:
        conv.report("MB002", q, "no MindSpore mapping", "add one to codemods/mappings/*.yaml", node=node)
    return conv.names.keep_torch(q)


def reference(conv, node, q: str):
    """A Name or Attribute that is the torch reference q (not the func of a call)."""
    if conv.annotations:
        return annotation_reference(conv, node, q)
    entry, rest = lookup(conv.tables, q)
    if entry is not None and entry.to:
        if conv.selected(entry.code):
            return conv.render(entry.to + rest)
        return conv.names.keep_torch(q)
    if q in conv.tables.modules and conv.tables.modules[q]:
        return conv.render(conv.tables.modules[q])
    if entry is None and (q == "torch" or q in conv.tables.modules) and conv.selected("MB002"):
        conv.report("MB002", q, "a torch module used as a value (getattr(torch, name), passed to a function): "
                    "its members cannot be translated one by one", "name the API itself "
                    "(torch.float32, torch.nn.functional.relu)", node=node)
        return conv.names.keep_torch(q)
    return untranslated(conv, node, q, entry)


def annotation_reference(conv, node, q: str):
    """A torch name inside a type annotation: Tensor classes -> mindspore.Tensor, never reported."""
    if q in TENSOR_CLASSES:
        return conv.render("mindspore.Tensor")
    entry, rest = lookup(conv.tables, q)
    if entry is not None and entry.to:
        return conv.render(entry.to + rest)
    if q in conv.tables.modules and conv.tables.modules[q]:
        return conv.render(conv.tables.modules[q])
    conv.annotations[-1][0] = True
    return build(q)


# -- calls ---------------------------------------------------------------------------------
def torch_call(conv, original, updated, q):
    """A call whose func is the torch reference q: its call rule, else its table entry."""
    conv.current, conv.qualified = original, q
    rule = CALL_RULES.get(q)
    if rule is not None and conv.selected(rule.code):
        n_reports = len(conv.reports)
        result = rule.fn(conv, updated)
        if result is not None:
            return result
        if len(conv.reports) > n_reports:  # the rule explained why it left the call
            return updated.with_changes(func=conv.names.keep_torch(q))
    entry, rest = lookup(conv.tables, q)
    if entry is not None and entry.to:
        if not conv.selected(entry.code):
            return updated.with_changes(func=conv.names.keep_torch(q))
        if rest:
            return updated.with_changes(func=conv.render(entry.to + rest))
        call = cstutil.rename_keywords(cstutil.drop_keywords(updated, entry.drop), entry.rename)
        call = _mapped_double_star(conv, call, entry)
        if entry.sizes == "varargs":
            call = call.with_changes(args=cstutil.sizes_to_tuple(list(call.args)))
        return call.with_changes(func=conv.render(entry.to))
    if rule is not None and not conv.selected(rule.code):
        return updated.with_changes(func=conv.names.keep_torch(q))
    if rule is not None:
        conv.report("MB002", q, "this call form is not converted", node=original)
    return updated.with_changes(func=untranslated(conv, original, q, entry, rule_call=rule is not None))


def _mapped_double_star(conv, call, entry):
    """`f(a, **kw)`: the keywords the table drops or renames may hide in `kw`; edit it at run time."""
    if not any(a.star == "**" for a in call.args) or not (entry.drop or entry.rename):
        return call
    edit = [cst.Arg(cst.parse_expression(repr(tuple(entry.drop))))]
    if entry.rename:
        edit.append(cst.Arg(cst.parse_expression(repr(dict(entry.rename)))))
    helper = conv.render("backends.mindspore.compat.mapped_kwargs")
    return call.with_changes(args=[
        a.with_changes(value=cst.Call(helper, [cst.Arg(a.value), *edit])) if a.star == "**" else a
        for a in call.args])


def method_call(conv, original, updated):
    """`receiver.name(...)` that is not a torch reference: its method rule, else the methods table."""
    func = updated.func
    receiver = func.value
    h = head(receiver)
    if h is not None and (h.value in conv.names.other_imports or h.value in conv.names.bindings) \
            and id(h) not in conv.local and dotted(receiver):
        return updated  # np.split(...), os.path.split(...): a module function, not a tensor method
    name = func.attr.value
    rule = METHOD_RULES.get(name)
    if rule is not None and conv.selected(rule.code):
        conv.current = original
        result = rule.fn(conv, updated)
        if result is not None:
            return result
    entry = conv.tables.methods.get(name)
    if entry is not None and entry.unsupported:  # x.register_hook(...): nothing to map it to
        if conv.selected("MB003") and not (isinstance(receiver, cst.Name) and receiver.value in ("self", "cls")):
            conv.report("MB003", f"Tensor.{name}", entry.unsupported, entry.suggest, node=original)
        return updated
    if entry is not None and conv.selected(entry.code):
        pos = cstutil.positional(updated)
        if cstutil.is_string(receiver) or any(cstutil.is_string(a.value) for a in pos):
            return updated
        if isinstance(receiver, cst.Name) and receiver.value in ("self", "cls"):
            return updated  # self.norm(x), self.softmax(x): a sub-Cell or method, not a Tensor method
        if name == "split" and not updated.args:
            return updated  # str.split()
        args = [cst.Arg(receiver)] + list(updated.args)
        if entry.sizes == "varargs":
            args = cstutil.sizes_to_tuple(args, start=1)
        return cst.Call(func=conv.render(entry.to), args=cstutil.clean(args))
    if name in conv.tables.varargs_methods and conv.selected("MB202"):
        before = list(updated.args)
        args = cstutil.sizes_to_tuple(before)
        if args is not before:
            return updated.with_changes(args=args)
    return updated


def keep_parens(call: cst.Call, new):
    """A rewritten call keeps the call's own parentheses: `(x\n .expand(..)\n .to(dev))` -> `(x ...)`, not
    the receiver alone, whose continuation lines would then stand on their own and not parse."""
    if new is call or not call.lpar or not hasattr(new, "lpar") or new.lpar:
        return new
    return new.with_changes(lpar=call.lpar, rpar=call.rpar)
