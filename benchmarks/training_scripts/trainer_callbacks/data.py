"""Synthetic sentiment-like token data: a sequence's label is whether it holds more "positive" tokens
(ids 3..9) than "negative" ones (10..16). Deterministic in the seed; no download."""
import numpy as np
import torch
from torch.utils.data import TensorDataset, random_split


def make_dataset(n=512, seq_len=16, vocab_size=32, seed=0):
    rng = np.random.default_rng(seed)
    tokens = rng.integers(3, vocab_size, size=(n, seq_len))
    positive = ((tokens >= 3) & (tokens <= 9)).sum(1)
    negative = ((tokens >= 10) & (tokens <= 16)).sum(1)
    labels = (positive > negative).astype(np.int64)
    return TensorDataset(torch.from_numpy(tokens), torch.from_numpy(labels))


def train_val_split(dataset, val_fraction=0.2, seed=0):
    n_val = int(len(dataset) * val_fraction)
    return random_split(dataset, [len(dataset) - n_val, n_val], generator=torch.Generator().manual_seed(seed))
