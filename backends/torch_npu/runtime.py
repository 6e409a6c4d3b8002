"""The torch backend: builds the recipe's torch model as is and trains it with torch.optim.AdamW.

Implements backends.base.Backend on NPU (torch_npu), CUDA or CPU. Mixed precision is autocast
(bf16/fp16) with fp32 master weights; fp16 on an accelerator also uses a GradScaler.
"""

from __future__ import annotations

import base64
import contextlib
import math
from typing import Any

import numpy as np

from backends.base import Backend, BackendError, Batch, StepResult
from backends.torch_npu.device import prepare_torch_import, resolve_device
from core.modelsource import import_model_class, resolve_model_source

prepare_torch_import()
import torch  # noqa: E402  (after prepare_torch_import, see device.py)

from backends.torch_npu import distributed as tdist  # noqa: E402

_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def model_loss(model, input_ids, labels):
    """The model contract: forward(input_ids, labels) returns the loss or (logits, loss)."""
    out = model(input_ids, labels=labels)
    return out[1] if isinstance(out, (tuple, list)) else out


def param_groups(named_params, weight_decay: float) -> list[dict]:
    """Weight decay on matrices only; norms, biases and other vectors are not decayed."""
    decay, no_decay = [], []
    for _, p in named_params:
        (decay if p.ndim >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class TorchBackend(Backend):
    name = "torch"

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
        cls = import_model_class(resolve_model_source(r.model.source, r.base_dir))
        try:
            model = cls(**r.model.config)
        except TypeError as e:
            raise BackendError(f"recipe key 'model.config' does not fit {cls.__name__}: {e}") from None
        self.model = model.to(self.device)
        self.train_model = tdist.wrap_model(self.model, r.train.parallel)  # DDP/FSDP2 under torchrun
        groups = param_groups(self.model.named_parameters(), r.optim.weight_decay)
        self.optimizer = torch.optim.AdamW(groups, lr=r.optim.lr, betas=tuple(r.optim.betas), eps=r.optim.eps)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    # ------------------------------------------------------------ steps

    def _autocast(self):
        if self._amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self._device_type, dtype=self._amp_dtype)

    def _tensors(self, batch: Batch):
        ids = torch.from_numpy(np.ascontiguousarray(batch.input_ids, dtype=np.int64)).to(self.device)
        labels = torch.from_numpy(np.ascontiguousarray(batch.labels, dtype=np.int64)).to(self.device)
        return ids, labels

    def train_step(self, micro_batches: list[Batch], lr: float) -> StepResult:
        self.model.train()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        n = len(micro_batches)
        total = torch.zeros((), device=self.device)
        for i, batch in enumerate(micro_batches):
            with tdist.no_sync(self.train_model, sync=i == n - 1):  # DDP: one all-reduce per step
                with self._autocast():
                    loss = model_loss(self.train_model, *self._tensors(batch))
                scaled = loss / n
                (self._scaler.scale(scaled) if self._scaler else scaled).backward()
            total += loss.detach().float()
        if self._scaler:
            self._scaler.unscale_(self.optimizer)
        clip = self.recipe.train.clip_grad_norm
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip if clip > 0 else math.inf)
        mean_loss, norm = float(total) / n, float(tdist.full_tensor(grad_norm))
        if self._scaler:
            self._scaler.step(self.optimizer)
            self._scaler.update()
        elif math.isfinite(norm) and math.isfinite(mean_loss):
            self.optimizer.step()  # a non-finite step is skipped so the weights stay good
        return StepResult(loss=mean_loss, grad_norm=norm)

    def all_reduce_mean(self, value: float) -> float:
        """Mean of `value` over the ranks of a torchrun job (the identity in a single process)."""
        return tdist.all_reduce_mean(value, self.device)

    @torch.no_grad()
    def eval_loss(self, batch: Batch) -> float:
        self.model.eval()
        with self._autocast():
            loss = model_loss(self.model, *self._tensors(batch))
        return float(loss)

    # ------------------------------------------------------------ state

    def state_dict(self) -> dict[str, np.ndarray]:
        out = {}
        for k, v in self.model.state_dict().items():
            v = tdist.full_tensor(v.detach()).cpu()
            out[k] = (v.float() if v.dtype == torch.bfloat16 else v).numpy().copy()
        return out

    def load_state_dict(self, weights: dict[str, np.ndarray]) -> None:
        tensors = {k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()}
        try:
            tdist.load_full_state_dict(self.model, tensors)
        except RuntimeError as e:
            detail = " ".join(str(e).split())
            raise BackendError(f"checkpoint does not fit the model: {detail[:300]}") from None

    def optimizer_state(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        step = 0
        for name, p in self.model.named_parameters():
            st = self.optimizer.state.get(p)
            if not st:
                continue
            step = int(st["step"])
            for slot in ("exp_avg", "exp_avg_sq"):
                out[f"{slot}/{name}"] = tdist.full_tensor(st[slot].detach()).cpu().float().numpy().copy()
        out["step"] = np.array(step, dtype=np.int64)
        return out

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        step = int(state.get("step", 0))
        for name, p in self.model.named_parameters():
            if f"exp_avg/{name}" not in state:
                if step:
                    raise BackendError(f"optimizer state has no moments for parameter '{name}'")
                continue
            self.optimizer.state[p] = {
                "step": torch.tensor(float(step), dtype=torch.float32),
                "exp_avg": tdist.like(p, torch.from_numpy(np.array(state[f"exp_avg/{name}"]))),
                "exp_avg_sq": tdist.like(p, torch.from_numpy(np.array(state[f"exp_avg_sq/{name}"]))),
            }

    def rng_state(self) -> dict[str, Any]:
        out = {"torch": base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode()}
        if self._device_type == "cuda":
            out["cuda"] = base64.b64encode(torch.cuda.get_rng_state().numpy().tobytes()).decode()
        return out

    def set_rng_state(self, state: dict[str, Any]) -> None:
        if "torch" in state:
            raw = np.frombuffer(base64.b64decode(state["torch"]), dtype=np.uint8).copy()
            torch.set_rng_state(torch.from_numpy(raw))
        if "cuda" in state and self._device_type == "cuda":
            raw = np.frombuffer(base64.b64decode(state["cuda"]), dtype=np.uint8).copy()
            torch.cuda.set_rng_state(torch.from_numpy(raw))
