"""Generated images for classification: a coloured shape on a noisy background, labelled by its shape.

`data.source: shapes` in a recipe. Nothing is downloaded or stored: example i is drawn from its own
seeded generator (the same set for every training seed), so an example is a pure function of its
index and batches a pure function of (seed, step, micro), like token data. The last
`val_fraction` of the examples is held out.

Each batch is {"pixel_values": (B, 3, S, S) float32 normalised to [-1, 1], "labels": (B,) int64},
with S = data.image_size and labels indexing SHAPES.

    from core.data.images import ShapesData
    d = ShapesData(image_size=16, batch_size=8, val_fraction=0.1, seed=0)
    d.train_batch(0, 0)["pixel_values"].shape      # (8, 3, 16, 16)
"""

from __future__ import annotations

import numpy as np

from core.errors import DataError

SHAPES = ("circle", "square", "triangle", "cross")
DATASET_SEED = 20261201  # fixes the examples themselves; the training seed only picks the batches
MIN_IMAGE_SIZE = 8


def _mask(shape: str, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, r: float) -> np.ndarray:
    """Boolean (S, S) mask of one shape centred at (cy, cx) with half-size r, coordinates in [0, 1)."""
    dy, dx = yy - cy, xx - cx
    if shape == "circle":
        return dy ** 2 + dx ** 2 <= r ** 2
    if shape == "square":
        return (np.abs(dy) <= 0.8 * r) & (np.abs(dx) <= 0.8 * r)
    if shape == "triangle":  # apex up: width grows linearly from the top edge to the base
        return (dy >= -r) & (dy <= r) & (np.abs(dx) <= (dy + r) / 2)
    bar = r / 3  # cross
    return ((np.abs(dx) <= bar) & (np.abs(dy) <= r)) | ((np.abs(dy) <= bar) & (np.abs(dx) <= r))


def draw(index: int, image_size: int) -> tuple[np.ndarray, int]:
    """Example `index`: a (3, S, S) float32 image in [-1, 1] and its class."""
    rng = np.random.default_rng([DATASET_SEED, int(index)])
    label = int(rng.integers(len(SHAPES)))
    r = rng.uniform(0.18, 0.32)
    cy, cx = rng.uniform(0.5 - (0.45 - r), 0.5 + (0.45 - r), size=2)
    coords = (np.arange(image_size, dtype=np.float32) + 0.5) / image_size
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    mask = _mask(SHAPES[label], yy, xx, cy, cx, r).astype(np.float32)  # (S, S)
    colour = rng.uniform(0.45, 1.0, size=(3, 1, 1)).astype(np.float32)
    background = np.clip(rng.normal(0.15, 0.08, size=(3, image_size, image_size)), 0.0, 1.0).astype(np.float32)
    image = background * (1.0 - mask) + colour * mask  # (3, S, S) in [0, 1]
    return (image - 0.5) / 0.5, label


class ShapesData:
    """The generated shapes set split into train/val; batches are a pure function of (seed, step, micro)."""

    num_classes = len(SHAPES)
    vocab_size = None  # not token data
    unit = "img"  # what throughput counts: batch_size images per micro-batch

    def __init__(self, image_size: int, batch_size: int, val_fraction: float, seed: int, num_samples: int = 4096):
        if image_size < MIN_IMAGE_SIZE:
            raise DataError(f"data.image_size must be >= {MIN_IMAGE_SIZE} for generated shapes, got {image_size}")
        if num_samples < 2 * batch_size:
            raise DataError(f"data.num_samples ({num_samples}) must hold at least two batches of {batch_size}")
        if seed < 0:
            raise DataError(f"seed must be >= 0 (got {seed})")
        self.image_size, self.batch_size, self.seed = int(image_size), int(batch_size), int(seed)
        self.num_samples = int(num_samples)
        self.split = self.num_samples - max(1, int(round(self.num_samples * val_fraction)))  # train: [0, split)
        if self.split < batch_size:
            raise DataError(f"val_fraction {val_fraction} leaves {self.split} training examples, fewer than one "
                            f"batch of {batch_size}")
        self.name = f"generated shapes ({', '.join(SHAPES)})"

    def describe(self) -> str:
        return (f"{self.name}: {self.num_samples:,} images of 3x{self.image_size}x{self.image_size} "
                f"(train {self.split:,}, val {self.num_samples - self.split:,}), {self.num_classes} classes")

    def _batch(self, indices: np.ndarray) -> dict[str, np.ndarray]:
        images, labels = zip(*(draw(i, self.image_size) for i in indices))
        return {"pixel_values": np.stack(images), "labels": np.asarray(labels, dtype=np.int64)}

    def train_indices(self, step: int, micro: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, int(step), int(micro)])
        return rng.integers(0, self.split, size=self.batch_size, dtype=np.int64)

    def train_batch(self, step: int, micro: int) -> dict[str, np.ndarray]:
        return self._batch(self.train_indices(step, micro))

    def val_batches(self, n: int) -> list[dict[str, np.ndarray]]:
        idx = np.linspace(self.split, self.num_samples - 1, num=n * self.batch_size).round().astype(np.int64)
        return [self._batch(chunk) for chunk in idx.reshape(n, self.batch_size)]
