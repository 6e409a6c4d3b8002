"""The torch backend (torch_npu on Ascend NPUs, else CUDA, else CPU); importing this imports no torch.

What it provides, module by module (the same names in backends/mindspore/):
  device.py       resolve `--device` (auto/npu/cuda/cpu) without crashing hosts lacking CANN
  importer.py     import the recipe's model class as is
  runtime.py      TorchBackend: build, train_step, eval_loss, state, distributed and parity hooks
  state.py        weights and AdamW state as numpy by torch state_dict names
  distributed.py  torch.distributed: process group, DDP / FSDP2, cross-rank means
  probes.py       parity probes: forward, loss, gradients, every module's output
"""

from backends.base import Capabilities

CAPABILITIES = Capabilities(framework="torch", install_extra="torch", launcher="torchrun", parallel=("ddp", "fsdp"),
                            precisions=("fp32", "bf16", "fp16"), reference_init=True)


def create_backend(recipe):
    from backends.torch_npu.runtime import TorchBackend

    return TorchBackend(recipe)
