"""Token data: byte-level text or prepared token files, split into train/val, batches as named arrays.

Sources (`data.source` in a recipe):
- `embedded`: the shipped corpus (core/data/corpus/, Pride and Prejudice, ~685k byte tokens);
- a `.txt` file: its bytes are the tokens (vocab 256), memory-mapped, no preprocessing;
- a `.jsonl` file: tokenised on the fly like `prepare` does (fine for small files);
- a prepared token file: `OUT.bin` (uint16/uint32 tokens) + `OUT.json` (meta), memory-mapped; name
  either file, `OUT` itself, or a folder holding one such pair.

Each batch is {"input_ids": (B, T) int64, "labels": (B, T) int64}, labels the next tokens. Batches
are a pure function of (seed, step, micro): no iterator state, so resuming and sharding over ranks
need no bookkeeping. The last `val_fraction` of the tokens is held out for evaluation.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np
from tqdm import tqdm

from core.errors import DataError

CORPUS = Path(__file__).with_name("corpus") / "pride_and_prejudice.txt.gz"
FORMAT = "mindbridge-tokens"
DTYPES = ("uint16", "uint32")
DOC_SEPARATOR = "\n\n"  # between documents (jsonl rows) in a byte-level token stream


class TokenData:
    """Tokens of one source split into train/val; batches are a pure function of (seed, step, micro)."""

    unit = "tok"  # what throughput counts: batch_size x seq_len tokens per micro-batch

    def __init__(self, tokens: np.ndarray, vocab_size: int, seq_len: int, batch_size: int, val_fraction: float,
                 seed: int, name: str = "tokens"):
        if seq_len < 1 or batch_size < 1:
            raise DataError(f"seq_len and batch_size must be >= 1 (got {seq_len}, {batch_size})")
        if seed < 0:
            raise DataError(f"seed must be >= 0 (got {seed})")
        if not 0.0 < val_fraction < 1.0:
            raise DataError(f"val_fraction must be between 0 and 1 (exclusive); got {val_fraction}")
        n = len(tokens)
        self.split = n - int(round(n * val_fraction))  # train: [0, split), val: [split, n)
        need = seq_len + 1
        if self.split < need or n - self.split < need:
            raise DataError(f"{name}: {n:,} tokens is too little for seq_len {seq_len} with val_fraction "
                            f"{val_fraction} (train and val each need at least {need} tokens)")
        self.tokens = tokens
        self.vocab_size = int(vocab_size)
        self.seq_len, self.batch_size, self.seed = seq_len, batch_size, int(seed)
        self.name = name
        self._offsets = np.arange(need, dtype=np.int64)

    @property
    def num_tokens(self) -> int:
        return len(self.tokens)

    def describe(self) -> str:
        return (f"{self.name}: {self.num_tokens:,} tokens (train {self.split:,}, val {self.num_tokens - self.split:,}), "
                f"vocab {self.vocab_size}")

    def _batch(self, starts: np.ndarray) -> dict[str, np.ndarray]:
        w = np.asarray(self.tokens[starts[:, None] + self._offsets], dtype=np.int64)  # (B, T+1)
        return {"input_ids": np.ascontiguousarray(w[:, :-1]), "labels": np.ascontiguousarray(w[:, 1:])}

    def train_starts(self, step: int, micro: int) -> np.ndarray:
        """Window starts of micro-batch `micro` of optimizer step `step` (0-based)."""
        rng = np.random.default_rng([self.seed, int(step), int(micro)])
        return rng.integers(0, self.split - self.seq_len, size=self.batch_size, dtype=np.int64)

    def train_batch(self, step: int, micro: int) -> dict[str, np.ndarray]:
        # With grad_accum A and world size W, rank r takes micro indices r*A .. r*A+A-1 of a step; one
        # process with grad_accum A*W takes 0 .. A*W-1 and so sees exactly the same global batch.
        return self._batch(self.train_starts(step, micro))

    def val_starts(self, n: int) -> np.ndarray:
        """Window starts of n fixed val batches: evenly spread over the held-out tail, seed-independent."""
        last = self.num_tokens - self.seq_len - 1
        return np.linspace(self.split, last, num=n * self.batch_size).round().astype(np.int64)

    def val_batches(self, n: int) -> list[dict[str, np.ndarray]]:
        starts = self.val_starts(n).reshape(n, self.batch_size)
        return [self._batch(s) for s in starts]


# ---------------------------------------------------------------- reading sources


@lru_cache(maxsize=1)
def embedded_tokens() -> np.ndarray:
    """The shipped corpus as uint8 byte tokens (read-only)."""
    tokens = np.frombuffer(gzip.decompress(CORPUS.read_bytes()), dtype=np.uint8)
    tokens.flags.writeable = False
    return tokens


def _meta_path(path: Path) -> Path | None:
    """The .json meta of a prepared token file named as OUT, OUT.bin, OUT.json or a folder."""
    if path.is_dir():
        metas = [p for p in sorted(path.glob("*.json")) if p.with_suffix(".bin").exists()]
        if len(metas) != 1:
            raise DataError(f"{path}: expected one prepared token file (NAME.bin + NAME.json) in this folder, "
                            f"found {len(metas)}")
        return metas[0]
    if path.suffix in (".bin", ".json"):
        return path.with_suffix(".json")
    if path.with_name(path.name + ".json").exists():
        return path.with_name(path.name + ".json")
    return None


def read_format_meta(meta_path: Path, fmt: str, what: str, missing_format: str = "") -> dict:
    """A prepared data set's meta json whose "format" is `fmt`; one-line DataErrors (`what` names the file kind)."""
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{what} not found: {meta_path} (run: python -m core.data prepare ...)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{meta_path}: not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise DataError(f"{meta_path}: not a {fmt} meta file{missing_format}")
    return meta


