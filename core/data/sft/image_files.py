"""The images of a prepared SFT folder: written once by prepare, memory-mapped by the dataset.

Files (KEY = the prepare cache key's first 16 hex digits):
- KEY.pixels.bin: float32, every image's pixel array back to back (sample order, then image order);
- KEY.image_shapes.bin: int64 (num_images, rank), each array's shape;
- KEY.image_grids.bin: int64 (num_images, 3), the (t, h, w) patch grid (Qwen2-VL; absent for LLaVA);
- KEY.image_offsets.bin: int64 (num_samples + 1), sample i owns images [off[i], off[i+1]).

In a batch (ImageStore.slots) every row has max_per_sample image slots, so shapes are the same for every
batch of a data set: pixel_values (K, *max_shape) zero-padded, image_mask (K,) 1 where a slot holds an
image, image_grid_thw (K, 3) when the family has grids. Slot order is the order of the images' tokens.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.atomic import atomic_open
from core.errors import DataError


class ImageWriter:
    """Streams the pixels of each prepared sample to OUT/KEY.pixels.bin; finish() writes the index files."""

    def __init__(self, out: Path, stem: str, pixels_file):
        self.out, self.stem, self.fh = out, stem, pixels_file
        self.shapes: list[tuple[int, ...]] = []
        self.grids: list[tuple[int, int, int]] = []
        self.counts: list[int] = []

    def add(self, images) -> None:
        for im in images:
            self.fh.write(np.ascontiguousarray(im.pixels, dtype="<f4").tobytes())
            self.shapes.append(tuple(im.pixels.shape))
            if im.grid is not None:
                self.grids.append(im.grid)
        self.counts.append(len(images))

    def finish(self) -> tuple[dict, dict]:
        """(files, meta) of the images; raises when the images disagree on their array rank."""
        ranks = {len(s) for s in self.shapes}
        if len(ranks) > 1:
            raise DataError(f"the processor gave pixel arrays of different ranks {sorted(ranks)}")
        files = {"pixels": f"{self.stem}.pixels.bin", "image_shapes": f"{self.stem}.image_shapes.bin",
                 "image_offsets": f"{self.stem}.image_offsets.bin"}
        shapes = np.asarray(self.shapes, dtype="<i8").reshape(len(self.shapes), -1)
        offsets = np.zeros(len(self.counts) + 1, dtype="<i8")
        np.cumsum(self.counts, out=offsets[1:])
        with atomic_open(self.out / files["image_shapes"]) as fh:
            fh.write(shapes.tobytes())
        with atomic_open(self.out / files["image_offsets"]) as fh:
            fh.write(offsets.tobytes())
        if self.grids:
            files["image_grids"] = f"{self.stem}.image_grids.bin"
            with atomic_open(self.out / files["image_grids"]) as fh:
                fh.write(np.asarray(self.grids, dtype="<i8").tobytes())
        meta = {"count": len(self.shapes), "rank": int(shapes.shape[1]) if len(shapes) else 0,
                "max_shape": [int(x) for x in shapes.max(0)] if len(shapes) else [],
                "max_per_sample": int(max(self.counts, default=0)), "grid": bool(self.grids),
                "samples_with_images": int(np.count_nonzero(self.counts))}
        return files, meta


def _map(path: Path, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    n = int(np.prod(shape))
    if not path.is_file():
        raise DataError(f"prepared SFT file not found: {path}")
    if path.stat().st_size != n * np.dtype(dtype).itemsize:
        raise DataError(f"{path}: {path.stat().st_size:,} bytes, expected {n * np.dtype(dtype).itemsize:,}; the file "
                        f"is truncated or from another prepare run")
    return np.memmap(path, dtype=dtype, mode="r", shape=shape) if n else np.zeros(shape, dtype)


class ImageStore:
    """The images of a prepared folder, read per sample into fixed image slots."""

    def __init__(self, folder: Path, files: dict, meta: dict, num_samples: int):
        self.meta = meta
        count, rank = int(meta["count"]), int(meta["rank"])
        self.offsets = _map(folder / files["image_offsets"], "<i8", (num_samples + 1,))
        self.shapes = _map(folder / files["image_shapes"], "<i8", (count, rank))
        sizes = self.shapes.prod(1) if count else np.zeros(0, np.int64)
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.pixels = _map(folder / files["pixels"], "<f4", (int(self.starts[-1]),))
        self.grids = _map(folder / files["image_grids"], "<i8", (count, 3)) if meta.get("grid") else None
        self.slots_per_row = max(1, int(meta["max_per_sample"]))
        self.max_shape = tuple(int(x) for x in meta["max_shape"])

    def count(self, sample: int) -> int:
        return int(self.offsets[sample + 1] - self.offsets[sample])

    def slots(self, sample: int) -> dict[str, np.ndarray]:
        k = self.slots_per_row
        pixels = np.zeros((k, *self.max_shape), dtype=np.float32)
        mask = np.zeros(k, dtype=np.int64)
        grid = np.zeros((k, 3), dtype=np.int64)
        for slot, i in enumerate(range(int(self.offsets[sample]), int(self.offsets[sample + 1]))):
            shape = tuple(int(x) for x in self.shapes[i])
            arr = np.asarray(self.pixels[self.starts[i]:self.starts[i + 1]]).reshape(shape)
            pixels[(slot, *(slice(0, d) for d in shape))] = arr
            mask[slot] = 1
            if self.grids is not None:
                grid[slot] = self.grids[i]
        out = {"pixel_values": pixels, "image_mask": mask}
        if self.grids is not None:
            out["image_grid_thw"] = grid
        return out
