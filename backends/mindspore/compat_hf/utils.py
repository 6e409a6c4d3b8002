"""transformers.utils on MindSpore: transformers' own (decorators, logging, TransformersKwargs, ...), but
torch_compilable_check, which calls torch._check_with, checks a MindSpore tensor or a bool itself."""

from __future__ import annotations

import os

import transformers.utils as _transformers_utils


def __getattr__(name):  # everything else: transformers.utils itself
    return getattr(_transformers_utils, name)


def torch_compilable_check(cond, msg, error_type=ValueError) -> None:
    """Raise error_type(msg) unless cond (a bool, a tensor that must be all true, or a callable giving either)
    holds; TRANSFORMERS_DISABLE_TORCH_CHECK=1 turns the checks off, as in transformers."""
    if os.getenv("TRANSFORMERS_DISABLE_TORCH_CHECK", "0") == "1":
        return
    import mindspore

    if callable(cond):
        cond = cond()
    if not (bool(cond.all()) if isinstance(cond, mindspore.Tensor) else bool(cond)):
        raise error_type(msg() if callable(msg) else msg)
