"""The backend contract: everything framework-specific lives behind the abstract class `Backend`.

core drives a backend only through these methods, its `capabilities` and plain Python/numpy
values, so the training loop, schedule, logging, checkpoint cadence, launcher and parity tools are
written once. Each backend package (backends/torch_npu, backends/mindspore) declares
`CAPABILITIES` and `create_backend(recipe)` in its `__init__.py` without importing its framework,
and keeps the same module names for the same jobs: device, importer, runtime, state, distributed,
probes.

Conventions every backend follows:
- a batch is a mapping of names to numpy arrays (`input_ids`, `labels`, `attention_mask`,
  `pixel_values`, ...), passed to the model as keyword arguments; labels of -100 carry no loss;
- the model returns its loss, `(logits, loss)`, or a dict/object with a `loss` field (`model_loss`);
- weights are exchanged as {torch state_dict key: numpy array}, fp32 on the way out;
- optimizer state is exchanged as {"<slot>/<param name>": numpy array} with slots `exp_avg`,
  `exp_avg_sq`, and one scalar "step" entry, so a checkpoint written by one backend resumes in the
  other.
A subclass that leaves out any method, `name` or `capabilities` fails when it is constructed.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from core.errors import UserError

IGNORE_INDEX = -100  # label value that carries no loss (torch's cross_entropy default, Hugging Face's too)

Batch = Mapping[str, np.ndarray]  # one micro-batch: name -> array, the model's keyword arguments


class BackendError(UserError, RuntimeError):
    """A one-line, user-facing problem (missing device, unsupported precision, ...)."""


def model_loss(output):
    """The loss in a model's output: the output itself, `(logits, loss)`, or a dict/object with `loss`.

    Plain Python on purpose: MindSpore compiles it inside its graph-mode train step."""
    if isinstance(output, dict):
        return output["loss"]
    if hasattr(output, "loss"):  # before tuples: a named tuple with a `loss` field
        return output.loss
    if isinstance(output, (tuple, list)):
        return output[1]
    return output


@dataclass(frozen=True)
class Capabilities:
    """What a backend supports; core checks these instead of backend names."""

    framework: str  # the module it imports ("torch", "mindspore")
    install_extra: str  # pip extra that installs it: pip install -e '.[<extra>]'
    launcher: str  # multi-process launcher core.launch --nproc spawns: "torchrun" | "msrun"
    parallel: tuple[str, ...]  # train.parallel values it runs: "ddp", "fsdp"
    precisions: tuple[str, ...]  # train.precision values it accepts on some device
    reference_init: bool  # its seeded initial weights are the ones every backend starts from


@dataclass(frozen=True)
class ModelSource:
    """Where a recipe's model class lives (parsed by core.modelsource; imported by the backend's importer)."""

    module: str  # dotted module name to import it under
    attr: str  # class name inside the module
    path: Path | None  # the .py file, when the recipe names a file
    search_root: Path | None  # folder to put on sys.path so the file's own imports resolve

    @property
    def display(self) -> str:
        return f"{self.path or self.module}:{self.attr}"


@dataclass(frozen=True)
class StepResult:
    """What one optimizer step reports back to the trainer (plain floats)."""

    loss: float  # sum over this rank's micro-batches of weight x loss (see Backend.train_step)
    grad_norm: float  # global L2 norm of the gradients before clipping
    applied: bool = True  # False when the backend skipped the update (a non-finite loss or gradient)


@dataclass
class Probe:
    """One forward/backward on one batch, for parity: numpy arrays keyed by torch names."""

    output: np.ndarray  # forward without labels: the first array the model returns (logits)
    loss: float  # forward with labels
    grads: dict[str, np.ndarray]  # d loss / d parameter, by torch parameter name
    modules: list[tuple[str, int, np.ndarray]] = field(default_factory=list)  # (module path, call #, output)


class Backend(abc.ABC):
    """One framework behind the contract; constructed with a validated core.recipe.Recipe."""

    name: ClassVar[str]  # canonical name, as in core.registry.BACKENDS
    capabilities: ClassVar[Capabilities]

    def __new__(cls, *args, **kwargs):
        missing = [a for a in ("name", "capabilities") if not hasattr(cls, a)]
        if missing:
            raise TypeError(f"Can't instantiate backend {cls.__name__} without class attribute(s) {', '.join(missing)}")
        return super().__new__(cls)

    # ------------------------------------------------------------ model and steps

    @abc.abstractmethod
    def describe_device(self) -> str:
        """Human-readable device line, e.g. 'cpu (torch 2.13.0, 2 threads), fp32'."""

    @abc.abstractmethod
    def build(self) -> None:
        """Build model and optimizer from the recipe given at construction (seeded)."""

    @abc.abstractmethod
    def num_parameters(self) -> int:
        """Unique parameter count (tied weights counted once)."""

    def trainable_parameters(self) -> int:
        """Unique parameters that train (model.freeze / model.lora leave the rest out of the optimizer)."""
        return self.num_parameters()

    @abc.abstractmethod
    def train_step(self, micro_batches: Sequence[Batch], weights: Sequence[float], lr: float) -> StepResult:
        """One optimizer step at `lr`: gradients of sum_i weights[i] * loss(micro_batches[i]), averaged over
        ranks, clipped, then the AdamW update. The trainer picks the weights so that the step equals one
        batch of all ranks' micro-batches together (token-weighted); a micro-batch of weight 0 is skipped."""

    @abc.abstractmethod
    def eval_loss(self, batch: Batch) -> float:
        """Mean loss on one batch without updating anything."""

    # ------------------------------------------------------------ state (torch names, numpy values)

    @abc.abstractmethod
    def state_dict(self) -> dict[str, np.ndarray]:
        """Model weights and persistent buffers by torch state_dict key."""

    @abc.abstractmethod
    def load_state_dict(self, weights: Mapping[str, np.ndarray]) -> None:
        """Load weights by torch state_dict key; a missing or unexpected key is a BackendError."""

    @abc.abstractmethod
    def optimizer_state(self) -> dict[str, np.ndarray]:
        """AdamW moments by '<slot>/<param name>' plus 'step'."""

    @abc.abstractmethod
    def load_optimizer_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Restore what optimizer_state() returned (possibly from the other backend)."""

    @abc.abstractmethod
    def rng_state(self) -> dict[str, Any]:
        """JSON-serialisable RNG state for exact resume."""

    @abc.abstractmethod
    def set_rng_state(self, state: Mapping[str, Any]) -> None:
        """Restore rng_state() output."""

    # ------------------------------------------------------------ distributed (called by core.distributed)

    @abc.abstractmethod
    def init_process_group(self, env, timeout_s: int) -> tuple[int, int]:
        """Join the launcher's process group before build(); returns (rank, world size)."""

    @abc.abstractmethod
    def destroy_process_group(self, clean: bool) -> None:
        """Leave the process group; `clean` is False when the run failed (no final barrier)."""

    @abc.abstractmethod
    def all_reduce_mean(self, value: float) -> float:
        """Mean of a float over the ranks of a multi-process run; the identity in one process."""

    # ------------------------------------------------------------ parity (called by core.parity)

    @abc.abstractmethod
    def probe(self, batch: Batch, layers: bool = False) -> Probe:
        """Forward output, loss and gradients on one batch (and every module's output with `layers`),
        without changing weights or optimizer state."""

    @abc.abstractmethod
    def set_module_attributes(self, overrides: Sequence[tuple[str, str, Any]]) -> None:
        """Set (module path, attribute, value) on the built model: a deliberate difference, for debugging."""
