"""MB401: `loss.backward()` -> the code that computes the loss, differentiated by MindSpore.

MindSpore has no tape: gradients come from `mindspore.value_and_grad(fn, ...)`, so the statements
that compute the loss must form a function. In a block (a loop body, a function body) that holds a
`<expr>.backward()` statement, the statements the loss depends on (a backward slice of the
block, from the previous backward/step statement on) move into a nested function, in their order;
the others stay where they were:

    for it in range(n):                          for it in range(n):
        lr = get_lr(it)                              lr = get_lr(it)
        X, Y = get_batch("train")                    def _mb_forward():
        logits, loss = model(X, Y)       ->              nonlocal X, Y, logits, loss   # `global` at module level
        loss.backward()                                  X, Y = get_batch("train")
        optimizer.step()                                 logits, loss = model(X, Y)
                                                         return loss, (X, Y, logits, loss)
                                                     (X, Y, logits, loss) = compat_train.backward(_mb_forward)
                                                     compat_train.step(optimizer)

`nonlocal`/`global` keep the names the moved statements read and write the enclosing scope's (a
name read before it is reassigned, as in `X, Y = get_batch()` after the forward in nanoGPT's
gradient-accumulation loop, reads the previous value); the returned tuple rebinds them. A statement
left in place that reads or writes what a moved one writes (or writes what it reads) moves too, so
no statement sees another value than it did. Reported instead (MB401): a backward() inside an
expression or with arguments, a loss slice that holds `return`/`break`/`continue`/`yield`
(control flow cannot leave a function), or a backward() in a class body.
The runtime side (gradient store, zero_grad, step, clip_grad_norm_) is backends/mindspore/compat_train.py.
"""

from __future__ import annotations

import ast

import libcst as cst

from codemods.rules import describe

describe("MB401", "loss.backward() -> the statements computing loss in `def _mb_forward()`, "
                  "differentiated by compat_train.backward (reported where that is impossible)",
         emits=("backends.mindspore.compat_train.backward",))

FORWARD = "_mb_forward"
HINT = "loss, grads = mindspore.value_and_grad(loss_fn, None, optimizer.parameters)(*batch); optimizer(grads)"


def backward_call(stmt) -> cst.Call | None:
    """The `<expr>.backward()` call a statement consists of, or None."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1 or not isinstance(stmt.body[0], cst.Expr):
        return None
    call = stmt.body[0].value
    if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == "backward" \
            and not call.args:
        return call
    return None


def _is_barrier(stmt) -> bool:
    """A step or a backward (`optimizer.step()`, `compat_train.step(optimizer)`): the loss of the next
    backward is computed after it."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1 or not isinstance(stmt.body[0], cst.Expr):
        return False
    call = stmt.body[0].value
    return isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and \
        call.func.attr.value in ("step", "backward")


class _Names(ast.NodeVisitor):
    """Names a statement reads and binds, not counting bindings inside nested scopes; flags control flow
    that would leave the function the statement moves into."""

    def __init__(self):
        self.reads: set[str] = set()
        self.writes: set[str] = set()
        self.escapes = False
        self._loops = 0

    def visit_Name(self, node):
        (self.reads if isinstance(node.ctx, ast.Load) else self.writes).add(node.id)

    def _scope(self, node):  # nested def/lambda/class: its free names are reads, its bindings its own
        if hasattr(node, "name"):
            self.writes.add(node.name)
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
                self.reads.add(child.id)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _scope

    def _comprehension(self, node):
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
                self.reads.add(child.id)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_Import(self, node):
        for a in node.names:
            self.writes.add(a.asname or a.name.split(".")[0])

    def visit_ImportFrom(self, node):
        for a in node.names:
            self.writes.add(a.asname or a.name)

    def _loop(self, node):
        self._loops += 1
        self.generic_visit(node)
        self._loops -= 1

    visit_For = visit_AsyncFor = visit_While = _loop

    def _leaves(self, node):
        self.escapes = True

    visit_Return = visit_Yield = visit_YieldFrom = visit_Global = visit_Nonlocal = visit_Await = _leaves

    def visit_Break(self, node):
        if not self._loops:
            self.escapes = True

    visit_Continue = visit_Break


def _names(node) -> _Names:
    code = cst.Module(body=[node]).code if isinstance(node, cst.BaseStatement) else \
        cst.Module(body=[cst.SimpleStatementLine([cst.Expr(node)])]).code
    found = _Names()
    found.visit(ast.parse(code))
    return found


