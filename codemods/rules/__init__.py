"""Structural rules: small named functions, each with a stable code, looked up by the transformer.

Families: MB0xx general (syntax errors, unmapped APIs), MB1xx modules, MB2xx tensors, MB3xx
devices, MB4xx training, MB5xx mapping tables (data in codemods/mappings/*.yaml). Each registry
maps a key to the rule the transformer applies there:

- call rule, keyed by the qualified torch name it rewrites, and method rule, keyed by method
  name: `(ctx, call)` -- the call with its arguments already converted -- returns the
  replacement expression, or None to leave the call alone;
- attribute rule, keyed by attribute name (`x.<name>` that is not a torch reference, also the
  `x.<name>` of a call): `(ctx, attribute)` returns the replacement expression, or None to leave it;
- def rule, keyed by the name of a method defined in a Cell subclass: `(ctx, funcdef)` returns
  the new FunctionDef, or None to leave it;
- wrapper rule, keyed by the qualified torch name of a context manager or decorator:
  `(ctx, node)` -- the `WithItem` or `Decorator` naming it -- returns True to drop that node.

Rules may report through `ctx.report(...)` (positioned at the node the rule was given).
`RULES` lists every code for docs and --select.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Rule:
    code: str
    summary: str  # one line: "before -> after"
    fn: Callable | None = None
    emits: tuple = ()  # fully qualified MindSpore names the rule can write


RULES: dict[str, Rule] = {}  # code -> Rule (first registration describes the code)
CALL_RULES: dict[str, Rule] = {}  # qualified torch name -> Rule
METHOD_RULES: dict[str, Rule] = {}  # method name -> Rule
ATTRIBUTE_RULES: dict[str, Rule] = {}  # attribute name -> Rule
DEF_RULES: dict[str, Rule] = {}  # name of a method defined in a Cell subclass -> Rule
WRAPPER_RULES: dict[str, Rule] = {}  # qualified torch context manager / decorator -> Rule
EMITS: set[str] = set()


def describe(code: str, summary: str, emits: tuple = ()) -> None:
    """Describe a code that a mapping table implements, or that several rules share, in one line."""
    RULES.setdefault(code, Rule(code, summary, None, emits))
    EMITS.update(emits)


def _rule_decorator(table: dict, names: tuple[str, ...], code: str, summary: str, emits: tuple):
    def wrap(fn):
        rule = Rule(code, summary, fn, emits)
        RULES.setdefault(code, rule)
        EMITS.update(emits)
        for name in names:
            table[name] = rule
        return fn

    return wrap


def call_rule(*qualified: str, code: str, summary: str, emits: tuple = ()):
    """Decorate a rule for calls of these qualified torch names."""
    return _rule_decorator(CALL_RULES, qualified, code, summary, emits)


def method_rule(*names: str, code: str, summary: str, emits: tuple = ()):
    """Decorate a rule for method calls `x.<name>(...)`."""
    return _rule_decorator(METHOD_RULES, names, code, summary, emits)


def attribute_rule(*names: str, code: str, summary: str, emits: tuple = ()):
    """Decorate a rule for attributes `x.<name>`, also as `x.<name>(...)` (applied before method rules)."""
    return _rule_decorator(ATTRIBUTE_RULES, names, code, summary, emits)


def def_rule(*names: str, code: str, summary: str, emits: tuple = ()):
    """Decorate a rule for `def <name>(...)` directly inside a Cell subclass."""
    return _rule_decorator(DEF_RULES, names, code, summary, emits)


def wrapper_rule(*qualified: str, code: str, summary: str, emits: tuple = ()):
    """Decorate a rule for `with <q>(...):` items and `@<q>` / `@<q>(...)` decorators of these torch names."""
    return _rule_decorator(WRAPPER_RULES, qualified, code, summary, emits)


def load_all() -> None:
    """Import every rule module so its decorators run (idempotent)."""
    from codemods.rules import devices, general, init, inplace, modules, optimizer_state, tensors, train_step, training  # noqa: F401
