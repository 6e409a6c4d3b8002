"""torch-style argument helpers shared by the fallback modules (conv, pooling, creation, data_ops):
int-or-tuple sizes, the unbatched/batched input-rank check, and the integral dtypes. Plain Python
on shapes and dtypes, so they work inside graph mode (mindspore.jit) too.

    from patches.mindspore.args import check_rank, ntuple
"""

from __future__ import annotations

import mindspore as ms

INTEGRAL = (ms.int8, ms.int16, ms.int32, ms.int64, ms.uint8)


def ntuple(v, n):
    """int, 1-tuple or n-tuple -> n-tuple"""
    if isinstance(v, int):
        return (v,) * n
    if len(v) == 1:
        return (v[0],) * n
    return tuple(v)


def check_rank(input, name, ranks):
    """ranks = (unbatched, batched) ndim; anything else is a one-line ValueError naming `name`."""
    if input.ndim not in ranks:
        raise ValueError(f"{name}: expected a {ranks[0]}-D (unbatched) or {ranks[1]}-D (batched) input, "
                         f"got {input.ndim}-D")
