"""The libcst transformer: finds torch references and hands each to its table entry or rule.

One pass over the tree, entering only the subtrees `prescan.needed` marks (those holding a torch
name, a rule-keyed method/attribute/def name, an import or a class). Torch references are
recognised through the aliases in `Names`; what to do with a call, method call, attribute, Cell
method def, with-item or decorator is looked up in the registries of `codemods.rules` (the
transformer knows no rule by name). `visit_*` claims the nodes a rule will rewrite, `leave_*`
rewrites them bottom-up (arguments are already converted when their call is rewritten), and
`leave_Module` swaps the torch imports for the MindSpore imports the new code uses. Strings and
comments are never touched: only Name and Attribute nodes are renamed.
"""

from __future__ import annotations

import functools

import libcst as cst

from codemods import cstutil
from codemods.diagnostics import Diagnostic
from codemods.einops_imports import convert_einops_import
from codemods.names import Names, build, dotted, head
from codemods.positions import positions
from codemods.entry_script import imports_script, is_main_guard, ready_main_guard, ready_statement, runs_at_import
from codemods.rules import train_step
from codemods.prescan import SelectiveTransformer, scan
from codemods.rules import ATTRIBUTE_RULES, CALL_RULES, DEF_RULES, METHOD_RULES, WRAPPER_RULES, load_all


# Base-class names that are never an nn.Module (a class with only these bases keeps `def forward`).
NOT_MODULES = frozenset((
    "object", "Exception", "BaseException", "ValueError", "TypeError", "RuntimeError", "KeyError", "dict", "list",
    "tuple", "set", "str", "int", "float", "type", "Enum", "IntEnum", "StrEnum", "Flag", "IntFlag", "NamedTuple",
    "TypedDict", "Protocol", "Generic", "ABC", "ABCMeta", "OrderedDict", "defaultdict", "Thread", "Dataset",
    "IterableDataset",
))
# Tensor classes that annotations name (`input_ids: torch.LongTensor`): all mindspore.Tensor.
TENSOR_CLASSES = frozenset(f"torch.{n}" for n in (
    "Tensor", "FloatTensor", "LongTensor", "BoolTensor", "IntTensor", "HalfTensor", "DoubleTensor", "ByteTensor",
    "CharTensor", "ShortTensor", "BFloat16Tensor", "cuda.FloatTensor", "cuda.LongTensor", "cuda.BoolTensor",
    "cuda.HalfTensor"))


