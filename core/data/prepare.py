"""`python -m core.data prepare`: turn a .txt or .jsonl file into a memory-mappable token file.

Byte-level tokens (vocab 256) in OUT.bin (uint16 or uint32, little-endian) plus OUT.json (meta);
both are written atomically, so an interrupted run leaves no half-written output.

    python -m core.data prepare corpus.jsonl data/corpus [--field text] [--dtype uint16]
    python -m core.data prepare notes.txt data/notes
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

import numpy as np
from tqdm import tqdm

from core.atomic import atomic_open, atomic_write_text
from core.data.tokens import DOC_SEPARATOR, DTYPES, FORMAT, iter_documents, open_source
from core.errors import DataError


def _byte_chunks(path: Path, field: str | None, separator: str) -> Iterator[bytes]:
    if path.suffix == ".jsonl":
        for i, doc in enumerate(iter_documents(path, field, separator)):
            yield (DOC_SEPARATOR if i else "").encode("utf-8") + doc.encode("utf-8")
        return
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    with open(path, "rb") as fh, tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc="reading",
                                       disable=None, leave=False) as bar:
        while chunk := fh.read(1 << 22):
            bar.update(len(chunk))
            yield chunk


def _output_stem(out: Path) -> Path:
    """OUT -> OUT (writes OUT.bin/OUT.json); an existing folder or one ending in '/' -> folder/tokens."""
    if out.is_dir() or str(out).endswith(os.sep):
        return out / "tokens"
    return out.with_suffix("") if out.suffix in (".bin", ".json") else out


def prepare(input_path: str | Path, out: str | Path, field: str | None = None, dtype: str = "uint16",
            separator: str = "\n") -> Path:
    """Tokenise a .txt or .jsonl file into OUT.bin + OUT.json (byte-level, vocab 256); returns the meta path."""
    src = Path(input_path)
    if src.suffix not in (".txt", ".jsonl"):
        raise DataError(f"{src}: expected a .txt or .jsonl file")
    if dtype not in DTYPES:
        raise DataError(f"unsupported dtype '{dtype}' (expected one of {', '.join(DTYPES)})")
    stem = _output_stem(Path(out))
    n = 0
    with atomic_open(stem.with_name(stem.name + ".bin")) as fh:
        for chunk in _byte_chunks(src, field, separator):
            fh.write(np.frombuffer(chunk, dtype=np.uint8).astype(np.dtype(dtype).newbyteorder("<")).tobytes())
            n += len(chunk)
        if n == 0:
            raise DataError(f"{src}: no text found")
    meta = {"format": FORMAT, "version": 1, "tokenizer": "bytes", "vocab_size": 256, "dtype": dtype,
            "num_tokens": n, "source": str(src), "document_separator": DOC_SEPARATOR}
    if src.suffix == ".jsonl":
        meta.update(field=field or "text (or prompt/response)", pair_separator=separator)
    meta_path = stem.with_name(stem.name + ".json")
    atomic_write_text(meta_path, json.dumps(meta, indent=2) + "\n")
    return meta_path


def info(path: str | Path) -> dict:
    """Token count, vocab and dtype of a source (a prepared file, a .txt/.jsonl file, or 'embedded')."""
    tokens, vocab_size, name = open_source(str(path))
    return {"source": name, "num_tokens": len(tokens), "vocab_size": vocab_size, "dtype": tokens.dtype.name,
            "max_token": int(np.max(tokens)) if len(tokens) else None}
