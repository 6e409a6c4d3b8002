"""Checkpoints and weights files, the same for both backends (weights by torch state_dict names).

  store.py    step folders ROOT/step_NNNNNNNN/ (model + optimizer safetensors, meta.json), atomic
  formats.py  single weights files: .pt/.pth, .safetensors, MindSpore .ckpt
  hf.py       Hugging Face folders, through the weight adapter beside each model
  cli.py      `python -m core.checkpoint list|info|export|convert|hf-import|hf-export`

    from core import checkpoint
    checkpoint.save_checkpoint("runs/x/checkpoints", 100, weights, optimizer_state, meta)
    weights, optimizer_state, meta = checkpoint.load_checkpoint("runs/x/checkpoints")
"""

from core.checkpoint.formats import FormatError, convert, read_weights, write_weights
from core.checkpoint.store import (META, OPTIMIZER, STEP_DIR, WEIGHTS, export_weights, find_resumable,
                                   latest_checkpoint, list_checkpoints, load_checkpoint, load_weights, read_meta,
                                   resolve, save_checkpoint)
from core.errors import CheckpointError


def main(argv=None) -> int:
    from core.checkpoint.cli import main as cli_main

    return cli_main(argv)


__all__ = ["CheckpointError", "FormatError", "META", "OPTIMIZER", "STEP_DIR", "WEIGHTS", "convert", "export_weights",
           "find_resumable", "latest_checkpoint", "list_checkpoints", "load_checkpoint", "load_weights", "main",
           "read_meta", "read_weights", "resolve", "save_checkpoint", "write_weights"]
