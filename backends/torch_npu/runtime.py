"""The torch backend: builds the recipe's torch model as is and trains it with torch.optim.AdamW.

Implements backends.base.Backend on NPU (torch_npu), CUDA or CPU. Batches (named numpy arrays) go
to the model as keyword arguments. Mixed precision is autocast (bf16/fp16) with fp32 master
weights; fp16 on an accelerator also uses a GradScaler.
"""

from __future__ import annotations

import base64
import contextlib
import math
from typing import Any, Mapping, Sequence

import numpy as np

from backends.base import Backend, BackendError, Batch, Probe, StepResult, model_loss
from backends.torch_npu import CAPABILITIES
from backends.torch_npu.device import prepare_torch_import, resolve_device
from core.hfmodel import is_hf_source
from core.modelsource import resolve_model_source

prepare_torch_import()
import torch  # noqa: E402  (after prepare_torch_import, see device.py)

from backends.torch_npu import distributed as tdist  # noqa: E402
from backends.torch_npu import probes, state  # noqa: E402
from backends.torch_npu.importer import import_model_class  # noqa: E402

_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class TorchBackend(Backend):
    name = "torch"
    capabilities = CAPABILITIES

    def __init__(self, recipe):
        self.recipe = recipe
        self.device, self._device_desc = resolve_device(recipe.device)
        self.model = None
        self.optimizer = None
        precision = recipe.train.precision
        self._amp_dtype = _AUTOCAST_DTYPES.get(precision)
        self._device_type = self.device.split(":")[0]
        use_scaler = precision == "fp16" and self._device_type != "cpu"
        self._scaler = torch.amp.GradScaler(self._device_type) if use_scaler else None
        self.fused_kernels: list[str] = []

    def describe_device(self) -> str:
        return f"{self._device_desc}, {self.recipe.train.precision}"

    # ------------------------------------------------------------ build

    def build(self) -> None:
        r = self.recipe
        torch.manual_seed(r.train.seed)
        if r.train.fused_kernels:
            import patches.torch_npu

            self.fused_kernels = patches.torch_npu.apply(enabled=True)
        if is_hf_source(r.model.source):  # a Hugging Face folder: transformers builds it, weights loaded
            from core.hfmodel import build_torch_model

            model = build_torch_model(r)
        else:
            cls = import_model_class(resolve_model_source(r.model.source, r.base_dir))
            try:
                model = cls(**r.model.config)  # built on the CPU: the seeded init is the same on every device
            except TypeError as e:
                raise BackendError(f"recipe key 'model.config' does not fit {cls.__name__}: {e}") from None
        from core.finetune.torch_model import prepare  # model.lora (peft) and model.freeze, before the optimizer

        self.model = prepare(model, r).to(self.device)
        self.train_model = tdist.wrap_model(self.model, r.train.parallel)  # DDP/FSDP2 under torchrun
        groups = state.param_groups(self.model.named_parameters(), r.optim.weight_decay)
        self.optimizer = torch.optim.AdamW(groups, lr=r.optim.lr, betas=tuple(r.optim.betas), eps=r.optim.eps)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)

    # ------------------------------------------------------------ steps

    def _autocast(self):
        if self._amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self._device_type, dtype=self._amp_dtype)

    def _tensors(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(np.ascontiguousarray(v)).to(self.device, non_blocking=True)
                for k, v in batch.items()}

    def train_step(self, micro_batches: Sequence[Batch], weights: Sequence[float], lr: float) -> StepResult:
        self.model.train()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        active = [i for i, w in enumerate(weights) if w > 0]
        total = torch.zeros((), device=self.device)
        for i in active:
            with tdist.no_sync(self.train_model, sync=i == active[-1]):  # DDP: one all-reduce per step
                with self._autocast():
                    loss = model_loss(self.train_model(**self._tensors(micro_batches[i]))) * weights[i]
                (self._scaler.scale(loss) if self._scaler else loss).backward()
            total += loss.detach().float()
        if self._scaler:
            self._scaler.unscale_(self.optimizer)
        clip = self.recipe.train.clip_grad_norm
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip if clip > 0 else math.inf)
        step_loss, norm = float(total), float(tdist.full_tensor(grad_norm))
        finite = math.isfinite(norm) and math.isfinite(step_loss)
        if self._scaler:
            self._scaler.step(self.optimizer)  # skips the step itself when the gradients are not finite
            self._scaler.update()
        elif finite:
            self.optimizer.step()  # a non-finite step is skipped so the weights stay good
        return StepResult(loss=step_loss, grad_norm=norm, applied=finite)

    @torch.no_grad()
    def eval_loss(self, batch: Batch) -> float:
        self.model.eval()
        with self._autocast():
            loss = model_loss(self.model(**self._tensors(batch)))
        return float(loss)

    # ------------------------------------------------------------ state

    def state_dict(self) -> dict[str, np.ndarray]:
        return state.state_dict(self.model)

    def load_state_dict(self, weights: Mapping[str, np.ndarray]) -> None:
        state.load_state_dict(self.model, weights)

    def optimizer_state(self) -> dict[str, np.ndarray]:
        return state.optimizer_state(self.model, self.optimizer)

    def load_optimizer_state(self, optimizer_state: Mapping[str, np.ndarray]) -> None:
        state.load_optimizer_state(self.model, self.optimizer, optimizer_state)

    def rng_state(self) -> dict[str, Any]:
        out = {"torch": base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode()}
        if self._device_type == "cuda":
            out["cuda"] = base64.b64encode(torch.cuda.get_rng_state().numpy().tobytes()).decode()
        return out

    def set_rng_state(self, rng: Mapping[str, Any]) -> None:
        if "torch" in rng:
            raw = np.frombuffer(base64.b64decode(rng["torch"]), dtype=np.uint8).copy()
            torch.set_rng_state(torch.from_numpy(raw))
        if "cuda" in rng and self._device_type == "cuda":
            raw = np.frombuffer(base64.b64decode(rng["cuda"]), dtype=np.uint8).copy()
            torch.cuda.set_rng_state(torch.from_numpy(raw))

    # ------------------------------------------------------------ distributed

    def init_process_group(self, env, timeout_s: int) -> tuple[int, int]:
        self.device, self._device_desc, rank, world = tdist.init_process_group(self.device, self._device_desc, env,
                                                                              timeout_s)
        return rank, world

    def destroy_process_group(self, clean: bool) -> None:
        tdist.destroy_process_group(clean)

    def all_reduce_mean(self, value: float) -> float:
        """Mean of `value` over the ranks of a torchrun job (the identity in a single process)."""
        return tdist.all_reduce_mean(value, self.device)

    # ------------------------------------------------------------ parity

    def probe(self, batch: Batch, layers: bool = False) -> Probe:
        return probes.probe(self.model, batch, layers, device=self.device)

    def set_module_attributes(self, overrides) -> None:
        probes.set_module_attributes(self.model, overrides)
