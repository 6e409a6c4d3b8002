"""Supervised fine-tuning data: chat rows -> tokens with a response-only loss mask, optionally packed.

    python -m core.data prepare data/sft.jsonl data/sft --tokenizer ckpt/my_model --template qwen --pack --workers 2

or, in a recipe, a .jsonl/.json `data.source` with a `data.sft:` block (prepared on first use into
$MINDBRIDGE_CACHE/sft-data/, else ~/.cache/mindbridge/sft-data/). Modules: formats (rows -> messages),
templates (messages -> text + answer spans), tokenizer, encode (tokens + mask, cutoff_len), packing,
prepare (files + cache), dataset (SFTData batches), check (tokenizer mismatch refusal).

Batch contract (numpy, batch-first, int64; labels are already the next tokens, -100 = no loss):
- unpacked: input_ids (B, T) right-padded with the pad id, labels (B, T), attention_mask (B, T) 1/0;
- packed (`pack`): + position_ids restarting at 0 per sample (padding tail counts 0.. again),
  attention_mask 1 on samples / 0 on the padding tail; no label crosses a sample boundary;
- neat-packed (`neat_pack`): + segment_ids 1, 2, .. per sample in the row, 0 on padding.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.data.sft.check import check_data_tokenizer
from core.data.sft.encode import Settings
from core.data.sft.prepare import cache_key, is_sft_folder, prepare_sft, read_sft_meta
from core.errors import DataError

RECIPE_KEYS = ("tokenizer", "template", "map_keys", "cutoff_len", "max_samples", "train_on_prompt", "mask_history",
               "pack", "neat_pack", "processor", "image_dir", "workers")


def cache_root() -> Path:
    base = os.environ.get("MINDBRIDGE_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "mindbridge") / "sft-data"


def _resolve(path: str, base_dir: str | Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() or not (Path(base_dir) / p).exists() else Path(base_dir) / p


def is_sft_source(source: str, base_dir: str | Path = ".") -> bool:
    return source not in ("embedded", "shapes") and is_sft_folder(_resolve(source, base_dir))


def load_sft(source: str, sft: dict, seq_len: int, batch_size: int, val_fraction: float, seed: int,
             base_dir: str | Path = ".", model_tokenizer: str | Path | None = None,
             model_processor: str | Path | None = None, log=print):
    """SFTData for a prepared folder, or for .jsonl/.json file(s) prepared now (or found in the cache)
    with the recipe's `data.sft` settings; model_tokenizer is the default tokenizer (the hf: model folder),
    model_processor the default processor (the hf: folder of a vision-language model)."""
    from core.data.sft.dataset import SFTData

    folder = _resolve(source, base_dir)
    if is_sft_folder(folder):
        if sft:
            raise DataError(f"recipe key 'data.sft' applies to .jsonl/.json sources; {folder} is already prepared "
                            f"(its settings are in {folder / 'sft.json'})")
        return SFTData(folder, seq_len, batch_size, val_fraction, seed)
    unknown = sorted(set(sft) - set(RECIPE_KEYS))
    if unknown:
        raise DataError(f"unknown recipe key 'data.sft.{unknown[0]}' (known: {', '.join(RECIPE_KEYS)})")
    opts = {k: v for k, v in sft.items() if k != "workers"}
    for key in ("processor", "image_dir"):
        if opts.get(key):
            opts[key] = str(_resolve(str(opts[key]), base_dir))
    if model_processor is not None and "processor" not in opts:
        opts["processor"] = str(model_processor)
    if opts.get("tokenizer"):
        opts["tokenizer"] = str(_resolve(str(opts["tokenizer"]), base_dir))
    elif model_tokenizer is not None:
        opts["tokenizer"] = str(model_tokenizer)
    template = opts.get("template")
    if isinstance(template, str) and template.endswith((".jinja", ".j2")):
        opts["template"] = str(_resolve(template, base_dir))
    opts.setdefault("cutoff_len", seq_len + 1)  # a sample of seq_len + 1 tokens fills seq_len positions
    if opts.get("pack") or opts.get("neat_pack"):
        opts["seq_len"] = seq_len
    try:
        settings = Settings(**opts)
    except TypeError as e:
        raise DataError(f"recipe key 'data.sft': {e}") from None
    from core.data.sft.formats import split_sources

    out = cache_root() / cache_key(split_sources(source, base_dir), settings)[:24]
    prepare_sft(source, out, settings, workers=int(sft.get("workers", 1)), base_dir=base_dir, log=log)
    return SFTData(out, seq_len, batch_size, val_fraction, seed)


__all__ = ["DataError", "RECIPE_KEYS", "Settings", "cache_key", "cache_root", "check_data_tokenizer",
           "is_sft_folder", "is_sft_source", "load_sft", "prepare_sft", "read_sft_meta"]
