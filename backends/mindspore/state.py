"""Weights of a converted model by *torch* state_dict keys, as numpy arrays.

torch's state_dict lists every parameter under each module that holds it (a tied weight appears
under both names) plus persistent buffers. The converted Cell keeps the torch attribute names, so
walking its cells the same way yields the same keys; a MindSpore Parameter's own `.name` is only
the first of them and is not used for exchange.
"""

from __future__ import annotations

import numpy as np

from backends.base import BackendError


class ParameterIndex:
    def __init__(self, model):
        import mindspore as ms

        self._ms = ms
        self.entries: dict[str, object] = {}  # torch key -> Parameter or buffer holder
        self._first_key: dict[int, str] = {}
        for prefix, cell in model.cells_and_names():
            base = f"{prefix}." if prefix else ""
            for name, p in cell._params.items():
                if p is None:
                    continue
                key = base + name
                self.entries[key] = p
                self._first_key.setdefault(id(p), key)
            non_persistent = getattr(cell, "_non_persistent_buffers_set", set())
            for name, b in getattr(cell, "_buffers", {}).items():
                if b is not None and name not in non_persistent:
                    self.entries[base + name] = (cell, name)

    def key_of(self, param) -> str:
        return self._first_key[id(param)]

    def _value(self, entry):
        if isinstance(entry, tuple):
            cell, name = entry
            return getattr(cell, name)
        return entry

    def state_dict(self) -> dict[str, np.ndarray]:
        out = {}
        for key, entry in self.entries.items():
            value = self._value(entry).asnumpy()
            out[key] = value.astype(np.float32) if value.dtype.kind == "f" and value.dtype != np.float32 else value
        return out

    def load_state_dict(self, weights: dict[str, np.ndarray]) -> None:
        missing = sorted(set(self.entries) - set(weights))
        unexpected = sorted(set(weights) - set(self.entries))
        if missing or unexpected:
            raise BackendError(f"checkpoint does not fit the model: missing keys {missing[:5]}, "
                               f"unexpected keys {unexpected[:5]}")
        for key, entry in self.entries.items():
            current = self._value(entry)
            value = np.asarray(weights[key])
            if tuple(value.shape) != tuple(current.shape):
                raise BackendError(f"checkpoint key '{key}' has shape {tuple(value.shape)}, "
                                   f"the model expects {tuple(current.shape)}")
            tensor = self._ms.Tensor(value.astype(current.asnumpy().dtype, copy=False))
            if isinstance(entry, tuple):
                cell, name = entry
                if isinstance(current, self._ms.Parameter):
                    self._ms.ops.assign(current, tensor)
                else:
                    cell._buffers[name] = tensor  # setattr refuses: "Buffer already exists"
            else:
                # in place: a compiled step keeps the Parameter's memory, which set_data() would replace
                self._ms.ops.assign(entry, tensor)
