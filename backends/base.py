"""The backend contract: everything framework-specific lives behind this Protocol.

core.trainer drives a backend only through these methods and plain Python/numpy values, so the
training loop, schedule, logging and checkpoint cadence are written once. Each backend package
(backends/torch_npu, backends/mindspore) exposes `create_backend(recipe) -> Backend` in its
`__init__.py` and keeps the same module names: device.py (device resolution), runtime.py (the
Backend implementation).

Conventions every backend follows:
- weights are exchanged as {torch state_dict key: numpy array}, fp32 on the way out;
- optimizer state is exchanged as {"<slot>/<param name>": numpy array} with slots `exp_avg`,
  `exp_avg_sq`, and one scalar "step" entry, so a checkpoint written by one backend resumes in the
  other;
- batches are numpy int arrays of shape (B, T) for inputs and labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Batch:
    """One micro-batch: next-token inputs and labels, both int64 of shape (B, T)."""

    input_ids: np.ndarray
    labels: np.ndarray

    @property
    def num_tokens(self) -> int:
        return int(self.input_ids.size)


@dataclass(frozen=True)
class StepResult:
    """What one optimizer step reports back to the trainer (plain floats)."""

    loss: float  # mean loss over the micro-batches of this step
    grad_norm: float  # global L2 norm of the gradients before clipping


class BackendError(RuntimeError):
    """A one-line, user-facing problem (missing device, unsupported precision, ...)."""


@runtime_checkable
class Backend(Protocol):
    name: str  # "torch" or "mindspore"

    def describe_device(self) -> str:
        """Human-readable device line, e.g. 'cpu (torch 2.13.0, 2 threads)'."""

    def build(self) -> None:
        """Build model and optimizer from the recipe given at construction (seeded)."""

    def train_step(self, micro_batches: list[Batch], lr: float) -> StepResult:
        """Forward+backward over every micro-batch (grads averaged), clip, one AdamW step at `lr`."""

    def eval_loss(self, batch: Batch) -> float:
        """Mean loss on one batch without updating anything."""

    def all_reduce_mean(self, value: float) -> float:
        """Mean of a float over the ranks of a multi-process run; the identity in one process."""

    def num_parameters(self) -> int:
        """Unique trainable parameter count (tied weights counted once)."""

    def state_dict(self) -> dict[str, np.ndarray]:
        """Model weights by torch state_dict key, as numpy arrays."""

    def load_state_dict(self, weights: dict[str, np.ndarray]) -> None:
        """Load weights by torch state_dict key; a missing or unexpected key is an error."""

    def optimizer_state(self) -> dict[str, np.ndarray]:
        """AdamW moments by '<slot>/<param name>' plus 'step'."""

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what optimizer_state() returned (possibly from the other backend)."""

    def rng_state(self) -> dict[str, Any]:
        """JSON-serialisable RNG state for exact resume."""

    def set_rng_state(self, state: dict[str, Any]) -> None:
        """Restore rng_state() output."""