def rewrite_block(ctx, body: list, scope: str) -> list | None:
    """The block's statements with each backward() statement rewritten; None when nothing changed.
    `scope` is "function" (nonlocal) or "module" (global)."""
    out, start, changed = [], 0, False
    for stmt in body:
        call = backward_call(stmt)
        if call is None:
            out.append(stmt)
            if _is_barrier(stmt):
                start = len(out)
            continue
        original = ctx.backward_pending.pop(id(call), call)
        rewritten = _rewrite_one(ctx, out[start:], call, scope) if scope != "class" else None
        if rewritten is None:
            report(ctx, original, "the statements that compute this loss cannot move into a function (control "
                   "flow leaves them, nothing in this block computes the loss, or it is a class body)")
            out.append(stmt)
            start = len(out)
            continue
        out[start:] = rewritten
        start = len(out)
        changed = True
    return out if changed else None


def _declared_global(function) -> set[str]:
    """Names a function declares `global` in its own body (not in nested functions)."""
    found: set[str] = set()

    class Find(cst.CSTVisitor):
        def visit_Global(self, node):
            found.update(item.name.value for item in node.names)

        def visit_FunctionDef(self, node):
            return node is function

        def visit_ClassDef(self, node):
            return False

    if isinstance(function, cst.FunctionDef):
        function.visit(Find())
    return found


def report(ctx, node, why: str) -> None:
    ctx.report("MB401", "Tensor.backward", f"MindSpore has no tape-based backward; {why}", HINT, node=node)


def _rewrite_one(ctx, region: list, call: cst.Call, scope: str) -> list | None:
    loss = call.func.value
    info = [_names(s) for s in region]
    needed = set(_names(loss).reads)
    moved: set[int] = set()
    for j in range(len(region) - 1, -1, -1):
        if info[j].writes & needed:
            moved.add(j)
            needed |= info[j].reads
    if not moved:
        return None
    while True:  # a statement left in place must not see or make other values than before the move
        extra = {i for i in range(len(region)) if i not in moved and any(
            j < i and (info[j].writes & (info[i].reads | info[i].writes) or info[j].reads & info[i].writes)
            for j in moved)}
        if not extra:
            break
        moved |= extra
    if any(info[j].escapes for j in moved):
        return None
    names = sorted(set().union(*(info[j].writes for j in moved)))
    if scope == "function":  # a name the function itself declares global stays global in the nested def
        declared = _declared_global(ctx.enclosing[-1]) if ctx.enclosing else set()
        groups = [(cst.Global, [n for n in names if n in declared]), (cst.Nonlocal, [n for n in names if n not in declared])]
    else:
        groups = [(cst.Global, names)]
    stmts = [cst.SimpleStatementLine([declare([cst.NameItem(cst.Name(n)) for n in group])])
             for declare, group in groups if group]
    first_moved = len(stmts)  # index of the first moved statement in the body of _mb_forward
    stmts += [region[j] for j in sorted(moved)]
    returned = cst.Tuple([cst.Element(cst.Name(n)) for n in names]) if names else cst.Tuple([])
    if len(names) == 1:
        returned = cst.Tuple([cst.Element(cst.Name(names[0]), comma=cst.Comma())])
    stmts.append(cst.SimpleStatementLine([cst.Return(cst.Tuple([cst.Element(loss), cst.Element(returned)]))]))
    forward = cst.FunctionDef(name=cst.Name(FORWARD), params=cst.Parameters(), body=cst.IndentedBlock(stmts),
                              leading_lines=region[min(moved)].leading_lines)
    first = min(moved)
    stmts[first_moved] = region[first].with_changes(leading_lines=[])  # its comments went to the def
    grad_call = cst.Call(ctx.render("backends.mindspore.compat_train.backward"), [cst.Arg(cst.Name(FORWARD))])
    if names:
        step = cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(returned.with_changes(
            lpar=[cst.LeftParen()], rpar=[cst.RightParen()]))], grad_call)])
    else:
        step = cst.SimpleStatementLine([cst.Expr(grad_call)])
    forward = forward.with_changes(body=cst.IndentedBlock(stmts))
    return [region[i] for i in range(len(region)) if i not in moved] + [forward, step]
