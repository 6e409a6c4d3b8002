"""Tokenizers for SFT data: a Hugging Face tokenizer from a local folder, or byte-level (the default).

The Hugging Face one is transformers' AutoTokenizer (a fast, Rust `tokenizers` one: offsets locate the
answers); byte-level is UTF-8 bytes (vocab 256), as everywhere else in core/data. The fingerprint
(vocabulary size + SHA-256 of the token -> id map) is what prepared data records and what
`check_data_tokenizer` compares with a model folder's tokenizer.

    tok = load_tokenizer("ckpt/my_model")     # or None / "bytes"
    enc = encode_texts(tok, ["<|im_start|>user\nhi<|im_end|>\n"])[0]   # enc.ids, enc.mask([(18, 20)])
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from core.errors import DataError

# what identifies a tokenizer in a folder (all of them hash into the prepare cache key)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                   "vocab.json", "vocab.txt", "merges.txt", "tokenizer.model", "spiece.model", "chat_template.jinja",
                   "chat_template.json")


class ByteTokenizer:
    """UTF-8 bytes as token ids (vocab 256); no special tokens, pad id 0."""

    name_or_path = "bytes"
    chat_template = None
    bos_token = eos_token = None
    pad_token_id = 0

    def __len__(self) -> int:
        return 256


def has_tokenizer(folder: Path) -> bool:
    return any((folder / f).is_file() for f in ("tokenizer.json", "vocab.json", "vocab.txt", "tokenizer.model",
                                               "spiece.model"))


def load_tokenizer(spec: str | Path | None):
    """ByteTokenizer for None/'bytes', else transformers' fast tokenizer of the local folder `spec`."""
    if spec in (None, "", "bytes"):
        return ByteTokenizer()
    folder = Path(spec).expanduser()
    if not folder.is_dir() or not has_tokenizer(folder):
        raise DataError(f"--tokenizer {spec}: not a folder with a Hugging Face tokenizer "
                        f"(tokenizer.json or vocab files)")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # one thread per process: --workers is the parallelism
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as e:
        raise DataError(f"--tokenizer {spec}: transformers cannot load it ({type(e).__name__}: "
                        f"{str(e).splitlines()[0] if str(e) else ''})") from None
    if not getattr(tok, "is_fast", False):
        raise DataError(f"--tokenizer {spec}: needs a fast (tokenizer.json) tokenizer for answer offsets")
    return tok


def pad_id(tok) -> int:
    for attr in ("pad_token_id", "eos_token_id"):
        value = getattr(tok, attr, None)
        if isinstance(value, int):
            return value
    return 0


def fingerprint(tok) -> dict:
    """{"kind", "vocab_size", "vocab_sha256"}: equal fingerprints tokenise text into the same ids."""
    if isinstance(tok, ByteTokenizer):
        return {"kind": "bytes", "vocab_size": 256, "vocab_sha256": None}
    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    digest = hashlib.sha256(json.dumps(vocab, ensure_ascii=False).encode("utf-8")).hexdigest()
    return {"kind": "hf", "vocab_size": len(tok), "vocab_sha256": digest}


def folder_fingerprint(folder: str | Path) -> dict | None:
    """The fingerprint of a model folder's tokenizer; None when the folder has none."""
    folder = Path(folder)
    return fingerprint(load_tokenizer(folder)) if has_tokenizer(folder) else None


def named_files_digest(folder: str | Path, names: tuple[str, ...]) -> str:
    """SHA-256 over the named files that exist in `folder` (name and content of each, in the given order)."""
    h = hashlib.sha256()
    for name in names:
        path = Path(folder) / name
        if path.is_file():
            h.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def files_digest(spec: str | Path | None) -> str:
    """SHA-256 over the tokenizer files of a folder (part of the prepare cache key)."""
    if spec in (None, "", "bytes"):
        return "bytes"
    return named_files_digest(spec, TOKENIZER_FILES)


class Encoded:
    """One text's token ids and which tokens lie on given character spans.

    A token is on the span [s, e) when its characters overlap it (start < e and end > s; how transformers
    builds assistant_masks). For a Hugging Face encoding the tokens at a span's two ends come from the
    tokenizer's own char -> token map, and the neighbours are checked for overlap, so the per-token
    offsets (most of the per-token Python cost of preparation) are converted only where that map cannot
    answer: an empty span, or an end character that no token covers. Token offsets are in text order.
    """

    def __init__(self, ids: np.ndarray, encoding=None, offsets: np.ndarray | None = None):
        self.ids, self._encoding, self._offsets = ids, encoding, offsets

    @property
    def offsets(self) -> np.ndarray:
        """(n, 2) int64: each token's character [start, end)."""
        if self._offsets is None:
            self._offsets = np.asarray(self._encoding.offsets, dtype=np.int64).reshape(-1, 2)
        return self._offsets

    def mask(self, spans: list[tuple[int, int]]) -> np.ndarray:
        """uint8 (n,): 1 on every token on one of the spans."""
        mask = np.zeros(len(self.ids), dtype=np.uint8)
        for s, e in spans:
            ends = self._ends(s, e)
            if ends is None:
                mask |= self._overlap(s, e).astype(np.uint8)
            else:
                mask[ends[0]:ends[1]] = 1
        return mask

    def first(self, span: tuple[int, int]) -> int:
        """Index of the first token on `span` (n if none)."""
        ends = self._ends(*span)
        if ends is not None:
            return ends[0]
        hit = np.nonzero(self._overlap(*span))[0]
        return int(hit[0]) if len(hit) else len(self.ids)

    def _overlap(self, s: int, e: int) -> np.ndarray:
        return (self.offsets[:, 0] < e) & (self.offsets[:, 1] > s)

    def _ends(self, s: int, e: int) -> tuple[int, int] | None:
        """[lo, hi) of the tokens on [s, e) from the char -> token map, or None where it cannot say."""
        enc = self._encoding
        if enc is None or self._offsets is not None or e <= s:
            return None
        lo, hi = enc.char_to_token(s), enc.char_to_token(e - 1)
        if lo is None or hi is None:
            return None
        while lo > 0 and enc.token_to_chars(lo - 1)[1] > s:  # a character split over tokens (byte-level BPE)
            lo -= 1
        n = len(self.ids)
        while hi + 1 < n and enc.token_to_chars(hi + 1)[0] < e:
            hi += 1
        return lo, hi + 1


def encode_texts(tok, texts: list[str]) -> list[Encoded]:
    """The encoding of each text, no special tokens added."""
    if isinstance(tok, ByteTokenizer):
        out = []
        for text in texts:
            data = text.encode("utf-8")
            ids = np.frombuffer(data, dtype=np.uint8).astype(np.int64)
            # char index of every byte: a char of k bytes owns k consecutive byte tokens
            widths = np.fromiter((len(c.encode("utf-8")) for c in text), dtype=np.int64, count=len(text))
            char_of_byte = np.repeat(np.arange(len(text), dtype=np.int64), widths)
            out.append(Encoded(ids, offsets=np.stack([char_of_byte, char_of_byte + 1], axis=1)))
        return out
    encodings = tok.backend_tokenizer.encode_batch(texts, add_special_tokens=False)
    return [Encoded(np.asarray(e.ids, dtype=np.int64), encoding=e) for e in encodings]
