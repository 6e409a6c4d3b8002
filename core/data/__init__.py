"""Training data: identical batches of named numpy arrays on every backend, given the seed.

`data.source` in a recipe picks the kind:
- token data (core/data/tokens.py): `embedded` (the shipped corpus), a `.txt` or `.jsonl` file, or a
  prepared token file -> {"input_ids", "labels"};
- `shapes` (core/data/images.py): generated images of shapes -> {"pixel_values", "labels"};
- SFT data (core/data/sft/): a prepared SFT folder, or .jsonl/.json chat rows with a `data.sft:` block
  (tokenizer, template, masking, packing; prepared on first use into the cache) -> {"input_ids",
  "labels", "attention_mask"} (+ "position_ids", "segment_ids" when packed).
Every kind has `train_batch(step, micro)` (a pure function of seed, step and micro-batch index),
`val_batches(n)` and `describe()`; `vocab_size` is None for data that is not tokens.

    python -m core.data prepare corpus.jsonl data/corpus [--field text] [--dtype uint16]
    python -m core.data prepare sft.jsonl data/sft --tokenizer ckpt/my_model --template qwen [--pack]
    python -m core.data info data/corpus
"""

from __future__ import annotations

from pathlib import Path

from core.data.images import ShapesData
from core.data.prepare import info, prepare
from core.data.sft import check_data_tokenizer, is_sft_source, load_sft
from core.data.tokens import (CORPUS, DOC_SEPARATOR, DTYPES, FORMAT, TokenData, embedded_tokens, iter_documents,
                              open_source, open_token_file, read_meta)
from core.errors import DataError
from core.hfmodel import is_hf_source, source_folder

GENERATED = {"shapes": ShapesData}  # data.source names of generated data sets


def load_data(source: str, seq_len: int, batch_size: int, val_fraction: float, seed: int,
              base_dir: str | Path = ".", image_size: int = 16, num_samples: int = 0, sft: dict | None = None,
              model_tokenizer: str | Path | None = None, model_processor: str | Path | None = None):
    """The data for a recipe's `data.source` (see the module docstring); relative paths resolve
    against base_dir (the recipe's folder), then the working directory. `sft` is the recipe's data.sft
    block; model_tokenizer the folder whose tokenizer SFT data uses by default, model_processor the
    vision-language model folder whose image processor it uses by default."""
    if sft or (source not in GENERATED and is_sft_source(source, base_dir)):
        return load_sft(source, sft or {}, seq_len, batch_size, val_fraction, seed, base_dir, model_tokenizer,
                        model_processor)
    if source in GENERATED:
        extra = {"num_samples": num_samples} if num_samples else {}
        return GENERATED[source](image_size, batch_size, val_fraction, seed, **extra)
    tokens, vocab_size, name = open_source(source, base_dir)
    return TokenData(tokens, vocab_size, seq_len, batch_size, val_fraction, seed, name=name)


def recipe_data(recipe):
    """load_data for a core.recipe.Recipe."""
    d = recipe.data
    model_tokenizer = model_processor = None
    if d.sft and is_hf_source(recipe.model.source):  # SFT data defaults to the model folder's tokenizer
        from core.data.sft.tokenizer import has_tokenizer
        from core.data.sft.vision import is_vision_folder

        folder = source_folder(recipe.model.source, recipe.base_dir)
        model_tokenizer = folder if has_tokenizer(folder) else None
        model_processor = folder if is_vision_folder(folder) else None
    return load_data(d.source, d.seq_len, d.batch_size, d.val_fraction, recipe.train.seed, base_dir=recipe.base_dir,
                     image_size=d.image_size, num_samples=d.num_samples, sft=d.sft, model_tokenizer=model_tokenizer,
                     model_processor=model_processor)


def main(argv: list[str] | None = None) -> int:
    from core.data.cli import main as cli_main

    return cli_main(argv)


__all__ = ["CORPUS", "DOC_SEPARATOR", "DTYPES", "DataError", "FORMAT", "GENERATED", "ShapesData", "TokenData",
           "check_data_tokenizer",
           "embedded_tokens", "info", "iter_documents", "load_data", "main", "open_source", "open_token_file",
           "prepare", "read_meta", "recipe_data"]
