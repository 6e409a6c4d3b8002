"""The MindSpore backend: the same torch model source, converted by the codemods on import.

What it provides, module by module (mirrors backends/torch_npu/):
  device.py    -- resolve `--device` (auto/npu/gpu/cpu) to a MindSpore device target
  runtime.py   -- MindSporeBackend: build, train_step (graph or pynative), eval_loss, state in numpy
  importer.py  -- convert-on-import of the user's model package, cached by content hash
  state.py     -- weights by torch state_dict keys
  compat.py    -- torch semantics MindSpore lacks, called by converted code
"""


def create_backend(recipe):
    from backends.mindspore.runtime import MindSporeBackend

    return MindSporeBackend(recipe)
