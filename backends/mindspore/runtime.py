"""The MindSpore backend: runs the recipe's *torch* model source, converted on import by the codemods.

Implements backends.base.Backend with `mindspore.value_and_grad`, global-norm clipping (torch's
formula) and `mindspore.experimental.optim.AdamW`, which matches torch.optim.AdamW (measured to
1e-8; `mint.optim.AdamW` has no CPU kernel and `nn.AdamWeightDecay` lacks bias correction).
`train.mode: graph` compiles the whole step with `mindspore.jit`; `pynative` runs it eagerly.
A batch (named numpy arrays) enters the compiled step as keyword arguments and reaches the model
the same way. Weights are exchanged by torch state_dict names, so checkpoints move freely
between backends.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import numpy as np

from backends.base import Backend, BackendError, Batch, Probe, StepResult, model_loss
from backends.mindspore import CAPABILITIES, probes, state
from backends.mindspore import distributed as msdist
from backends.mindspore.device import import_mindspore, resolve_device, use_target
from backends.mindspore.importer import load_converted_class
from backends.mindspore.state import ParameterIndex
from core.hfmodel import is_hf_source
from core.modelsource import resolve_model_source

ms = import_mindspore()
from mindspore import ops  # noqa: E402
from mindspore.experimental.optim import AdamW  # noqa: E402


_USER_OM_PATH = os.environ.get("MS_OM_PATH")  # read once: build() sets it per run

class MindSporeBackend(Backend):
    name = "mindspore"
    capabilities = CAPABILITIES

    def __init__(self, recipe):
        self.recipe = recipe
        self.target, self._device_desc = resolve_device(recipe.device)
        precision = recipe.train.precision
        # transformers' modeling source does not compile in graph mode yet (walrus assignments in forward,
        # its decorators and ModelOutput dataclasses; docs/hf.md): hf: folders train in PyNative, which the
        # run header says
        self._hf = is_hf_source(recipe.model.source)
        self.graph = recipe.train.mode == "graph" and not self._hf
        if precision == "bf16" and self.target != "Ascend":
            raise BackendError(f"train.precision=bf16 is not supported by MindSpore on {self.target} (no bf16 "
                               "kernels for matmul/softmax/gather there); use fp32 or fp16, or --device npu")
        if precision == "fp16" and not self.graph and self.target == "CPU":
            raise BackendError("train.precision=fp16 with train.mode=pynative gives NaN gradients on MindSpore's "
                               "CPU kernels (measured, 2.10); use train.mode=graph or fp32")
        self._amp_dtype = {"bf16": ms.bfloat16, "fp16": ms.float16}.get(precision)
        use_target(self.target)
        ms.set_context(mode=ms.PYNATIVE_MODE)  # graph mode comes from mindspore.jit on the step functions
        self.model = None
        self.patches: list[str] = []
        self._output_checked = False

    def describe_device(self) -> str:
        mode = "graph" if self.graph else ("pynative (hf: folders do not compile yet)" if self._hf else "pynative")
        return f"{self._device_desc}, {self.recipe.train.precision}, {mode} mode"

    # ------------------------------------------------------------ build

    def build(self) -> None:
        r = self.recipe
        # graph-compile failure dumps (rank_N/om/analyze_fail.ir) go to the run folder, not the working one
        # (each run its own folder: a value this process set for an earlier run is not the user's choice)
        os.environ["MS_OM_PATH"] = _USER_OM_PATH or str((r.run_dir / "mindspore").resolve())
        ms.set_seed(r.train.seed)
        import patches.mindspore

        self.patches = patches.mindspore.apply(self.target)
        if is_hf_source(r.model.source):  # transformers' own modeling source, converted; the folder's weights
            from backends.mindspore.hf_model import build_mindspore_model

            self.model = build_mindspore_model(r)
        else:
            cls = load_converted_class(resolve_model_source(r.model.source, r.base_dir))
            try:
                self.model = cls(**r.model.config)
            except TypeError as e:
                raise BackendError(f"recipe key 'model.config' does not fit {cls.__name__}: {e}") from None
        self.model.set_train(True)
        from backends.mindspore.finetune import prepare  # model.lora / model.freeze: requires_grad, before the optimizer

        prepare(self.model, r)
        self.index = ParameterIndex(self.model)
        # Mixed precision: every cell computes in fp16/bf16 (MindSpore's O3), parameters stay fp32.
        self._net = self.model if self._amp_dtype is None else ms.amp.auto_mixed_precision(
            self.model, "O3", dtype=self._amp_dtype)
        params = self.model.trainable_params()
        decay = [p for p in params if len(p.shape) >= 2]
        no_decay = [p for p in params if len(p.shape) < 2]
        groups = [{"params": decay, "weight_decay": r.optim.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        self.optimizer = AdamW([g for g in groups if g["params"]], lr=r.optim.lr, betas=tuple(r.optim.betas),
                               eps=r.optim.eps)
        self._weights = self.optimizer.parameters
        self._reduce = msdist.grad_reducer(self._weights)  # mean over msrun ranks; None in one process
        self._grad_fn = ms.value_and_grad(self._loss, None, self._weights)
        wrap = ms.jit if self.graph else (lambda f: f)
        self._fused_step = wrap(self._fused_step_impl)
        self._grads = wrap(self._grad_fn)
        self._add = wrap(self._add_impl)
        self._apply = wrap(self._apply_impl)
        self._eval = wrap(self._loss)
        self._one = ms.Tensor(1.0, ms.float32)

    def num_parameters(self) -> int:
        unique = {id(p): p for p in self.model.get_parameters()}  # a tied weight once; frozen ones too, as torch
        return int(sum(int(np.prod(p.shape)) for p in unique.values()))

    def trainable_parameters(self) -> int:
        unique = {id(p): p for p in self.model.trainable_params()}
        return int(sum(int(np.prod(p.shape)) for p in unique.values()))

    # ------------------------------------------------------------ step functions (compiled in graph mode)

    # The batch enters compiled functions as keyword arguments: a dict argument would be taken as a
    # constant by mindspore.jit and recompile the graph at every call (measured: 120 ms vs 1 ms a call).
    def _loss(self, weight, **batch):
        return model_loss(self._net(**batch)) * weight

    def _clip(self, grads):
        # torch.nn.utils.clip_grad_norm_: coef = max_norm / (norm + 1e-6), clamped to 1
        norm = ops.sqrt(ops.addn([ops.reduce_sum(ops.square(g)) for g in grads]))
        max_norm = self.recipe.train.clip_grad_norm
        if max_norm > 0:
            coef = ops.minimum(max_norm / (norm + 1e-6), 1.0)
            grads = tuple(g * coef for g in grads)
        return grads, norm

    def _fused_step_impl(self, weight, **batch):
        loss, grads = self._grad_fn(weight, **batch)
        if self._reduce is not None:
            grads = self._reduce(grads)
        grads, norm = self._clip(grads)
        self.optimizer(grads)
        return loss, norm

    def _add_impl(self, acc, grads):
        return tuple(a + g for a, g in zip(acc, grads))

    def _apply_impl(self, grads):
        if self._reduce is not None:
            grads = self._reduce(grads)
        grads, norm = self._clip(grads)
        self.optimizer(grads)
        return norm

    def _tensors(self, batch: Batch) -> dict:
        return {k: ms.Tensor(np.ascontiguousarray(v)) for k, v in batch.items()}

    def _set_lr(self, lr: float) -> None:
        # In place: a compiled step holds the Parameter's memory, which set_data() would replace.
        value = ms.Tensor(lr, ms.float32)
        for group in self.optimizer.param_groups:
            ops.assign(group["lr"], value)

    def _check_output_form(self, batch: Batch) -> None:
        """Graph mode only, once: MindSpore 2.10 compiles a loss returned inside a named tuple or another
        object (not a dict) to zero gradients, silently (measured). One eager forward in eval mode tells
        the output's form before the first compiled step."""
        self._output_checked = True
        self.model.set_train(False)
        try:
            out = self._net(**self._tensors(batch))
        finally:
            self.model.set_train(True)
        if isinstance(out, (dict, ms.Tensor)) or type(out) in (tuple, list):
            return
        raise BackendError(f"the model returns its loss in a {type(out).__name__}; MindSpore's graph mode gives zero "
                           "gradients through a named tuple or object output, so return the loss, (logits, loss) or "
                           "a dict, or set train.mode=pynative")

    def train_step(self, micro_batches: Sequence[Batch], weights: Sequence[float], lr: float) -> StepResult:
        self._set_lr(lr)
        active = [(b, w) for b, w in zip(micro_batches, weights) if w > 0]
        if self.graph and not self._output_checked:
            self._check_output_form(active[0][0])
        if len(active) == 1:
            batch, weight = active[0]
            loss, norm = self._fused_step(ms.Tensor(weight, ms.float32), **self._tensors(batch))
            return StepResult(loss=float(loss), grad_norm=float(norm))
        total, acc = 0.0, None
        for batch, weight in active:
            loss, grads = self._grads(ms.Tensor(weight, ms.float32), **self._tensors(batch))
            acc = grads if acc is None else self._add(acc, grads)
            total += float(loss)
        norm = self._apply(acc)
        return StepResult(loss=total, grad_norm=float(norm))

    def all_reduce_mean(self, value: float) -> float:
        """Mean of `value` over the ranks of an msrun job (the identity in a single process)."""
        return msdist.all_reduce_mean(value)

    def eval_loss(self, batch: Batch) -> float:
        self.model.set_train(False)
        try:
            return float(self._eval(self._one, **self._tensors(batch)))
        finally:
            self.model.set_train(True)

    # ------------------------------------------------------------ state (torch names, numpy values)

    def state_dict(self) -> dict[str, np.ndarray]:
        return self.index.state_dict()

    def load_state_dict(self, weights: Mapping[str, np.ndarray]) -> None:
        self.index.load_state_dict(weights)

    def optimizer_state(self) -> dict[str, np.ndarray]:
        return state.optimizer_state(self.index, self.optimizer)

    def load_optimizer_state(self, optimizer_state: Mapping[str, np.ndarray]) -> None:
        state.load_optimizer_state(self.index, self.optimizer, optimizer_state)

    def rng_state(self) -> dict[str, Any]:
        return {"seed": int(self.recipe.train.seed)}

    def set_rng_state(self, rng: Mapping[str, Any]) -> None:
        # The converted models train without random ops after init; weights come from the checkpoint.
        return None

    # ------------------------------------------------------------ distributed

    def init_process_group(self, env, timeout_s: int) -> tuple[int, int]:
        rank, world = msdist.init_process_group(env)
        if not env.scheduler:
            self._device_desc += f", rank {rank}/{world} (msrun)"
        return rank, world

    def destroy_process_group(self, clean: bool) -> None:
        msdist.destroy_process_group(clean)

    def all_reduce_mean(self, value: float) -> float:
        """Mean of `value` over the ranks of an msrun job (the identity in a single process)."""
        return msdist.all_reduce_mean(value)

    # ------------------------------------------------------------ parity (PyNative)

    def probe(self, batch: Batch, layers: bool = False) -> Probe:
        return probes.probe(self.model, batch, layers)

    def set_module_attributes(self, overrides) -> None:
        probes.set_module_attributes(self.model, overrides)
