"""torch.nn.Module's traversal and mode methods on mindspore.nn.Cell, for code the converter never sees.

Helper files that do not import torch (`def count(model): return sum(p.numel() for p in
model.parameters())`, `model.eval()` in an eval helper) are copied unchanged by the converter, so
on MindSpore they call Module methods that mindspore.nn.Cell lacks (AttributeError), or -- worse
-- rely on torch's defaults. This patch adds the torch names to nn.Cell, with torch semantics:

| torch.nn.Module              | on nn.Cell (this patch)                                        |
|------------------------------|----------------------------------------------------------------|
| named_parameters(prefix, recurse) | (name, Parameter) from parameters_and_names(): torch's dotted names, tied weights once |
| parameters(recurse)          | the Parameters of named_parameters()                           |
| named_modules(prefix) / modules() | ("", self) first, then every sub-Cell once, as cells_and_names() |
| named_children() / children()| direct sub-Cells (name_cells())                                |
| train(mode=True) / eval()    | set_train(mode); return self (torch returns self)              |
| requires_grad_(flag)         | sets requires_grad on every Parameter; return self             |
| zero_grad(set_to_none=True)  | no-op: MindSpore returns gradients from value_and_grad and never accumulates them on Parameters |

Applied on every device target (it fills API gaps, not kernels), with the mindspore patch group.
Nothing here overrides an attribute nn.Cell already has.
"""

from __future__ import annotations

_T = "mindspore.nn.Cell."


def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
    seen = set()
    for name, param in self.parameters_and_names(name_prefix=prefix, expand=recurse):
        if remove_duplicate:
            if id(param) in seen:
                continue
            seen.add(id(param))
        yield name, param


def parameters(self, recurse=True):
    for _, param in named_parameters(self, recurse=recurse):
        yield param


def named_modules(self, memo=None, prefix="", remove_duplicate=True):
    seen = set() if memo is None else memo
    for name, cell in self.cells_and_names(name_prefix=prefix):
        if remove_duplicate:
            if id(cell) in seen:
                continue
            seen.add(id(cell))
        yield name, cell


def modules(self):
    for _, cell in named_modules(self):
        yield cell


def named_children(self):
    seen = set()
    for name, cell in self.name_cells().items():
        if cell is not None and id(cell) not in seen:
            seen.add(id(cell))
            yield name, cell


def children(self):
    for _, cell in named_children(self):
        yield cell


def train(self, mode=True):
    if not isinstance(mode, bool):
        raise ValueError("training mode is expected to be boolean")
    self.set_train(mode)
    return self


def eval(self):  # noqa: A001 - torch's name
    self.set_train(False)
    return self


def requires_grad_(self, requires_grad=True):
    for param in self.get_parameters():
        param.requires_grad = requires_grad
    return self


def zero_grad(self, set_to_none=True):
    return None


METHODS = ("named_parameters", "parameters", "named_modules", "modules", "named_children", "children", "train",
           "eval", "requires_grad_", "zero_grad")


def register(manager, group: str) -> None:
    """Register each method as a patch of `mindspore.nn.Cell.<name>` in `group` (always applied)."""
    for name in METHODS:
        manager.register(_T + name, f"patches.mindspore.cell_methods:{name}", name=f"nn.Cell.{name}",
                         group=group, create_dummy=True, note="torch.nn.Module method; all device targets")
