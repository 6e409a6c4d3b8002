"""Training data: identical batches of named numpy arrays on every backend, given the seed.

`data.source` in a recipe picks the kind:
- token data (core/data/tokens.py): `embedded` (the shipped corpus), a `.txt` or `.jsonl` file, or a
  prepared token file -> {"input_ids", "labels"};
- `shapes` (core/data/images.py): generated images of shapes -> {"pixel_values", "labels"}.
Every kind has `train_batch(step, micro)` (a pure function of seed, step and micro-batch index),
`val_batches(n)` and `describe()`; `vocab_size` is None for data that is not tokens.

    python -m core.data prepare corpus.jsonl data/corpus [--field text] [--dtype uint16]
    python -m core.data info data/corpus
"""

from __future__ import annotations

from pathlib import Path

from core.data.images import ShapesData
from core.data.prepare import info, prepare
from core.data.tokens import (CORPUS, DOC_SEPARATOR, DTYPES, FORMAT, TokenData, embedded_tokens, iter_documents,
                              open_source, open_token_file, read_meta)
from core.errors import DataError

GENERATED = {"shapes": ShapesData}  # data.source names of generated data sets


def load_data(source: str, seq_len: int, batch_size: int, val_fraction: float, seed: int,
              base_dir: str | Path = ".", image_size: int = 16, num_samples: int = 0):
    """The data for a recipe's `data.source` (see the module docstring); relative paths resolve
    against base_dir (the recipe's folder), then the working directory."""
    if source in GENERATED:
        extra = {"num_samples": num_samples} if num_samples else {}
        return GENERATED[source](image_size, batch_size, val_fraction, seed, **extra)
    tokens, vocab_size, name = open_source(source, base_dir)
    return TokenData(tokens, vocab_size, seq_len, batch_size, val_fraction, seed, name=name)


def recipe_data(recipe):
    """load_data for a core.recipe.Recipe."""
    d = recipe.data
    return load_data(d.source, d.seq_len, d.batch_size, d.val_fraction, recipe.train.seed, base_dir=recipe.base_dir,
                     image_size=d.image_size, num_samples=d.num_samples)


def main(argv: list[str] | None = None) -> int:
    from core.data.cli import main as cli_main

    return cli_main(argv)


__all__ = ["CORPUS", "DOC_SEPARATOR", "DTYPES", "DataError", "FORMAT", "GENERATED", "ShapesData", "TokenData",
           "embedded_tokens", "info", "iter_documents", "load_data", "main", "open_source", "open_token_file",
           "prepare", "read_meta", "recipe_data"]
