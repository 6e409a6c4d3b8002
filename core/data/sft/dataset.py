"""A prepared SFT folder as training data: batches of named arrays, a pure function of the seed.

Units are samples (unpacked: each right-padded to data.seq_len) or packed rows. A fixed, seed-independent
shuffle holds out the last val_fraction of the units; train_batch(step, micro) draws batch_size units
with numpy's generator seeded by (seed, step, micro), like TokenData, so resuming and sharding over ranks
need no state. Batch keys follow the SFT batch contract (core/data/sft/__init__.py).

    data = SFTData("data/sft", seq_len=128, batch_size=4, val_fraction=0.1, seed=0)
    batch = data.train_batch(step=0, micro=0)   # input_ids, labels, attention_mask (+ position_ids ...)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.data.sft.image_files import ImageStore
from core.data.sft.packing import packed_row, padded_row, stack
from core.data.sft.prepare import META, read_sft_meta
from core.errors import DataError


def _map(folder: Path, name: str, dtype, count: int) -> np.ndarray:
    path = folder / name
    if not path.is_file():
        raise DataError(f"prepared SFT file not found: {path} (listed in {folder / META})")
    dt = np.dtype(dtype).newbyteorder("<")
    if path.stat().st_size != count * dt.itemsize:
        raise DataError(f"{path}: {path.stat().st_size:,} bytes, expected {count:,} {dt.name} values "
                        f"({count * dt.itemsize:,} bytes); the file is truncated or from another prepare run")
    return np.memmap(path, dtype=dt, mode="r", shape=(count,)) if count else np.zeros(0, dt)


class SFTData:
    """Prepared SFT samples (or packed rows) split into train/val."""

    unit = "tok"  # throughput counts batch_size x seq_len positions per micro-batch

    def __init__(self, folder: str | Path, seq_len: int, batch_size: int, val_fraction: float, seed: int):
        self.folder = Path(folder)
        self.meta = meta = read_sft_meta(self.folder)
        if seq_len < 1 or batch_size < 1:
            raise DataError(f"seq_len and batch_size must be >= 1 (got {seq_len}, {batch_size})")
        if not 0.0 < val_fraction < 1.0:
            raise DataError(f"val_fraction must be between 0 and 1 (exclusive); got {val_fraction}")
        files, n = meta["files"], int(meta["num_samples"])
        self.offsets = _map(self.folder, files["offsets"], "int64", n + 1)
        self.tokens = _map(self.folder, files["tokens"], meta["dtype"], int(self.offsets[-1]))
        self.mask = _map(self.folder, files["mask"], "uint8", int(self.offsets[-1]))
        self.pack = meta.get("pack")
        if self.pack:
            if seq_len != self.pack["row_len"]:
                raise DataError(f"data.seq_len {seq_len} differs from the packed row length {self.pack['row_len']} "
                                f"of {self.folder} (set data.seq_len: {self.pack['row_len']}, or prepare again with "
                                f"--seq-len {seq_len})")
            self.row_offsets = _map(self.folder, files["row_offsets"], "int64", int(self.pack["rows"]) + 1)
            self.rows = _map(self.folder, files["rows"], "int64", int(self.row_offsets[-1]))
        units = int(self.pack["rows"]) if self.pack else n
        n_val = int(round(units * val_fraction))
        if units - n_val < 1 or n_val < 1:
            what = "packed rows" if self.pack else "samples"
            raise DataError(f"{self.folder}: {units} {what} is too few for val_fraction {val_fraction} "
                            f"(train and val each need at least one)")
        order = np.random.default_rng(0).permutation(units)  # seed-independent split, like TokenData's tail
        self.train_units, self.val_units = order[:units - n_val], order[units - n_val:]
        self.seq_len, self.batch_size, self.seed = seq_len, batch_size, int(seed)
        self.vocab_size = int(meta["vocab_size"])
        self.pad_id = int(meta["pad_id"])
        lengths = np.diff(self.offsets) - 1
        self.num_cut = 0 if self.pack else int((lengths > seq_len).sum())
        self.images = ImageStore(self.folder, files, meta["images"], n) if meta.get("images") else None
        if self.images is not None:
            with_images = np.diff(self.images.offsets) > 0
            longest = int(lengths[with_images].max()) if with_images.any() else 0
            if longest > seq_len:
                raise DataError(f"{self.folder}: a sample with images needs {longest} positions, more than data.seq_len "
                                f"{seq_len} (image tokens cannot be cut); raise data.seq_len or prepare with "
                                f"--cutoff-len {seq_len + 1}")

    def describe(self) -> str:
        m = self.meta
        kind = (f"{'neat-' if self.pack['neat'] else ''}packed into {self.pack['rows']:,} rows"
                if self.pack else "one sample per row")
        cut = f", {self.num_cut} longer than seq_len {self.seq_len} are cut" if self.num_cut else ""
        pics = (f", {m['images']['count']:,} images in {m['images']['samples_with_images']:,} samples "
                f"(up to {self.images.slots_per_row} per row)") if self.images is not None else ""
        return (f"SFT {self.folder}: {m['num_samples']:,} samples{pics} ({kind}; train {len(self.train_units):,}, "
                f"val {len(self.val_units):,} units), {m['num_label_tokens']:,} trained tokens, template "
                f"{m['template']}, tokenizer {m['tokenizer']['source']} (vocab {self.vocab_size}){cut}")

    def sample(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, mask) of sample i."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return np.asarray(self.tokens[a:b], dtype=np.int64), np.asarray(self.mask[a:b])

    def _row(self, unit: int) -> dict[str, np.ndarray]:
        if not self.pack:
            ids, mask = self.sample(unit)
            row = padded_row(ids, mask, self.seq_len, self.pad_id)
            return row if self.images is None else {**row, **self.images.slots(unit)}
        members = self.rows[int(self.row_offsets[unit]):int(self.row_offsets[unit + 1])]
        return packed_row([self.sample(int(i)) for i in members], self.seq_len, self.pad_id, self.pack["neat"])

    def train_units_of(self, step: int, micro: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, int(step), int(micro)])
        return self.train_units[rng.integers(0, len(self.train_units), size=self.batch_size)]

    def train_batch(self, step: int, micro: int) -> dict[str, np.ndarray]:
        return stack([self._row(int(u)) for u in self.train_units_of(step, micro)])

    def val_batches(self, n: int) -> list[dict[str, np.ndarray]]:
        units = np.resize(self.val_units, n * self.batch_size).reshape(n, self.batch_size)
        return [stack([self._row(int(u)) for u in row]) for row in units]
