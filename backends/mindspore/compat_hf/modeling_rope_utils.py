"""transformers.modeling_rope_utils on MindSpore: the default rope only (the family's own
compute_default_rope_parameters, converted); other rope types are refused with their name."""

from __future__ import annotations

import functools


class _RopeInitFunctions(dict):
    def __missing__(self, rope_type):
        raise NotImplementedError(f"rope_type '{rope_type}' is not converted for MindSpore yet (only 'default')")


ROPE_INIT_FUNCTIONS = _RopeInitFunctions()


def dynamic_rope_update(forward):
    """Identity for static rope types (transformers updates inv_freq only for 'dynamic'/'longrope')."""
    @functools.wraps(forward)
    def wrapper(self, x, position_ids, *args, **kwargs):
        if "dynamic" in self.rope_type or self.rope_type == "longrope":
            raise NotImplementedError(f"rope_type '{self.rope_type}' is not converted for MindSpore yet")
        return forward(self, x, position_ids, *args, **kwargs)
    return wrapper
