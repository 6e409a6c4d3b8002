"""Learning-rate schedule, computed once in core so both backends see identical values.

Linear warmup from 0 to `optim.lr` over `schedule.warmup_steps`, then cosine (or linear) decay to
`schedule.min_lr` at the last step, or constant.
"""

from __future__ import annotations

import math


def lr_at(step: int, *, lr: float, total_steps: int, warmup_steps: int = 0, min_lr: float = 0.0,
          kind: str = "cosine") -> float:
    """Learning rate for optimizer step `step` (0-based)."""
    if warmup_steps > 0 and step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    if kind == "constant":
        return lr
    decay_steps = max(1, total_steps - warmup_steps - 1)
    progress = min(1.0, max(0.0, (step - warmup_steps) / decay_steps))
    if kind == "linear":
        return lr - (lr - min_lr) * progress
    return min_lr + 0.5 * (lr - min_lr) * (1.0 + math.cos(math.pi * progress))


def recipe_lr(recipe, step: int) -> float:
    s = recipe.schedule
    return lr_at(step, lr=recipe.optim.lr, total_steps=recipe.train.steps, warmup_steps=s.warmup_steps,
                 min_lr=s.min_lr, kind=s.kind)
