"""Hand-made SFT samples as the batch contract lays them out, unpacked and packed, for the packing tests.

A sample is its token ids and a prompt length; it contributes its own shifted positions (input t[:-1],
label t[1:]), labels -100 where the next token is still prompt. Unpacked: one right-padded row per
sample (attention_mask 0 and labels -100 on the padding). Packed: several samples per row, position_ids
restarting at 0 in each, segment_ids 1, 2, .. per sample and 0 on the padding tail (whose position_ids
count 0.. again, as core.data writes them).

    from packed_rows import samples, unpacked, packed
"""

from __future__ import annotations

import numpy as np

PAD = 0


def samples(lengths=(9, 5, 12, 7, 6), prompts=(3, 2, 5, 1, 4), vocab=300, seed=0):
    """[(token ids (L,) int64, prompt length)] of the given lengths; token ids avoid PAD."""
    rng = np.random.default_rng(seed)
    return [(rng.integers(1, vocab, size=n, dtype=np.int64), p) for n, p in zip(lengths, prompts)]


def _shifted(tokens, prompt):
    x, y = tokens[:-1], tokens[1:].copy()
    y[: max(prompt - 1, 0)] = -100  # the label at i is token i+1: prompt tokens carry no loss
    return x, y


def unpacked(items, seq_len):
    """{input_ids, labels, attention_mask} (B, T) int64, one right-padded row per sample."""
    b = len(items)
    batch = {"input_ids": np.full((b, seq_len), PAD, np.int64), "labels": np.full((b, seq_len), -100, np.int64),
             "attention_mask": np.zeros((b, seq_len), np.int64)}
    for r, (tokens, prompt) in enumerate(items):
        x, y = _shifted(tokens, prompt)
        batch["input_ids"][r, :len(x)], batch["labels"][r, :len(x)], batch["attention_mask"][r, :len(x)] = x, y, 1
    return batch


def packed(items, rows, seq_len, neat=True):
    """`rows` lists the sample indices of each packed row; adds position_ids, and segment_ids when `neat`.
    Returns (batch, where) with where[i] = (row, start, length) of sample i's positions."""
    b = len(rows)
    batch = {"input_ids": np.full((b, seq_len), PAD, np.int64), "labels": np.full((b, seq_len), -100, np.int64),
             "attention_mask": np.zeros((b, seq_len), np.int64), "position_ids": np.zeros((b, seq_len), np.int64),
             "segment_ids": np.zeros((b, seq_len), np.int64)}
    where = {}
    for r, members in enumerate(rows):
        start = 0
        for seg, i in enumerate(members, 1):
            x, y = _shifted(*items[i])
            n = len(x)
            assert start + n <= seq_len, "sample does not fit its packed row"
            span = slice(start, start + n)
            batch["input_ids"][r, span], batch["labels"][r, span] = x, y
            batch["attention_mask"][r, span], batch["position_ids"][r, span] = 1, np.arange(n)
            batch["segment_ids"][r, span] = seg
            where[i] = (r, start, n)
            start += n
        batch["position_ids"][r, start:] = np.arange(seq_len - start)
    if not neat:
        del batch["segment_ids"]
    return batch, where


def per_sample(logits, where):
    """{i: logits of sample i's positions} from packed logits (B, T, V)."""
    return {i: logits[r, s:s + n] for i, (r, s, n) in where.items()}


def per_sample_unpacked(logits, items):
    return {i: logits[i, :len(tokens) - 1] for i, (tokens, _) in enumerate(items)}
