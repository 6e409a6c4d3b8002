"""Import aliases in, MindSpore spellings out: the converter's light qualified-name resolver.

`Names` records what every torch import binds (`import torch.nn as nn` -> nn = torch.nn,
`from torch.nn import functional as F` -> F = torch.nn.functional, ...), resolves a dotted
expression (`F.silu`) to its qualified torch name (`torch.nn.functional.silu`), and renders a
MindSpore target (`mindspore.mint.nn.functional.silu`) through the aliases the converted file will
import (`F.silu`, or `mint.nn.functional.silu` via `from mindspore import mint`). It replaces
libcst's QualifiedNameProvider, which costs ~7x parse+print; the alias fixtures in
tests/codemods/fixtures/aliases/ pin the behaviour.
"""

from __future__ import annotations

import libcst as cst

# MindSpore module -> the local name converted files import it under, longest prefix first.
CANONICAL = (
    ("backends.mindspore.compat", "compat"),
    ("backends.mindspore.compat_nn", "compat_nn"),
    ("backends.mindspore.compat_train", "compat_train"),  # torch's training step (rules/train_step.py)
    ("backends.mindspore.compat_data", "compat_data"),  # torch.utils.data (mappings/data.yaml)
    ("backends.mindspore.compat_optim_state", "compat_optim_state"),  # optimizer state in torch's layout
    ("backends.mindspore.compat_io", "compat_io"),  # torch.save / torch.load  # torch layers with torch names (mappings/torch_layers.yaml)
    ("mindspore.mint", "mint"),
    ("mindspore.nn", "nn"),
    ("mindspore.ops", "ops"),
    ("mindspore", "mindspore"),
)
# Members of these modules are imported by name (`from mindspore.common.initializer import Normal`).
FROM_IMPORTED = ("mindspore.common.initializer",)
OWN_PREFIXES = ("mindspore", "backends.mindspore")


