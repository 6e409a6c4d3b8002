"""The `python -m core.data` command: prepare or inspect token data.

    python -m core.data prepare corpus.jsonl data/corpus [--field text] [--dtype uint16]
    python -m core.data info data/corpus
"""

from __future__ import annotations

import argparse
import sys

from core.data.prepare import info, prepare
from core.data.tokens import DTYPES, read_meta
from core.errors import DataError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m core.data", description="Prepare or inspect token data.")
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("prepare", help="tokenise a .txt or .jsonl file into OUT.bin + OUT.json (byte-level)")
    pp.add_argument("input", help="a .txt file, or .jsonl rows with a text field or prompt/response pairs")
    pp.add_argument("out", help="output stem: writes OUT.bin and OUT.json (a folder: FOLDER/tokens.*)")
    pp.add_argument("--field", default=None, help="jsonl text field (default: text, else prompt/response)")
    pp.add_argument("--separator", default="\n", help="joins prompt and response (default: newline)")
    pp.add_argument("--dtype", default="uint16", choices=DTYPES, help="token dtype on disk (default: uint16)")
    pi = sub.add_parser("info", help="print token count, vocab and dtype of a data source")
    pi.add_argument("path", help="a prepared token file (OUT, OUT.bin or OUT.json), a .txt/.jsonl file or 'embedded'")
    args = p.parse_args(argv)
    try:
        if args.cmd == "prepare":
            meta_path = prepare(args.input, args.out, args.field, args.dtype, args.separator)
            meta = read_meta(meta_path)
            print(f"wrote {meta_path.with_suffix('.bin')} + {meta_path.name}: {meta['num_tokens']:,} "
                  f"{meta['dtype']} tokens, vocab {meta['vocab_size']}")
        else:
            for key, value in info(args.path).items():
                print(f"{key}: {value:,}" if isinstance(value, int) else f"{key}: {value}")
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
