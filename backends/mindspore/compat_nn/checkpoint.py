"""torch.utils.checkpoint for MindSpore: same numbers as a plain call, activations recomputed.

    y = checkpoint(block, x, use_reentrant=False)          # block: a Cell or any callable
    y = checkpoint_sequential(nn.SequentialCell(...), 2, x)

`checkpoint` calls `mindspore.recompute(fn, *args, use_reentrant=False, **kwargs)`: in PyNative it
recomputes the block's forward in the backward pass (saved-tensor hooks, any callable), under
`mindspore.jit` it marks the block for recompute. Outputs and gradients equal a plain call.
torch's `use_reentrant`, `preserve_rng_state`, `determinism_check`, `debug` and `context_fn` only
change memory use / checks in torch, not the numbers, and are accepted and ignored (a block that
draws random numbers, e.g. dropout, recomputes with new random numbers in MindSpore).
Free of torch: converted code imports it at run time.
"""

from __future__ import annotations

import mindspore

__all__ = ["checkpoint", "checkpoint_sequential"]


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default", debug=False,
               preserve_rng_state=True, **kwargs):
    """torch.utils.checkpoint.checkpoint(function, *args, **kwargs) -> function(*args, **kwargs)."""
    return mindspore.recompute(function, *args, use_reentrant=False, **kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """torch.utils.checkpoint.checkpoint_sequential: `functions` (a SequentialCell or list) applied in
    order; the functions of all but the last of `segments` chunks are recomputed, the last chunk runs
    plainly, as in torch. Each function is its own recompute block (graph mode cannot build a closure
    per chunk); the numbers are those of the plain sequence either way."""
    if isinstance(functions, mindspore.nn.SequentialCell):
        functions = functions.cell_list
    n = len(functions)
    recomputed = (n // segments) * (segments - 1)
    for i in range(n):
        input = checkpoint(functions[i], input) if i < recomputed else functions[i](input)
    return input
