"""transformers.utils.output_capturing.capture_outputs on MindSpore: the forward, with return_dict
handled; capturing hidden states or attentions (forward hooks) is not converted yet."""

from __future__ import annotations

import functools


def capture_outputs(func=None, *, tie_last_hidden_states=True):
    def wrapped_fn(func):
        @functools.wraps(func)
        def wrapper(self, *args, **kwargs):
            return_dict = kwargs.pop("return_dict", getattr(self.config, "return_dict", True))
            for flag in ("output_hidden_states", "output_attentions"):
                if kwargs.pop(flag, getattr(self.config, flag, False)):
                    raise NotImplementedError(f"{flag}=True is not converted for MindSpore yet")
            outputs = func(self, *args, **kwargs)
            return outputs if return_dict else outputs.to_tuple()
        return wrapper
    return wrapped_fn(func) if func is not None else wrapped_fn


class OutputRecorder:
    """What `_can_record_outputs` names (a layer class and output index); recording is not converted yet."""

    def __init__(self, target_class, index=0, layer_name=None, class_name=None):
        self.target_class, self.index, self.layer_name, self.class_name = target_class, index, layer_name, class_name
