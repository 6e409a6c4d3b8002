"""Weights and AdamW state of a converted model by *torch* state_dict keys, as numpy arrays.

torch's state_dict lists every parameter under each module that holds it (a tied weight appears
under both names) plus persistent buffers. The converted Cell keeps the torch attribute names, so
walking its cells the same way yields the same keys; a MindSpore Parameter's own `.name` is only
the first of them and is not used for exchange. Mirrors backends/torch_npu/state.py.
"""

from __future__ import annotations

from typing import Mapping

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
                # `self.x = Buffer(t, persistent=False)`: MindSpore 2.10's Cell.__setattr__ registers
                # it as persistent (it drops the flag), but the Buffer keeps it
                if b is not None and name not in non_persistent and getattr(b, "persistent", True) is not False:
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
            value = self._value(entry).asnumpy()  # may share the parameter's memory: the copy is a snapshot
            out[key] = value.astype(np.float32) if value.dtype.kind == "f" and value.dtype != np.float32 else value.copy()
        return out

    def load_state_dict(self, weights: Mapping[str, np.ndarray]) -> None:
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


def optimizer_state(index: ParameterIndex, optimizer) -> dict[str, np.ndarray]:
    """Moments of mindspore.experimental.optim.AdamW by '<slot>/<torch name>' plus 'step'."""
    out: dict[str, np.ndarray] = {}
    for p, m, v in zip(optimizer.parameters, optimizer.exp_avg, optimizer.exp_avg_sq):
        name = index.key_of(p)
        out[f"exp_avg/{name}"] = m.asnumpy().astype(np.float32, copy=True)
        out[f"exp_avg_sq/{name}"] = v.asnumpy().astype(np.float32, copy=True)
    out["step"] = np.array(int(optimizer.state_step.asnumpy()), dtype=np.int64)
    return out


def load_optimizer_state(index: ParameterIndex, optimizer, state: Mapping[str, np.ndarray]) -> None:
    import mindspore as ms

    step = int(state.get("step", 0))
    for p, m, v in zip(optimizer.parameters, optimizer.exp_avg, optimizer.exp_avg_sq):
        name = index.key_of(p)
        if f"exp_avg/{name}" not in state:
            if step:
                raise BackendError(f"optimizer state has no moments for parameter '{name}'")
            continue
        ms.ops.assign(m, ms.Tensor(np.asarray(state[f"exp_avg/{name}"], dtype=np.float32)))
        ms.ops.assign(v, ms.Tensor(np.asarray(state[f"exp_avg_sq/{name}"], dtype=np.float32)))
    ms.ops.assign(optimizer.state_step, ms.Tensor(step, optimizer.state_step.dtype))
