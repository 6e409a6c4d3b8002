"""The libcst transformer: finds torch references and hands each to its table entry or rule.

One pass over the tree, entering only the subtrees `prescan.needed` marks (those holding a torch
name, a rule-keyed method/attribute/def name, an import or a class). Torch references are
recognised through the aliases in `Names`; what to do with a call, method call, attribute, Cell
method def, with-item or decorator is looked up in the registries of `codemods.rules` (the
transformer knows no rule by name). `visit_*` claims the nodes a rule will rewrite, `leave_*`
rewrites them bottom-up (arguments are already converted when their call is rewritten), and
`leave_Module` swaps the torch imports for the MindSpore imports the new code uses. Strings and
comments are never touched: only Name and Attribute nodes are renamed.

This file walks the tree and keeps its state; the rewrites it dispatches to live in
codemods/references.py (references, calls and method calls) and codemods/torch_imports.py (import
statements).
"""

from __future__ import annotations

import libcst as cst

from codemods import references, torch_imports
from codemods.diagnostics import Diagnostic
from codemods.names import Names, dotted, head
from codemods.positions import positions
from codemods.entry_script import imports_script, is_main_guard, ready_main_guard, ready_statement, runs_at_import
from codemods.rules import train_step
from codemods.prescan import SelectiveTransformer, scan
from codemods.rules import ATTRIBUTE_RULES, DEF_RULES, METHOD_RULES, WRAPPER_RULES, load_all


# Base-class names that are never an nn.Module (a class with only these bases keeps `def forward`).
NOT_MODULES = frozenset((
    "object", "Exception", "BaseException", "ValueError", "TypeError", "RuntimeError", "KeyError", "dict", "list",
    "tuple", "set", "str", "int", "float", "type", "Enum", "IntEnum", "StrEnum", "Flag", "IntFlag", "NamedTuple",
    "TypedDict", "Protocol", "Generic", "ABC", "ABCMeta", "OrderedDict", "defaultdict", "Thread", "Dataset",
    "IterableDataset",
))


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
        torch_imports.record_top_level(self, node)

    def _visit_import(self, node):
        return torch_imports.visit_import(self, node)

    visit_Import = _visit_import
    visit_ImportFrom = _visit_import

    def _leave_import(self, original, updated):
        return torch_imports.leave_import(self, original, updated)

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
        lines = [torch_imports.statement(line) for line in self.names.import_lines()]
        if self.module_level_training and not imports_script(original):  # trains at import: ready first
            lines.insert(0, ready_statement())
        return updated.with_changes(body=torch_imports.replace_top_level(updated.body, self.top_torch, lines))

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
            return references.reference(self, original, q)
        return self._apply(ATTRIBUTE_RULES, original.attr.value, original, updated)

    def leave_Name(self, original, updated):
        if original.value in self.names.torch and original not in self.skip and id(original) not in self.local:
            return references.reference(self, original, self.names.torch[original.value])
        return updated

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
            return references.keep_parens(updated, references.torch_call(self, original, updated, q))
        if isinstance(updated.func, cst.Attribute):
            return references.keep_parens(updated, references.method_call(self, original, updated))
        return updated

_TRIGGERS: dict = {}  # id(tables) -> trigger names (tables are loaded once per process)


def _triggers(tables) -> frozenset:
    key = id(tables)
    if key not in _TRIGGERS:
        load_all()  # the names come from the registries: a set cached before they fill would skip their nodes
        _TRIGGERS[key] = frozenset({*ATTRIBUTE_RULES, *DEF_RULES, *METHOD_RULES, *tables.methods,
                                    *tables.varargs_methods})
    return _TRIGGERS[key]
