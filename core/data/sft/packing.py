"""Packing: samples into fixed-length rows (LLaMA-Factory's `packing` / MindSpeed's `--pack`).

A sample of L tokens fills L - 1 positions of a row (input t[:-1], labels t[1:]), so no position ever
predicts the next sample's first token. Rows are filled best-fit-decreasing (deterministic: ties by
sample index), and hold their samples in index order. In a row, `position_ids` restart at 0 for every
sample (the padding tail counts 0.. again); with neat packing `segment_ids` are 1, 2, .. per sample and
0 on the padding, and the model attends only within a segment.

    rows = pack_rows(lengths - 1, row_len=1024)     # list of sample-index arrays
    batch = packed_batch([sample(i) for i in rows[0]], row_len=1024, pad_id=0, neat=True)
"""

from __future__ import annotations

import bisect

import numpy as np

IGNORE_INDEX = -100


def pack_rows(positions: np.ndarray, row_len: int) -> list[np.ndarray]:
    """Sample indices of each row; positions[i] = positions sample i needs (<= row_len)."""
    order = sorted(range(len(positions)), key=lambda i: (-int(positions[i]), i))
    free: list[tuple[int, int]] = []  # (room left, row id), sorted
    rows: list[list[int]] = []
    for i in order:
        need = int(positions[i])
        if need > row_len:
            raise ValueError(f"sample {i} needs {need} positions, more than the row length {row_len}")
        k = bisect.bisect_left(free, (need, -1))
        if k == len(free):
            rows.append([i])
            room, row = row_len - need, len(rows) - 1
        else:
            room, row = free.pop(k)
            rows[row].append(i)
            room -= need
        if room > 0:
            bisect.insort(free, (room, row))
    return [np.asarray(sorted(r), dtype=np.int64) for r in rows]


def shifted(ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, labels) of one sample: labels are the next tokens where trained, else -100."""
    ids = np.asarray(ids, dtype=np.int64)
    labels = np.where(np.asarray(mask[1:]) > 0, ids[1:], IGNORE_INDEX)
    return ids[:-1], labels


def packed_row(samples: list[tuple[np.ndarray, np.ndarray]], row_len: int, pad_id: int,
               neat: bool) -> dict[str, np.ndarray]:
    """One packed row from (ids, mask) samples: input_ids, labels, position_ids, attention_mask
    (+ segment_ids when neat), each (row_len,) int64."""
    inp = np.full(row_len, pad_id, dtype=np.int64)
    lab = np.full(row_len, IGNORE_INDEX, dtype=np.int64)
    pos = np.zeros(row_len, dtype=np.int64)
    seg = np.zeros(row_len, dtype=np.int64)
    at = 0
    for k, (ids, mask) in enumerate(samples, 1):
        x, y = shifted(ids, mask)
        n = len(x)
        inp[at:at + n], lab[at:at + n], pos[at:at + n], seg[at:at + n] = x, y, np.arange(n), k
        at += n
    pos[at:] = np.arange(row_len - at)
    row = {"input_ids": inp, "labels": lab, "position_ids": pos,
           "attention_mask": (np.arange(row_len) < at).astype(np.int64)}
    if neat:
        row["segment_ids"] = seg
    return row


def padded_row(ids: np.ndarray, mask: np.ndarray, row_len: int, pad_id: int) -> dict[str, np.ndarray]:
    """One unpacked sample, right-padded (or cut) to row_len positions: input_ids, labels, attention_mask."""
    x, y = shifted(ids[:row_len + 1], mask[:row_len + 1])
    n = len(x)
    inp = np.full(row_len, pad_id, dtype=np.int64)
    lab = np.full(row_len, IGNORE_INDEX, dtype=np.int64)
    inp[:n], lab[:n] = x, y
    return {"input_ids": inp, "labels": lab, "attention_mask": (np.arange(row_len) < n).astype(np.int64)}


def stack(rows: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.stack([r[k] for r in rows]) for k in rows[0]}
