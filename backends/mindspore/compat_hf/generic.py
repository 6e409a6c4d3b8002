"""transformers.utils.generic on MindSpore: transformers' own helpers, but maybe_autocast, which
enters torch.autocast, is a no-op context (a converted model runs in its own dtype)."""

from __future__ import annotations

import contextlib

from transformers.utils.generic import *  # noqa: F401,F403 - the framework-neutral rest
from transformers.utils.generic import merge_with_config_defaults  # noqa: F401 - not in its __all__


def maybe_autocast(*args, **kwargs):
    return contextlib.nullcontext()
