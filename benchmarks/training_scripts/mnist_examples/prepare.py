"""Writes data/train.npz and data/test.npz: MNIST-shaped arrays (28x28 uint8 images, 10 classes),
generated from a fixed seed so that no download is needed. Run once: python prepare.py"""
import os

import numpy as np

rng = np.random.default_rng(0)
prototypes = rng.integers(0, 256, size=(10, 28, 28))
os.makedirs("data", exist_ok=True)
for split, n in (("train", 640), ("test", 128)):
    labels = rng.integers(0, 10, size=n)
    noise = rng.normal(0, 60, size=(n, 28, 28))
    images = np.clip(prototypes[labels] + noise, 0, 255).astype(np.uint8)
    np.savez(f"data/{split}.npz", images=images, labels=labels)
    print(f"wrote data/{split}.npz: {n} images")
