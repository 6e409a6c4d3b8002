"""The MindSpore backend: the same torch model source, converted by the codemods on import;
importing this package imports no MindSpore.

What it provides, module by module (the same names in backends/torch_npu/):
  device.py       resolve `--device` (auto/npu/gpu/cpu) to a MindSpore device target
  importer.py     convert-on-import of the user's model package, cached by content hash
  runtime.py      MindSporeBackend: build, train_step (graph or pynative), eval_loss, state, hooks
  state.py        weights and AdamW state as numpy by torch state_dict names
  distributed.py  mindspore.communication under msrun: cluster, gradient mean over ranks
  probes.py       parity probes: forward, loss, gradients, every module's output
and, MindSpore only:
  compat.py       torch semantics MindSpore lacks, called by converted code
"""

from backends.base import Capabilities

# Initial weights come from the torch source (the reference) when torch is importable.
CAPABILITIES = Capabilities(framework="mindspore", install_extra="mindspore", launcher="msrun", parallel=("ddp",),
                            precisions=("fp32", "bf16", "fp16"), reference_init=False)


def create_backend(recipe):
    from backends.mindspore.runtime import MindSporeBackend

    return MindSporeBackend(recipe)
