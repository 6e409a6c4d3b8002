"""Token shards of an SFT preparation: each encoding process appends its chunks to its own files.

A worker writes the ids (int32) and trained masks (uint8) of every chunk it encodes to one pair of shard
files and sends back only a Piece (where the chunk lies, its size, largest id and trained-token count), so
no token array goes through a pipe and the parent does no per-token work while the workers run. When all
chunks are done the parent joins the pieces in input order into the final token and mask files.

    shard = Shard(out / ".KEY.shard-PID-WORKER")
    piece = shard.append(ids, mask)                       # in the worker
    join_pieces([piece, ...], tokens_fh, mask_fh, np.uint16)     # in the parent, input order
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

IDS = "<i4"


@dataclass(frozen=True)
class Piece:
    """One encoded chunk inside a shard: tokens [start, start + count) of PREFIX.ids / PREFIX.mask."""

    prefix: str
    start: int
    count: int
    max_id: int
    label_tokens: int


class Shard:
    """The shard files of one process, written by appending (created on the first chunk)."""

    def __init__(self, prefix: str | Path):
        self.prefix, self.tokens = str(prefix), 0

    def append(self, ids: np.ndarray, mask: np.ndarray) -> Piece:
        mode = "ab" if self.tokens else "wb"  # a left-over file of the same name (a killed run) starts over
        with open(self.prefix + ".ids", mode) as f_ids, open(self.prefix + ".mask", mode) as f_mask:
            f_ids.write(np.ascontiguousarray(ids, dtype=IDS).tobytes())
            f_mask.write(np.ascontiguousarray(mask, dtype=np.uint8).tobytes())
        piece = Piece(self.prefix, self.tokens, len(ids), int(ids.max()) if len(ids) else 0, int(mask.sum()))
        self.tokens += len(ids)
        return piece


def join_pieces(pieces: list[Piece], tokens_file, mask_file, dtype) -> None:
    """Write the pieces' ids (as `dtype`, little-endian) and masks to the open files, in the given order."""
    out_dtype = np.dtype(dtype).newbyteorder("<")
    for p in pieces:
        ids = np.fromfile(p.prefix + ".ids", dtype=IDS, count=p.count, offset=p.start * np.dtype(IDS).itemsize)
        tokens_file.write(ids.astype(out_dtype).tobytes())
        mask_file.write(np.fromfile(p.prefix + ".mask", dtype=np.uint8, count=p.count, offset=p.start).tobytes())


def remove_shards(prefix: str) -> None:
    """Delete every shard file whose name starts with `prefix` (after joining, or after a failure)."""
    folder, name = Path(prefix).parent, Path(prefix).name
    for path in folder.glob(f"{name}*"):
        path.unlink(missing_ok=True)
