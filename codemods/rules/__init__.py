"""Structural rules: small named functions, each with a stable code, looked up by the transformer.

Families: MB0xx general (syntax errors, unmapped APIs), MB1xx modules, MB2xx tensors, MB3xx
devices, MB4xx training, MB5xx mapping tables (data in codemods/mappings/*.yaml). A call rule is
keyed by the qualified torch name it rewrites, a method rule by method name; both get
`(ctx, call)` -- the call with its arguments already converted -- and return the replacement
expression, or None to leave the call alone. `RULES` lists every code for docs and --select.
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
EMITS: set[str] = set()


def describe(code: str, summary: str, emits: tuple = ()) -> None:
    """Register a code that the transformer implements inline (or that only reports)."""
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


def load_all() -> None:
    """Import every rule module so its decorators run (idempotent)."""
    from codemods.rules import devices, general, init, modules, tensors, training  # noqa: F401
