"""The `python -m core.data` command: prepare or inspect token data.

    python -m core.data prepare corpus.jsonl data/corpus [--field text] [--dtype uint16]      # byte-level text
    python -m core.data prepare sft.jsonl,more.json data/sft --tokenizer ckpt/my_model --template qwen \\
        [--map-keys JSON] [--cutoff-len 1024] [--max-samples N] [--train-on-prompt] [--mask-history] \\
        [--pack | --neat-pack] [--seq-len T] [--workers 2]                                  # SFT (docs/finetune.md)
    python -m core.data prepare llava.json data/llava --processor ckpt/my_vlm [--image-dir DIR]  # images (docs/multimodal.md)
    python -m core.data info data/corpus
"""

from __future__ import annotations

import argparse
import json
import sys

from core.data.prepare import info, prepare
from core.data.tokens import DTYPES, read_meta
from core.errors import DataError

SFT_FLAGS = ("tokenizer", "template", "map_keys", "cutoff_len", "max_samples", "train_on_prompt", "mask_history",
             "pack", "neat_pack", "seq_len", "processor", "image_dir", "workers")


def _sft_args(pp: argparse.ArgumentParser) -> None:
    # MindSpeed-LLM's preprocess_data.py spellings are accepted too: --tokenizer-name-or-path, --prompt-type,
    # --seq-length (its --map-keys, --pack, --neat-pack and --workers have the same names here)
    g = pp.add_argument_group("SFT data (any of these prepares chat rows with a loss mask; docs/finetune.md)")
    g.add_argument("--sft", action="store_true", help="SFT preparation with the defaults (byte-level, template empty)")
    g.add_argument("--tokenizer", "--tokenizer-name-or-path", dest="tokenizer", default=None, metavar="DIR",
                   help="a local Hugging Face tokenizer folder (default: byte-level)")
    g.add_argument("--template", "--prompt-type", dest="template", default=None, metavar="NAME|FILE",
                   help="auto (the tokenizer's chat_template; the default), empty, chatml, qwen, llama3, mistral, "
                        "or a .jinja file")
    g.add_argument("--map-keys", default=None, metavar="JSON", help="MindSpeed-style column map, e.g. "
                   "'{\"prompt\": \"question\", \"response\": \"answer\"}'")
    g.add_argument("--cutoff-len", type=int, default=None, help="tokens per sample at most (default 1024)")
    g.add_argument("--max-samples", type=int, default=None, help="rows per dataset file at most (default: all)")
    g.add_argument("--train-on-prompt", action="store_true", default=None, help="train on prompt tokens too")
    g.add_argument("--mask-history", action="store_true", default=None, help="train only the last assistant turn")
    g.add_argument("--pack", action="store_true", default=None, help="pack samples into rows of --seq-len positions")
    g.add_argument("--neat-pack", action="store_true", default=None,
                   help="pack, and keep attention within each sample (segment_ids)")
    g.add_argument("--seq-len", "--seq-length", dest="seq_len", type=int, default=None,
                   help="packed row length (default: --cutoff-len)")
    g.add_argument("--processor", default=None, metavar="DIR", help="a local vision-language model folder: rows "
                   "may carry images (docs/multimodal.md); its tokenizer is the default --tokenizer")
    g.add_argument("--image-dir", default=None, metavar="DIR", help="image paths are relative to it (default: the "
                   "data file's folder)")
    g.add_argument("--workers", type=int, default=None, help="processes that tokenise (default 1)")


def _prepare_sft(args) -> None:
    from core.data.sft import Settings, prepare_sft

    opts = {k: getattr(args, k) for k in SFT_FLAGS if k != "workers" and getattr(args, k) is not None}
    prepare_sft(args.input, args.out, Settings(**opts), workers=args.workers or 1)


def _info_sft(path) -> bool:
    from core.data.sft import is_sft_folder, read_sft_meta

    if not is_sft_folder(path):
        return False
    meta = read_sft_meta(path)
    for key in ("num_samples", "num_tokens", "num_label_tokens", "max_len", "vocab_size", "dtype", "template",
                "pack", "tokenizer", "inputs"):
        value = meta.get(key)
        print(f"{key}: {value:,}" if isinstance(value, int) else f"{key}: {json.dumps(value)}")
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m core.data", description="Prepare or inspect token data.")
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("prepare", help="tokenise a .txt/.jsonl file (byte-level) or SFT chat rows")
    pp.add_argument("input", help="a .txt file, .jsonl rows with a text field or prompt/response pairs, or (SFT) "
                                  ".jsonl/.json files, comma-separated")
    pp.add_argument("out", help="output stem: writes OUT.bin and OUT.json (a folder: FOLDER/tokens.*); SFT: a folder")
    pp.add_argument("--field", default=None, help="jsonl text field (default: text, else prompt/response)")
    pp.add_argument("--separator", default="\n", help="joins prompt and response (default: newline)")
    pp.add_argument("--dtype", default="uint16", choices=DTYPES, help="token dtype on disk (default: uint16)")
    _sft_args(pp)
    pi = sub.add_parser("info", help="print token count, vocab and dtype of a data source")
    pi.add_argument("path", help="a prepared token file (OUT, OUT.bin or OUT.json), an SFT folder, a .txt/.jsonl "
                                 "file or 'embedded'")
    args = p.parse_args(argv)
    try:
        if args.cmd == "prepare" and (args.sft or any(getattr(args, k) is not None for k in SFT_FLAGS)
                                      or args.input.endswith(".json") or "," in args.input):
            _prepare_sft(args)
        elif args.cmd == "prepare":
            meta_path = prepare(args.input, args.out, args.field, args.dtype, args.separator)
            meta = read_meta(meta_path)
            print(f"wrote {meta_path.with_suffix('.bin')} + {meta_path.name}: {meta['num_tokens']:,} "
                  f"{meta['dtype']} tokens, vocab {meta['vocab_size']}")
        elif not _info_sft(args.path):
            for key, value in info(args.path).items():
                print(f"{key}: {value:,}" if isinstance(value, int) else f"{key}: {value}")
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
