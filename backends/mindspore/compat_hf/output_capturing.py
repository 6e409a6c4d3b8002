"""transformers.utils.output_capturing on MindSpore: capture_outputs records what a family's
`_can_record_outputs` names (the MoE routers' logits, for the load-balancing loss) by wrapping the
construct of the matching cells for one call, as transformers does with forward hooks.
`return_dict` is handled; hidden states and attentions (their tie-last and layer-selection rules)
are not converted yet and are refused, not silently left out."""

from __future__ import annotations

import functools


class OutputRecorder:
    """A layer class (or class name) whose output[index] is recorded under a `_can_record_outputs` key."""

    def __init__(self, target_class=None, index=0, layer_name=None, class_name=None):
        self.target_class, self.index, self.layer_name, self.class_name = target_class, index, layer_name, class_name

    def matches(self, name, cell) -> bool:
        if self.layer_name is not None and not name.endswith(self.layer_name):
            return False
        if self.target_class is not None:
            return isinstance(cell, self.target_class)
        return type(cell).__name__ == self.class_name


_REFUSED = ("hidden_states", "attentions", "cross_attentions")


def _recorders(model, kwargs) -> dict:
    wanted = {}
    for key, spec in (getattr(model, "_can_record_outputs", None) or {}).items():
        if not kwargs.get(f"output_{key}", getattr(model.config, f"output_{key}", False)):
            continue
        if key in _REFUSED:
            raise NotImplementedError(f"output_{key}=True is not converted for MindSpore yet")
        wanted[key] = spec if isinstance(spec, OutputRecorder) else OutputRecorder(spec)
    return wanted


def capture_outputs(func=None, *, tie_last_hidden_states=True):
    def wrapped_fn(func):
        @functools.wraps(func)
        def wrapper(self, *args, **kwargs):
            return_dict = kwargs.pop("return_dict", getattr(self.config, "return_dict", True))
            for key in _REFUSED:
                if kwargs.get(f"output_{key}") and key not in (getattr(self, "_can_record_outputs", None) or {}):
                    raise NotImplementedError(f"output_{key}=True is not converted for MindSpore yet")
            collected, wrapped = {}, []
            for key, recorder in _recorders(self, kwargs).items():
                collected[key] = []
                for name, cell in self.cells_and_names():
                    if cell is not self and recorder.matches(name, cell):
                        original = cell.construct

                        def record(*a, _original=original, _out=collected[key], _index=recorder.index, **k):
                            out = _original(*a, **k)
                            _out.append(out[_index] if isinstance(out, (tuple, list)) else out)
                            return out

                        object.__setattr__(cell, "construct", record)  # an instance attribute, removed below
                        wrapped.append(cell)
            try:
                outputs = func(self, *args, **kwargs)
            finally:
                for cell in wrapped:
                    object.__delattr__(cell, "construct")
            for key, values in collected.items():
                outputs[key] = tuple(values)
            return outputs if return_dict else outputs.to_tuple()
        return wrapper
    return wrapped_fn(func) if func is not None else wrapped_fn
