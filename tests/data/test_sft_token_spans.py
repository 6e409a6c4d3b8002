"""Encoded.mask / Encoded.first (core/data/sft/tokenizer.py) against the per-token offsets they avoid converting.

The masks come from the tokenizer's char -> token map at each span's ends; the reference is the plain
overlap rule over every token's offsets (start < e and end > s). Random texts mix ASCII, characters that
byte-level BPE splits over several tokens (é, 字, 🦀), whitespace runs and special tokens; random spans
include empty ones, one-character ones and the text's ends. Every tokenizer family of the SFT tests.
"""

from __future__ import annotations

import numpy as np
import pytest
from sft_common import FAMILIES, family_tokenizer

from core.data.sft.tokenizer import encode_texts, load_tokenizer

PIECES = ["a", "the ", "  ", "\n", "é", "字", "🦀", "Darcy", "<|im_start|>", "<|im_end|>", "1 + 1", "ünï", "\t", "."]


def reference(offsets: np.ndarray, spans) -> tuple[np.ndarray, list[int]]:
    mask = np.zeros(len(offsets), dtype=np.uint8)
    firsts = []
    for s, e in spans:
        hit = (offsets[:, 0] < e) & (offsets[:, 1] > s)
        mask |= hit.astype(np.uint8)
        firsts.append(int(np.nonzero(hit)[0][0]) if hit.any() else len(offsets))
    return mask, firsts


@pytest.mark.parametrize("name", ["qwen", "llama3", "mistral"])
def test_masks_from_span_ends_equal_the_offsets_rule(tmp_path, name):
    pytest.importorskip("transformers")
    tok = load_tokenizer(family_tokenizer(name, tmp_path / name))
    rng = np.random.default_rng(0)
    texts = ["".join(rng.choice(PIECES, size=rng.integers(1, 40))) for _ in range(300)]
    split_chars = 0
    for text, enc in zip(texts, encode_texts(tok, texts)):
        offsets = np.asarray(enc._encoding.offsets, dtype=np.int64).reshape(-1, 2)
        split_chars += int((np.diff(offsets[:, 0]) == 0).sum())
        n = len(text)
        cuts = sorted(rng.integers(0, n + 1, size=6).tolist())
        spans = [(0, n), (cuts[0], cuts[1]), (cuts[2], cuts[2]), (cuts[3], min(cuts[3] + 1, n)), (cuts[4], cuts[5])]
        for span in spans:
            want_mask, (want_first,) = reference(offsets, [span])
            assert enc.mask([span]).tolist() == want_mask.tolist(), (text, span)
            assert enc.first(span) == want_first, (text, span)
        assert enc.mask(spans).tolist() == reference(offsets, spans)[0].tolist()
    assert split_chars > 0  # the texts did split characters over tokens
