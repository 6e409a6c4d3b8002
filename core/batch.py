"""Batches as named numpy arrays, and the token weights that make gradient accumulation exact.

A batch is a mapping of names to numpy arrays (`input_ids`, `labels`, `attention_mask`,
`pixel_values`, ...) with the examples along the first axis; the model takes them as keyword
arguments. Labels of -100 (backends.base.IGNORE_INDEX) carry no loss.

A model's loss is a mean over the labels it scores, so the micro-batches of one step are weighted
by how many labels each holds: weights[i] = n_i * world_size / N, with N the count over every
rank's micro-batches. Averaged over ranks (as DDP does), sum_i weights[i] * grad(loss_i) is then
the gradient of one batch holding all of them, so grad_accum=2 equals one batch of twice the size
even when labels are masked.

    from core.batch import loss_tokens, micro_batch_weights
    weights = micro_batch_weights([loss_tokens(b) for b in batches])
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from backends.base import IGNORE_INDEX, Batch


def check_batch(batch: Mapping[str, np.ndarray], where: str = "batch") -> Batch:
    """`batch` if it is a non-empty mapping of names to numpy arrays with one first-axis length."""
    if not isinstance(batch, Mapping) or not batch:
        raise TypeError(f"{where}: expected a non-empty mapping of names to numpy arrays, got {type(batch).__name__}")
    rows = set()
    for key, value in batch.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise TypeError(f"{where}: key {key!r} is not a keyword-argument name")
        if not isinstance(value, np.ndarray) or value.ndim == 0:
            raise TypeError(f"{where}: '{key}' must be a numpy array with a batch axis, got {type(value).__name__}")
        rows.add(value.shape[0])
    if len(rows) != 1:
        shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in batch.items())
        raise ValueError(f"{where}: arrays disagree on the batch size ({shapes})")
    return batch


def batch_rows(batch: Batch) -> int:
    """Number of examples in a batch."""
    return int(next(iter(batch.values())).shape[0])


def loss_tokens(batch: Batch) -> int:
    """How many labels carry loss (label != -100); a batch without labels counts its examples."""
    labels = batch.get("labels")
    if labels is None:
        return batch_rows(batch)
    return int(np.count_nonzero(labels != IGNORE_INDEX))


def micro_batch_weights(counts: Sequence[int], world_size: int = 1,
                        all_reduce_mean: Callable[[float], float] | None = None) -> list[float]:
    """Loss weights for this rank's micro-batches from their loss-token counts (see the module docstring).

    With several ranks, `all_reduce_mean` (the backend's) gives the count over all of them. Raises
    ValueError when no micro-batch of the step has a label to learn from."""
    local = float(sum(counts))
    total = local if world_size == 1 or all_reduce_mean is None else round(all_reduce_mean(local) * world_size)
    if total <= 0:
        raise ValueError("no label of this step's batch carries loss (all are -100)")
    return [c * world_size / total for c in counts]


def concat(batches: Sequence[Batch]) -> dict[str, np.ndarray]:
    """One batch holding all rows of `batches` (same keys), in order."""
    keys = list(batches[0])
    return {k: np.concatenate([b[k] for b in batches], axis=0) for k in keys}


def describe(batch: Batch) -> str:
    """'input_ids (16, 128) int64, labels (16, 128) int64' for log lines and errors."""
    return ", ".join(f"{k} {tuple(v.shape)} {v.dtype}" for k, v in batch.items())
