"""torch Tensor behaviour MindSpore 2.10's Tensor lacks, for any device target: `f"{loss:.4f}"` and
`x.device.type`.

`Tensor.device` is a plain string on MindSpore ('CPU', 'GPU', 'Ascend'); torch code asks its `.type`
('cpu', 'cuda', 'npu': transformers' MoE loss picks a histc dtype by it). The patched property returns
the same string (comparisons and MindSpore's own uses unchanged) as a str subclass with `.type` and
`.index`.

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


class DeviceName(str):
    """MindSpore's device string with torch.device's `.type` / `.index`."""

    @property
    def type(self) -> str:
        return {"CPU": "cpu", "GPU": "cuda", "Ascend": "npu"}.get(self.split(":")[0], self.split(":")[0].lower())

    @property
    def index(self):
        return int(self.split(":")[1]) if ":" in self else None


def _device(self):
    return DeviceName(_ORIGINAL_DEVICE.__get__(self, type(self)))


def _original_device():
    from mindspore.common.tensor import Tensor  # `device` is a getset descriptor of its C base

    return next(c.__dict__["device"] for c in Tensor.__mro__ if "device" in c.__dict__)


_ORIGINAL_DEVICE = _original_device()
device = property(_device)

TARGETS = ("mindspore.common.tensor.Tensor.__format__", "mindspore.common.parameter.Parameter.__format__")


def register(manager, group: str) -> None:
    for target in TARGETS:
        manager.register(target, "patches.mindspore.tensor_api:tensor_format", name=target.rsplit(".", 2)[-2] + ".__format__",
                         group=group, note="torch's 0-d tensor formatting; all device targets")
    manager.register("mindspore.common.tensor.Tensor.device", "patches.mindspore.tensor_api:device",
                     name="Tensor.device", group=group, note="a str with torch.device's .type/.index; all device targets")