def read_meta(meta_path: Path) -> dict:
    meta = read_format_meta(meta_path, FORMAT, "token meta file", f' (missing "format": "{FORMAT}")')
    for key in ("dtype", "num_tokens", "vocab_size"):
        if key not in meta:
            raise DataError(f"{meta_path}: meta has no '{key}' field")
    if not isinstance(meta["num_tokens"], int) or meta["num_tokens"] < 1:
        raise DataError(f"{meta_path}: 'num_tokens' must be a positive integer, got {meta['num_tokens']!r}")
    if meta["dtype"] not in DTYPES + ("uint8",):
        raise DataError(f"{meta_path}: unsupported dtype '{meta['dtype']}' (expected one of {', '.join(DTYPES)})")
    return meta


def open_token_file(meta_path: Path) -> tuple[np.ndarray, dict]:
    """Memory-map the .bin next to `meta_path`; checks its size against the meta."""
    meta = read_meta(meta_path)
    bin_path = meta_path.with_suffix(".bin")
    if not bin_path.exists():
        raise DataError(f"token file not found: {bin_path} (its meta {meta_path.name} exists)")
    dtype, n = np.dtype(meta["dtype"]).newbyteorder("<"), int(meta["num_tokens"])  # little-endian on disk
    size = bin_path.stat().st_size
    if size != n * dtype.itemsize:
        raise DataError(f"{bin_path}: {size:,} bytes, but its meta says {n:,} {dtype.name} tokens "
                        f"({n * dtype.itemsize:,} bytes); the file is truncated or from another prepare run")
    return np.memmap(bin_path, dtype=dtype, mode="r", shape=(n,)), meta


def open_source(source: str, base_dir: str | Path = ".") -> tuple[np.ndarray, int, str]:
    """(tokens, vocab_size, display name) of a data source, memory-mapped where it is a file."""
    if source == "embedded":
        return embedded_tokens(), 256, f"embedded corpus ({CORPUS.name})"
    path = Path(source).expanduser()
    if not path.is_absolute():
        in_base = Path(base_dir) / path
        path = in_base if (in_base.exists() or not path.exists()) else path
    if path.suffix == ".txt":
        if not path.is_file():
            raise DataError(f"data file not found: {path}")
        if path.stat().st_size == 0:
            raise DataError(f"{path}: the file is empty")
        return np.memmap(path, dtype=np.uint8, mode="r"), 256, str(path)
    if path.suffix == ".jsonl":
        text = DOC_SEPARATOR.join(iter_documents(path, progress=False)).encode("utf-8")
        if not text:
            raise DataError(f"{path}: no text found")
        return np.frombuffer(text, dtype=np.uint8), 256, str(path)
    meta_path = _meta_path(path)
    if meta_path is None or not (meta_path.exists() or meta_path.with_suffix(".bin").exists()):
        raise DataError(f"data source not found: {source} (looked for {path}; expected 'embedded', a .txt or "
                        f".jsonl file, or a prepared token file from: python -m core.data prepare)")
    tokens, meta = open_token_file(meta_path)
    return tokens, int(meta["vocab_size"]), str(meta_path.with_suffix(".bin"))


def iter_documents(path: Path, field: str | None = None, separator: str = "\n",
                   progress: bool = True) -> Iterator[str]:
    """Texts of a .jsonl file: row[field] (default 'text'), or prompt + separator + response."""
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    with open(path, "rb") as fh, tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc="reading",
                                       disable=None if progress else True, leave=False) as bar:
        for lineno, raw in enumerate(fh, 1):
            bar.update(len(raw))
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise DataError(f"{path}:{lineno}: invalid JSON ({getattr(e, 'msg', e)})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
            if field is None and "text" not in row and {"prompt", "response"} <= row.keys():
                parts = [row["prompt"], row["response"]]
                what = "'prompt'/'response'"
            elif (field or "text") in row:
                parts = [row[field or "text"]]
                what = f"'{field or 'text'}'"
            else:
                keys = ", ".join(map(str, row)) or "none"
                raise DataError(f"{path}:{lineno}: row has no '{field or 'text'}' field "
                                f"(keys: {keys}); use --field NAME, or rows with 'prompt' and 'response'")
            if not all(isinstance(p, str) for p in parts):
                raise DataError(f"{path}:{lineno}: field {what} must be a string")
            yield separator.join(parts)