class Converter(SelectiveTransformer):
    """Enters only the nodes in `needed` (from `prescan.needed`); every other subtree is kept as is."""

    def __init__(self, tables, filename: str, select=None, needed=None, local=None):
        super().__init__(needed)
        self.local = local  # ids of alias Names that name a local variable (prescan.scan); None: scan here
        self.tables = tables
        self.names = Names(tables)
        self.filename = filename
        self.select = tuple(select) if select else None
        self.reports: list[tuple] = []  # (original node, code, api, reason, suggestion, level)
        self.report_tops: dict = {}  # reported node -> index of its top-level statement (None: unknown)
        self._tops: dict = {}  # id of each top-level statement -> its index in Module.body
        self.top_index = None
        self.store_targets: set = set()  # Attributes assigned to or deleted (original nodes)
        self.backward_pending: dict = {}  # id(loss.backward() call) -> original call, for rules/train_step.py
        self.module_level_training = False  # a backward() rewritten at module level: ready MindSpore on import
        self.trains = False  # a backward() rewritten anywhere
        self.refs: dict = {}  # claimed dotted torch reference -> qualified name
        self.calls: dict = {}  # call whose func is a torch reference -> qualified name
        self.skip: set = set()  # Names/Attributes that are not references to convert
        self.drop: set = set()  # with-items and decorators to remove
        self.top_imports: set = set()
        self.top_torch: set = set()  # top-level torch imports (replaced in leave_Module)
        self.nested_torch: set = set()
        self.scopes: list = []  # ("class", is_cell) or ("def", False)
        self.cell_classes: set = set()
        self.plain_classes: set = set()  # classes of this file whose bases are all known non-Module names
        self.enclosing: list = []  # original Module / FunctionDef nodes around the current node
        self.statement_calls: set = set()  # original calls that are a whole expression statement
        self.statement_rewrites: dict = {}  # original call -> small statement replacing its statement
        self.annotations: list = []  # one entry per Annotation being converted: [unmapped torch name seen]
        self.current = None  # original node of the rule being applied (for report positions)
        self.qualified = None  # qualified torch name of the call being rewritten

    @staticmethod
    def triggers(tables) -> frozenset:
        """Names other than torch aliases that the rules key on (attribute, method and def names)."""
        return _triggers(tables)

    # -- services for rules ------------------------------------------------------------------
    def selected(self, code: str) -> bool:
        return self.select is None or code.startswith("MB0") or code.startswith(self.select)

    def render(self, target: str) -> cst.BaseExpression:
        return self.names.render(target)

    def report(self, code, api, reason, suggestion="", level="error", node=None):
        node = node or self.current
        self.reports.append((node, code, api, reason, suggestion, level))
        self.report_tops.setdefault(node, self.top_index)

    def on_visit(self, node):
        index = self._tops.get(id(node))
        if index is not None:  # a top-level statement: what is reported in it is printed from its line
            self.top_index = index
        return super().on_visit(node)

    def _apply(self, rules: dict, key: str, original, updated):
        """The result of the selected rule `rules` keys by `key` on updated; updated when none applies."""
        rule = rules.get(key)
        if rule is None or not self.selected(rule.code):
            return updated
        self.current = original
        result = rule.fn(self, updated)
        return updated if result is None else result

    def diagnostics(self, module: cst.Module, source: str | None = None) -> list[Diagnostic]:
        if not self.reports:
            return []
        # codemods.positions: libcst's PositionProvider's numbers, for the reported nodes only (the provider
        # walks and re-prints the whole tree: 43% of converting a transformers file that has a diagnostic),
        # printing only the top-level statements that hold them
        where = positions(module, [r[0] for r in self.reports], self.report_tops, source)
        out = []
        for node, code, api, reason, suggestion, level in self.reports:
            pos = where.get(node)
            line, col = (pos[0], pos[1] + 1) if pos else (0, 0)
            out.append(Diagnostic(self.filename, line, col, code, api, reason, suggestion, level))
        return sorted(out, key=lambda d: (d.line, d.col, d.code))

    # -- imports -----------------------------------------------------------------------------
    def visit_Module(self, node):
        self.enclosing.append(node)
        self._tops = {id(stmt): i for i, stmt in enumerate(node.body)}
        if self.local is None:
            self.local = scan(node, self.triggers(self.tables))[1]
        for stmt in node.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        self.top_imports.add(small)
                        if self.names.record(small, top_level=True) and not self._star(small):
                            self.top_torch.add(small)

    @staticmethod
    def _star(node) -> bool:
        return isinstance(node, cst.ImportFrom) and isinstance(node.names, cst.ImportStar)

    def _visit_import(self, node):
        convert_einops_import(self, node)
        if node not in self.top_imports and self.names.record(node, top_level=False):
            if self._star(node):
                self.report("MB002", "from torch import *", "star imports cannot be resolved", "import names explicitly", node=node)
            else:
                self.nested_torch.add(node)
        return False

    visit_Import = _visit_import
    visit_ImportFrom = _visit_import

    def _leave_import(self, original, updated):
        if original not in self.nested_torch:
            return updated
        return self._without_torch(updated) or self._nested_mapped(original) or cst.RemovalSentinel.REMOVE

    def _nested_mapped(self, node):
        """A nested `from torch import _assert` (timm's `try:` re-export) keeps binding the names that
        have a MindSpore target: `from backends.mindspore.compat import _assert`. Unmapped names are
        dropped; their uses are reported where they stand."""
        if not isinstance(node, cst.ImportFrom) or isinstance(node.names, cst.ImportStar):
            return None
        module = dotted(node.module)
        aliases = []
        for alias in node.names:
            target = self.names._binding_target(f"{module}.{alias.name.value}")
            if target and "." in target:
                local = alias.asname.name.value if alias.asname else alias.name.value
                parent, _, name = target.rpartition(".")
                aliases.append((parent, name, local))
        if not aliases:
            return None
        by_module: dict[str, list] = {}
        for parent, name, local in aliases:
            by_module.setdefault(parent, []).append(
                cst.ImportAlias(cst.Name(name), asname=None if name == local else cst.AsName(cst.Name(local))))
        return cst.FlattenSentinel([cst.ImportFrom(module=cst.parse_expression(parent), names=names)
                                    for parent, names in by_module.items()])

    @staticmethod
    def _without_torch(node):
        """`import os, torch` -> `import os`; None when nothing but torch is imported."""
        if isinstance(node, cst.ImportFrom):
            return None
        kept = [a for a in node.names if not (dotted(a.name) == "torch" or dotted(a.name).startswith("torch."))]
        if not kept:
            return None
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return node.with_changes(names=kept)

    leave_Import = _leave_import
    leave_ImportFrom = _leave_import

    def visit_Expr(self, node):
        if isinstance(node.value, cst.Call):
            self.statement_calls.add(node.value)

    def leave_Expr(self, original, updated):
        rewrite = self.statement_rewrites.pop(original.value, None)
        if rewrite is not None:  # `x[i].add_(y)` -> `x[i] = mint.add(x[i], y)` (rules/inplace.py)
            return rewrite.with_changes(semicolon=updated.semicolon)
        # `model.cuda()` / `x.to(device)` as a statement: nothing is left to do
        if isinstance(original.value, cst.Call) and isinstance(updated.value, (cst.Name, cst.Attribute)):
            return cst.RemovalSentinel.REMOVE
        return updated

    def leave_IndentedBlock(self, original, updated):
        if not updated.body:  # its only statement was a torch import
            return updated.with_changes(body=[cst.SimpleStatementLine([cst.Pass()])])
        if self.backward_pending:  # loss.backward() statements: the loss computation becomes a function
            scope = self._block_scope()
            body = train_step.rewrite_block(self, list(updated.body), scope)
            if body is not None:
                self.module_level_training |= scope == "module"
                self.trains = True
                return updated.with_changes(body=body)
        return updated

    def _block_scope(self) -> str:
        if self.scopes and self.scopes[-1][0] == "class":
            return "class"
        return "function" if any(kind == "def" for kind, _ in self.scopes) else "module"

    def leave_Module(self, original, updated):
        if self.backward_pending:
            body = train_step.rewrite_block(self, list(updated.body), "module")
            if body is not None:
                updated = updated.with_changes(body=body)
                self.module_level_training = self.trains = True
            for node in self.backward_pending.values():  # not a statement of any block we saw
                train_step.report(self, node, "this backward() is not a statement of a block")
            self.backward_pending.clear()
        if self.trains and not any(is_main_guard(b) for b in updated.body) and runs_at_import(updated.body):
            self.module_level_training = True  # the PyTorch tutorials' scripts: train() called at module level
        if not self.module_level_training and any(is_main_guard(b) for b in updated.body) \
                and not imports_script(original):
            updated = updated.with_changes(body=ready_main_guard(updated.body))
        body, insert_at, leading = [], None, ()
        for stmt in updated.body:
            if isinstance(stmt, cst.SimpleStatementLine) and any(s in self.top_torch for s in stmt.body):
                rest = [s if s not in self.top_torch else self._without_torch(s) for s in stmt.body]
                rest = [s for s in rest if s is not None]
                if rest:
                    rest[-1] = rest[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
                    body.append(stmt.with_changes(body=rest))
                if insert_at is None:  # our imports go where the first torch import was
                    insert_at, leading = len(body), () if rest else stmt.leading_lines
                continue
            body.append(stmt)
        lines = [_statement(line) for line in self.names.import_lines()]
        if self.module_level_training and not imports_script(original):  # trains at import: ready first
            lines.insert(0, ready_statement())
        if lines:
            if insert_at is None:
                insert_at = self._after_leading_imports(body)
                if insert_at > 0:  # below a docstring or other imports: one blank line above ours
                    leading = [cst.EmptyLine()]
                after = insert_at < len(body) and body[insert_at]
                if after is not False and not after.leading_lines and not self._is_import_line(after):
                    blank = 2 if isinstance(after, (cst.FunctionDef, cst.ClassDef)) else 1
                    body[insert_at] = after.with_changes(leading_lines=[cst.EmptyLine()] * blank)
            lines[0] = lines[0].with_changes(leading_lines=leading)
            body[insert_at:insert_at] = lines
        elif insert_at is not None and insert_at < len(body):
            first = body[insert_at]
            merged = [*leading, *first.leading_lines]
            if insert_at == 0:  # the file began with the torch imports: no blank lines on top
                while merged and merged[0].comment is None:
                    merged.pop(0)
            body[insert_at] = first.with_changes(leading_lines=merged)
        return updated.with_changes(body=body)

    @staticmethod
    def _is_import_line(stmt) -> bool:
        return isinstance(stmt, cst.SimpleStatementLine) and all(
            isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)

    @staticmethod
    def _after_leading_imports(body) -> int:
        i = 0
        if body and isinstance(body[0], cst.SimpleStatementLine) and isinstance(body[0].body[0], cst.Expr) \
                and isinstance(body[0].body[0].value, (cst.SimpleString, cst.ConcatenatedString)):
            i = 1  # module docstring
        while i < len(body) and isinstance(body[i], cst.SimpleStatementLine) and \
                all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in body[i].body):
            i += 1
        return i

    # -- scopes: classes, functions, decorators, with ----------------------------------------
    def visit_ClassDef(self, node):
        self.skip.add(node.name)
        self.scopes.append(("class", self._class_kind(node)))

    def _class_kind(self, node) -> bool | str:
        """True: a Cell subclass; "maybe": a base that may be a Module defined elsewhere (an imported
        class: `from model_a import Base`); False: every base is a known non-Module name."""
        kind = False
        for base in node.bases:
            if base.keyword is not None:
                continue  # metaclass=...
            expr = base.value.value if isinstance(base.value, cst.Subscript) else base.value  # Generic[T]
            name = dotted(expr)
            if name is None:
                kind = kind or "maybe"
                continue
            q = self.names.qualify(name) if self._alias(head(expr)) else None
            if (q and q.startswith("torch.nn.")) or name in self.cell_classes:
                return True
            if q is not None or name in self.plain_classes or name.rpartition(".")[2] in NOT_MODULES:
                continue  # torch.autograd.Function, a plain class of this file, object, Enum, ...
            kind = "maybe"
        return kind

    def leave_ClassDef(self, original, updated):
        _, kind = self.scopes.pop()
        if kind is True:
            self.cell_classes.add(original.name.value)
        elif kind is False:
            self.plain_classes.add(original.name.value)
        return updated

    def visit_FunctionDef(self, node):
        self.skip.add(node.name)
        self.scopes.append(("def", False))
        self.enclosing.append(node)

    def leave_FunctionDef(self, original, updated):
        self.scopes.pop()
        self.enclosing.pop()
        if any(d in self.drop for d in original.decorators):
            kept = [u for o, u in zip(original.decorators, updated.decorators) if o not in self.drop]
            updated = updated.with_changes(decorators=kept)
        if self.scopes and self.scopes[-1][0] == "class" and self.scopes[-1][1]:  # a Cell, or maybe one
            updated = self._apply(DEF_RULES, original.name.value, original, updated)
        return updated

    def visit_AssignTarget(self, node):
        if isinstance(node.target, cst.Name):
            self.skip.add(node.target)
        elif isinstance(node.target, cst.Attribute):
            self.store_targets.add(node.target)  # `p.grad = None`: a rule must not turn it into a call

    def visit_AugAssign(self, node):
        if isinstance(node.target, cst.Attribute):
            self.store_targets.add(node.target)

    def visit_Del(self, node):
        if isinstance(node.target, cst.Attribute):
            self.store_targets.add(node.target)

    def visit_Param(self, node):
        self.skip.add(node.name)

    def visit_Arg(self, node):
        if node.keyword is not None:
            self.skip.add(node.keyword)

    def _alias(self, name) -> bool:
        """Is this Name a torch alias here (not a local variable that shadows one)?"""
        return name is not None and name.value in self.names.torch and id(name) not in self.local

    def _torch_name(self, expr) -> str | None:
        if isinstance(expr, cst.Call):
            expr = expr.func
        h = head(expr)
        if not self._alias(h):
            return None
        name = dotted(expr)
        return self.names.qualify(name) if name else None

    def _wrapper_drops(self, node, expr) -> bool:
        """Does a selected wrapper rule drop this with-item or decorator (`expr`: what it names)?"""
        q = self._torch_name(expr)
        rule = WRAPPER_RULES.get(q)
        if rule is None or not self.selected(rule.code):
            return False
        self.current, self.qualified = node, q
        return bool(rule.fn(self, node))

    def visit_Decorator(self, node):
        if self._wrapper_drops(node, node.decorator):
            self.drop.add(node)
            return False
        return True

    def visit_With(self, node):
        for item in node.items:
            if self._wrapper_drops(item, item.item):
                self.drop.add(item)
                self.drop.add(item.item)

    def leave_With(self, original, updated):
        kept = [u for o, u in zip(original.items, updated.items) if o not in self.drop]
        if len(kept) == len(updated.items):
            return updated
        if kept:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated.with_changes(items=kept)
        body = updated.body
        stmts = list(body.body) if isinstance(body, cst.IndentedBlock) else [cst.SimpleStatementLine(list(body.body))]
        stmts[0] = stmts[0].with_changes(leading_lines=[*updated.leading_lines, *stmts[0].leading_lines])
        return cst.FlattenSentinel(stmts)

    # -- annotations -------------------------------------------------------------------------
    def visit_Annotation(self, node):
        self.annotations.append([False])

    def leave_Annotation(self, original, updated):
        unmapped, = self.annotations.pop()
        if unmapped:  # a torch name with no MindSpore spelling: an annotation need not be evaluable
            text = " ".join(cst.Module([]).code_for_node(original.annotation).split())  # one line, even if the
            literal = f'"{text}"' if '"' not in text and "\\" not in text else repr(text)  # annotation spans lines
            return updated.with_changes(annotation=cst.SimpleString(literal))
        return updated

    def _annotation_reference(self, node, q: str):
        """A torch name inside a type annotation: Tensor classes -> mindspore.Tensor, never reported."""
        if q in TENSOR_CLASSES:
            return self.render("mindspore.Tensor")
        entry, rest = self._lookup(q)
        if entry is not None and entry.to:
            return self.render(entry.to + rest)
        if q in self.tables.modules and self.tables.modules[q]:
            return self.render(self.tables.modules[q])
        self.annotations[-1][0] = True
        return build(q)

    # -- references --------------------------------------------------------------------------
    def visit_Attribute(self, node):
        if node in self.skip:
            return False
        if self._alias(head(node)):
            q = self.names.qualify(dotted(node))
            if q is not None:
                self.refs[node] = q
                return False
        if node.attr.value in self.names.torch:
            self.skip.add(node.attr)
        return True

    def leave_Attribute(self, original, updated):
        q = self.refs.pop(original, None)
        if q is not None:
            return self._reference(original, q)
        return self._apply(ATTRIBUTE_RULES, original.attr.value, original, updated)

    def leave_Name(self, original, updated):
        if original.value in self.names.torch and original not in self.skip and id(original) not in self.local:
            return self._reference(original, self.names.torch[original.value])
        return updated

    def _lookup(self, q: str):
        """Table entry for q, or for its longest mapped prefix (nn.Module.__init__)."""
        entry = self.tables.calls.get(q)
        if entry is not None:
            return entry, ""
        parts = q.split(".")
        for i in range(len(parts) - 1, 1, -1):
            entry = self.tables.calls.get(".".join(parts[:i]))
            if entry is not None:
                return entry, "." + ".".join(parts[i:])
        return None, ""

    def _untranslated(self, node, q, entry, rule_call=False):
        if entry is not None and entry.unsupported:
            self.report("MB003", q, entry.unsupported, entry.suggest, node=node)
        elif q in CALL_RULES and not rule_call:
            self.report("MB002", q, "only calls of this API are converted", node=node)
        elif q in WRAPPER_RULES and not rule_call:  # `ctx = nullcontext() if a else torch.no_grad()`
            self.report("MB002", q, "converted in `with` statements and as a decorator only; as a value it has "
                        "no MindSpore counterpart (MindSpore has no grad mode to switch)", "write the `with` "
                        "block out, and stop gradients with ops.stop_gradient(x) where torch's no_grad did", node=node)
        elif not rule_call:
            self.report("MB002", q, "no MindSpore mapping", "add one to codemods/mappings/*.yaml", node=node)
        return self.names.keep_torch(q)

    def _reference(self, node, q: str):
        if self.annotations:
            return self._annotation_reference(node, q)
        entry, rest = self._lookup(q)
        if entry is not None and entry.to:
            if self.selected(entry.code):
                return self.render(entry.to + rest)
            return self.names.keep_torch(q)
        if q in self.tables.modules and self.tables.modules[q]:
            return self.render(self.tables.modules[q])
        if entry is None and (q == "torch" or q in self.tables.modules) and self.selected("MB002"):
            self.report("MB002", q, "a torch module used as a value (getattr(torch, name), passed to a function): "
                        "its members cannot be translated one by one", "name the API itself "
                        "(torch.float32, torch.nn.functional.relu)", node=node)
            return self.names.keep_torch(q)
        return self._untranslated(node, q, entry)

    # -- calls -------------------------------------------------------------------------------
    def visit_Call(self, node):
        if node in self.drop:
            return False
        func = node.func
        if self._alias(head(func)):
            q = self.names.qualify(dotted(func))
            if q is not None:
                self.calls[node] = q
                self.skip.add(func)
        return True

    def leave_Call(self, original, updated):
        q = self.calls.pop(original, None)
        if q is not None:
            return _keep_parens(updated, self._torch_call(original, updated, q))
        if isinstance(updated.func, cst.Attribute):
            return _keep_parens(updated, self._method_call(original, updated))
        return updated

    def _torch_call(self, original, updated, q):
        self.current, self.qualified = original, q
        rule = CALL_RULES.get(q)
        if rule is not None and self.selected(rule.code):
            n_reports = len(self.reports)
            result = rule.fn(self, updated)
            if result is not None:
                return result
            if len(self.reports) > n_reports:  # the rule explained why it left the call
                return updated.with_changes(func=self.names.keep_torch(q))
        entry, rest = self._lookup(q)
        if entry is not None and entry.to:
            if not self.selected(entry.code):
                return updated.with_changes(func=self.names.keep_torch(q))
            if rest:
                return updated.with_changes(func=self.render(entry.to + rest))
            call = cstutil.rename_keywords(cstutil.drop_keywords(updated, entry.drop), entry.rename)
            call = self._mapped_double_star(call, entry)
            if entry.sizes == "varargs":
                call = call.with_changes(args=cstutil.sizes_to_tuple(list(call.args)))
            return call.with_changes(func=self.render(entry.to))
        if rule is not None and not self.selected(rule.code):
            return updated.with_changes(func=self.names.keep_torch(q))
        if rule is not None:
            self.report("MB002", q, "this call form is not converted", node=original)
        return updated.with_changes(func=self._untranslated(original, q, entry, rule_call=rule is not None))

    def _mapped_double_star(self, call, entry):
        """`f(a, **kw)`: the keywords the table drops or renames may hide in `kw`; edit it at run time."""
        if not any(a.star == "**" for a in call.args) or not (entry.drop or entry.rename):
            return call
        edit = [cst.Arg(cst.parse_expression(repr(tuple(entry.drop))))]
        if entry.rename:
            edit.append(cst.Arg(cst.parse_expression(repr(dict(entry.rename)))))
        helper = self.render("backends.mindspore.compat.mapped_kwargs")
        return call.with_changes(args=[
            a.with_changes(value=cst.Call(helper, [cst.Arg(a.value), *edit])) if a.star == "**" else a
            for a in call.args])

    def _method_call(self, original, updated):
        func = updated.func
        receiver = func.value
        h = head(receiver)
        if h is not None and (h.value in self.names.other_imports or h.value in self.names.bindings) \
                and id(h) not in self.local and dotted(receiver):
            return updated  # np.split(...), os.path.split(...): a module function, not a tensor method
        name = func.attr.value
        rule = METHOD_RULES.get(name)
        if rule is not None and self.selected(rule.code):
            self.current = original
            result = rule.fn(self, updated)
            if result is not None:
                return result
        entry = self.tables.methods.get(name)
        if entry is not None and entry.unsupported:  # x.register_hook(...): nothing to map it to
            if self.selected("MB003") and not (isinstance(receiver, cst.Name) and receiver.value in ("self", "cls")):
                self.report("MB003", f"Tensor.{name}", entry.unsupported, entry.suggest, node=original)
            return updated
        if entry is not None and self.selected(entry.code):
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
            return cst.Call(func=self.render(entry.to), args=cstutil.clean(args))
        if name in self.tables.varargs_methods and self.selected("MB202"):
            before = list(updated.args)
            args = cstutil.sizes_to_tuple(before)
            if args is not before:
                return updated.with_changes(args=args)
        return updated


def _keep_parens(call: cst.Call, new):
    """A rewritten call keeps the call's own parentheses: `(x\n .expand(..)\n .to(dev))` -> `(x ...)`, not
    the receiver alone, whose continuation lines would then stand on their own and not parse."""
    if new is call or not call.lpar or not hasattr(new, "lpar") or new.lpar:
        return new
    return new.with_changes(lpar=call.lpar, rpar=call.rpar)


@functools.lru_cache(maxsize=256)
def _statement(line: str) -> cst.BaseStatement:
    """Parsed import line; nodes are immutable, so one parse serves every file (a parse costs ~0.1 ms)."""
    return cst.parse_statement(line)


_TRIGGERS: dict = {}  # id(tables) -> trigger names (tables are loaded once per process)


def _triggers(tables) -> frozenset:
    key = id(tables)
    if key not in _TRIGGERS:
        load_all()  # the names come from the registries: a set cached before they fill would skip their nodes
        _TRIGGERS[key] = frozenset({*ATTRIBUTE_RULES, *DEF_RULES, *METHOD_RULES, *tables.methods,
                                    *tables.varargs_methods})
    return _TRIGGERS[key]