def dotted(node: cst.BaseExpression) -> str | None:
    """`a.b.c` -> "a.b.c"; None for anything that is not a plain dotted name."""
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def head(node: cst.BaseExpression) -> cst.Name | None:
    """The leftmost Name of an attribute chain (`F` in `F.silu`), if the chain is plain."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return node if isinstance(node, cst.Name) else None


def build(dotted_name: str) -> cst.BaseExpression:
    parts = dotted_name.split(".")
    node: cst.BaseExpression = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def _is_torch(module: str) -> bool:
    return module == "torch" or module.startswith("torch.")


def _is_own(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in OWN_PREFIXES)


class Names:
    def __init__(self, tables):
        self.tables = tables
        self.torch: dict[str, str] = {}  # local name -> qualified torch name
        self.bindings: dict[str, str] = {}  # local name -> MindSpore name it refers to
        self.existing: set[str] = set()  # locals already imported from MindSpore in the source
        self.new: set[str] = set()  # locals this conversion must import
        self.used: set[str] = set()  # bound locals that rendered code refers to
        self.other_imports: set[str] = set()  # locals bound by other imports (np, os, math, ...)
        self.need_torch = False  # some torch API stays (reported); output keeps `import torch`

    # -- reading imports ---------------------------------------------------------------------
    def record(self, node: cst.Import | cst.ImportFrom, top_level: bool) -> bool:
        """Record what `node` binds; True when it imports from torch."""
        if isinstance(node, cst.Import):
            is_torch = False
            for alias in node.names:
                name = dotted(alias.name)
                local = alias.asname.name.value if alias.asname else name.split(".")[0]
                if _is_torch(name):
                    is_torch = True
                    self.torch[local] = name if alias.asname else "torch"
                    target = self.tables.modules.get(name) if alias.asname else None
                    if target and top_level:
                        self.bindings[local] = target
                elif _is_own(name):
                    self.bindings[local] = name if alias.asname else local
                    self.existing.add(local)
                else:
                    self.other_imports.add(local)
            return is_torch
        if node.relative or node.module is None:
            if not isinstance(node.names, cst.ImportStar):
                self.other_imports.update(a.asname.name.value if a.asname else a.name.value for a in node.names)
            return False
        module = dotted(node.module)
        if _is_torch(module):
            if isinstance(node.names, cst.ImportStar):
                return True
            for alias in node.names:
                name = alias.name.value
                local = alias.asname.name.value if alias.asname else name
                qualified = f"{module}.{name}"
                self.torch[local] = qualified
                target = self._binding_target(qualified)
                if target and top_level:
                    self.bindings[local] = target
            return True
        if _is_own(module) and not isinstance(node.names, cst.ImportStar):
            for alias in node.names:
                local = alias.asname.name.value if alias.asname else alias.name.value
                self.bindings[local] = f"{module}.{alias.name.value}"
                self.existing.add(local)
        elif not isinstance(node.names, cst.ImportStar):
            self.other_imports.update(a.asname.name.value if a.asname else a.name.value for a in node.names)
        return False

    def _binding_target(self, qualified: str) -> str | None:
        if qualified in self.tables.modules:
            return self.tables.modules[qualified]
        entry = self.tables.calls.get(qualified)
        return entry.to if entry is not None and entry.to and "." in entry.to else None

    # -- resolving ---------------------------------------------------------------------------
    def qualify(self, name: str) -> str | None:
        """Qualified torch name of a dotted local name, or None if it is not torch's."""
        first, _, rest = name.partition(".")
        base = self.torch.get(first)
        if base is None:
            return None
        return f"{base}.{rest}" if rest else base

    def keep_torch(self, qualified: str) -> cst.BaseExpression:
        """Spell an untranslated torch API by its qualified name; the output keeps `import torch`."""
        self.need_torch = True
        return build(qualified)

    # -- rendering ---------------------------------------------------------------------------
    def render(self, target: str) -> cst.BaseExpression:
        return build(self.spell(target))

    def spell(self, target: str) -> str:
        if "." not in target:
            return target  # a builtin such as `tuple`
        module, _, member = target.rpartition(".")
        best = None
        for local, q in self.bindings.items():
            if local in self.new:
                continue  # the user's own aliases first; ours are reused through CANONICAL below
            if (target == q or target.startswith(q + ".")) and (best is None or len(q) > len(best[1])):
                best = (local, q)
        if best:
            self.used.add(best[0])
            return best[0] + target[len(best[1]):]
        if module in FROM_IMPORTED and self._claim(member, target):
            return member
        for prefix, local in CANONICAL:
            if (target == prefix or target.startswith(prefix + ".")) and self._claim(local, prefix):
                return local + target[len(prefix):]
        raise ValueError(f"cannot spell {target!r}: no MindSpore module prefix")

    def _claim(self, local: str, qualified: str) -> bool:
        if local in self.torch and self.bindings.get(local) != qualified:
            return False  # e.g. the user's own `nn` still names something else
        bound = self.bindings.get(local)
        if bound is not None and bound != qualified:
            return False
        if bound is None:
            self.bindings[local] = qualified
            self.new.add(local)
        self.used.add(local)
        return True

    # -- writing imports ---------------------------------------------------------------------
    def import_lines(self) -> list[str]:
        """Import statements for every MindSpore local the output uses but does not import yet."""
        wanted = sorted(l for l in self.used if l not in self.existing)
        plain, froms = [], {}
        for local in wanted:
            q = self.bindings[local]
            if q == local:
                plain.append(f"import {q}")
                continue
            parent, _, name = q.rpartition(".")
            froms.setdefault(parent, []).append(name if name == local else f"{name} as {local}")
        order = sorted(froms, key=lambda m: (m.startswith("backends"), m))
        if self.need_torch:
            plain.insert(0, "import torch")
        return plain + [f"from {m} import {', '.join(sorted(froms[m]))}" for m in order]
