"""torch.utils.data on MindSpore: Dataset, IterableDataset, TensorDataset, Subset, samplers and a
DataLoader whose batches are MindSpore tensors, for converted training scripts.

`mindspore.dataset.GeneratorDataset(...).batch(n)` has another API (columns, its own workers);
converted scripts keep torch's: `for x, y in DataLoader(ds, batch_size=16, shuffle=True,
drop_last=True, collate_fn=...)`. Batches are collated as torch's default_collate does (tensors and
numpy arrays stacked, Python ints -> int64, floats -> float64, bools -> bool, strings kept in lists,
dicts and tuples collated field by field), into mindspore.Tensor. Loading runs in the main process
(`num_workers` is accepted and ignored: MindSpore tensors are made on the main thread anyway);
`shuffle=True` draws its order from numpy, seeded from `mindspore.get_seed()` when one is set, so the
order differs from torch's (same seed, other generator): compare such runs by loss curves.
"""

from __future__ import annotations

import bisect
import collections.abc
import numbers

import numpy as np

import mindspore

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "Sampler",
           "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "BatchSampler", "DataLoader",
           "default_collate", "Generator", "random_split"]


class Generator:
    """torch.Generator for the data pipeline (random_split, samplers, DataLoader(generator=)): a seed
    for numpy's generator. Tensor ops given `generator=` are not served by it (MindSpore's own
    mindspore.Generator has no CPU kernels in 2.10)."""

    def __init__(self, device="cpu"):
        self._seed = mindspore.get_seed()

    def manual_seed(self, seed):
        self._seed = int(seed)
        return self

    def initial_seed(self):
        return self._seed

    def seed(self):
        self._seed = int(np.random.SeedSequence().entropy % (2**63))
        return self._seed


def _rng(generator):
    return np.random.default_rng(generator.initial_seed() if generator is not None else mindspore.get_seed())


def random_split(dataset, lengths, generator=None):
    """torch.utils.data.random_split: Subsets of a random permutation; `lengths` as counts or fractions
    (torch's rounding: the remainder goes one by one to the first parts). The permutation is numpy's,
    so the split differs from torch's for the same seed."""
    n = len(dataset)
    if lengths and all(0 <= f <= 1 for f in lengths) and abs(sum(lengths) - 1) < 1e-6 and sum(lengths) != n:
        counts = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = _rng(generator).permutation(n).tolist()
    out, start = [], 0
    for length in lengths:
        out.append(Subset(dataset, order[start:start + length]))
        start += length
    return out


class Dataset:
    def __getitem__(self, index):
        raise NotImplementedError

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    def __iter__(self):
        raise NotImplementedError


class TensorDataset(Dataset):
    def __init__(self, *tensors):
        if any(t.shape[0] != tensors[0].shape[0] for t in tensors):
            raise ValueError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class Subset(Dataset):
    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, idx):
        return self.dataset[self.indices[idx]]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    def __init__(self, datasets):
        self.datasets = list(datasets)
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))

    def __len__(self):
        return int(self.cumulative_sizes[-1]) if self.cumulative_sizes else 0

    def __getitem__(self, idx):
        if idx < 0:
            idx += len(self)
        i = bisect.bisect_right(self.cumulative_sizes, idx)
        start = int(self.cumulative_sizes[i - 1]) if i else 0
        return self.datasets[i][idx - start]


class Sampler:
    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source, self.replacement = data_source, replacement
        self._num_samples = num_samples
        self._rng = _rng(generator)

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        if self.replacement:
            return iter(self._rng.integers(0, n, self.num_samples).tolist())
        return iter(self._rng.permutation(n).tolist()[: self.num_samples])

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """torch.utils.data.SubsetRandomSampler: the given indices in a random order (numpy's)."""

    def __init__(self, indices, generator=None):
        self.indices = list(indices)
        self._rng = _rng(generator)

    def __iter__(self):
        return iter([self.indices[i] for i in self._rng.permutation(len(self.indices))])

    def __len__(self):
        return len(self.indices)


class BatchSampler(Sampler):
    def __init__(self, sampler, batch_size, drop_last):
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def default_collate(batch):
    """torch.utils.data.default_collate, producing mindspore.Tensor."""
    elem = batch[0]
    if isinstance(elem, mindspore.Tensor):
        return mindspore.ops.stack(list(batch))
    if isinstance(elem, np.ndarray):
        return mindspore.Tensor(np.stack(batch))
    if isinstance(elem, (bool, np.bool_)):
        return mindspore.Tensor(np.array(batch, dtype=np.bool_))
    if isinstance(elem, np.generic):
        return mindspore.Tensor(np.array(batch))
    if isinstance(elem, numbers.Integral):
        return mindspore.Tensor(np.array(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return mindspore.Tensor(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return type(elem)({key: default_collate([d[key] for d in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple
        return type(elem)(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(e) != len(elem) for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(samples)) for samples in zip(*batch)]
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                    f"found {type(elem)}")


class DataLoader:
    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device=""):
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.num_workers = num_workers
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable and (shuffle or sampler is not None or batch_sampler is not None):
            raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle, sampler and batch_sampler")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if not self._iterable:
            if sampler is None:
                sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
            if batch_sampler is None and batch_size is not None:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn = collate_fn or (default_collate if batch_size is not None or batch_sampler else (lambda x: x))

    def __iter__(self):
        if self._iterable:
            yield from self._iter_iterable()
            return
        if self.batch_sampler is None:  # batch_size=None: one sample at a time
            for idx in self.sampler:
                yield self.collate_fn(self.dataset[idx])
            return
        for indices in self.batch_sampler:
            yield self.collate_fn([self.dataset[i] for i in indices])

    def _iter_iterable(self):
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __len__(self):
        if self._iterable:
            raise TypeError("an IterableDataset's DataLoader has no len()")
        return len(self.batch_sampler) if self.batch_sampler is not None else len(self.sampler)
