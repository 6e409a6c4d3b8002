"""torch Tensor behaviour MindSpore 2.10's Tensor lacks, for any device target: `f"{loss:.4f}"`.

torch formats a 0-d tensor as its Python number (`Tensor.__format__` -> `self.item().__format__(spec)`);
MindSpore raises "unsupported format string passed to Tensor.__format__", so every converted
training log line with a format spec fails. With no spec, `f"{t}"` stays `str(t)` on both.
Registered with the mindspore patch group on every device target; tested in
tests/patches/test_ms_tensor_api.py.
"""

from __future__ import annotations


def tensor_format(self, format_spec):
    if format_spec and self.ndim == 0:
        return self.item().__format__(format_spec)
    return object.__format__(self, format_spec) if format_spec else str(self)


TARGETS = ("mindspore.common.tensor.Tensor.__format__", "mindspore.common.parameter.Parameter.__format__")


def register(manager, group: str) -> None:
    for target in TARGETS:
        manager.register(target, "patches.mindspore.tensor_api:tensor_format", name=target.rsplit(".", 2)[-2] + ".__format__",
                         group=group, note="torch's 0-d tensor formatting; all device targets")
