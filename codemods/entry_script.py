"""Converted entry scripts ready MindSpore themselves (backends/mindspore/script.py).

A training script people run with plain `python train.py` must pick the device and apply the kernel
fallbacks before any of its code runs. The converter writes `import backends.mindspore.script`
as the first statement of an `if __name__ == "__main__":` block (importing the module changes
nothing), or at the top of a file that trains at module level or, without a `__main__` block, calls
its training function at module level (the PyTorch tutorials' scripts; Converter.leave_Module).
"""

from __future__ import annotations

import libcst as cst

from codemods.names import dotted

READY_IMPORT = "import backends.mindspore.script  # device, PyNative, kernel fallbacks"
_SCRIPT = "backends.mindspore.script"


def ready_statement() -> cst.BaseStatement:
    return cst.parse_statement(READY_IMPORT)


def _is_ready_import(stmt) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and any(
        isinstance(small, cst.Import) and any(dotted(a.name) == _SCRIPT for a in small.names) for small in stmt.body)


def imports_script(module: cst.Module) -> bool:
    """Does the module already import backends.mindspore.script where the converter puts it (a top-level
    statement, or the first of a `__main__` block)? Converting converted output then adds nothing."""
    for stmt in module.body:
        if _is_ready_import(stmt):
            return True
        if is_main_guard(stmt) and isinstance(stmt.body, cst.IndentedBlock) and stmt.body.body \
                and _is_ready_import(stmt.body.body[0]):
            return True
    return False


def ready_main_guard(body) -> list:
    """`if __name__ == "__main__":` blocks start by readying MindSpore: the script's code runs after it,
    an import of the module (a model file with a demo block) changes nothing."""
    out = []
    for stmt in body:
        if is_main_guard(stmt) and isinstance(stmt.body, cst.IndentedBlock):
            stmt = stmt.with_changes(body=stmt.body.with_changes(body=[ready_statement(), *stmt.body.body]))
        out.append(stmt)
    return out


def is_main_guard(stmt) -> bool:
    """`if __name__ == "__main__":`"""
    if not isinstance(stmt, cst.If) or not isinstance(stmt.test, cst.Comparison):
        return False
    test = stmt.test
    sides = [test.left] + [c.comparator for c in test.comparisons]
    return any(isinstance(x, cst.Name) and x.value == "__name__" for x in sides) and \
        any(isinstance(x, cst.SimpleString) and x.evaluated_value == "__main__" for x in sides)


def runs_at_import(body) -> bool:
    """Does module-level code do work when the file runs: a call statement (`train(...)`, `print(..)`)
    or a loop or `with` block at the top level? Definitions, imports and assignments do not count."""
    for stmt in body:
        if isinstance(stmt, (cst.For, cst.While, cst.With)):
            return True
        if isinstance(stmt, cst.SimpleStatementLine) and any(
                isinstance(s, cst.Expr) and isinstance(s.value, cst.Call) for s in stmt.body):
            return True
    return False
