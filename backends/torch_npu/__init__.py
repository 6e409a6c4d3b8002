"""The torch backend (torch_npu on Ascend NPUs, else CUDA, else CPU).

What it provides, module by module (mirrored in backends/mindspore/):
  device.py   -- resolve `--device` (auto/npu/cuda/cpu) without crashing hosts lacking CANN
  runtime.py  -- TorchBackend: build, train_step, eval_loss, state in numpy
"""


def create_backend(recipe):
    from backends.torch_npu.runtime import TorchBackend

    return TorchBackend(recipe)
