"""torch.utils.data converted (backends/mindspore/compat_data.py, mappings/data.yaml): the same script,
run on torch and converted on MindSpore, yields the same batches (values exact, dtypes by name) for a
map-style Dataset of dicts, a TensorDataset, drop_last, a custom collate_fn, a BatchSampler, an
IterableDataset, batch_size=None, Subset and ConcatDataset; shuffle gives a permutation."""

from __future__ import annotations

import numpy as np
import pytest

from codemods import convert_source
from compat_nn_helpers import ms_env  # noqa: F401 - fixture

SCRIPT = '''
import numpy as np
import torch
from torch.utils.data import BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset, SequentialSampler
from torch.utils.data import Subset, TensorDataset
import torch.utils.data as tud


class Pairs(Dataset):
    def __init__(self, n):
        self.x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": torch.from_numpy(self.x[i]), "y": int(i % 2), "w": float(i) / 2, "name": f"s{i}"}


class Stream(IterableDataset):
    def __iter__(self):
        for i in range(5):
            yield np.full((2,), i, dtype=np.int32), i > 2


def as_lists(batch):
    if isinstance(batch, dict):
        return {k: as_lists(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return [as_lists(v) for v in batch]
    if hasattr(batch, "shape"):
        return [str(batch.dtype).split(".")[-1].lower().replace("bool_", "bool"), np.asarray(batch.tolist()).tolist()]
    return batch


def batches():
    ds = Pairs(5)
    td = TensorDataset(torch.arange(6).float(), torch.arange(6))
    out = {
        "dicts": [as_lists(b) for b in DataLoader(ds, batch_size=2, num_workers=2)],
        "len": [len(DataLoader(ds, batch_size=2)), len(DataLoader(ds, batch_size=2, drop_last=True))],
        "tensors": [as_lists(b) for b in tud.DataLoader(td, batch_size=4, drop_last=True)],
        "collate": [as_lists(b) for b in DataLoader(td, batch_size=3, collate_fn=lambda items: [a for a, _ in items])],
        "sampler": [as_lists(b) for b in DataLoader(td, batch_sampler=BatchSampler(SequentialSampler(td), 4, False))],
        "stream": [as_lists(b) for b in DataLoader(Stream(), batch_size=2)],
        "single": [as_lists(b) for b in DataLoader(td, batch_size=None)][:2],
        "subset": [as_lists(b) for b in DataLoader(ConcatDataset([Subset(td, [5, 1]), td]), batch_size=3)][:2],
        "shuffled": sorted(int(v) for b in DataLoader(td, batch_size=2, shuffle=True) for v in b[1].tolist()),
    }
    return out
'''


def test_converted_data_loading_yields_torchs_batches(ms_env, tmp_path):
    result = convert_source(SCRIPT, "data.py")
    assert not [d for d in result.diagnostics if d.level == "error"], result.diagnostics
    assert "torch" not in result.code.replace("import torch\n", "")
    ns_t: dict = {}
    exec(compile(SCRIPT, "data_torch.py", "exec"), ns_t)
    ns_m: dict = {}
    exec(compile(result.code, "data_ms.py", "exec"), ns_m)
    want, got = ns_t["batches"](), ns_m["batches"]()
    for key in want:
        assert got[key] == want[key], key
    assert got["shuffled"] == list(range(6))


def test_iterable_dataset_refuses_shuffle(ms_env):
    from backends.mindspore.compat_data import DataLoader, IterableDataset

    with pytest.raises(ValueError, match="IterableDataset"):
        DataLoader(IterableDataset(), shuffle=True)
    assert np.array_equal(np.arange(3), np.arange(3))


def test_random_split_partitions_like_torch_and_follows_the_generator(ms_env):
    from backends.mindspore import compat_data as cd

    import torch
    import torch.utils.data as td

    for lengths in ([7, 3], [0.5, 0.3, 0.2], [0.34, 0.33, 0.33]):
        ours = cd.random_split(list(range(10)), lengths, generator=cd.Generator().manual_seed(1))
        theirs = td.random_split(list(range(10)), lengths, generator=torch.Generator().manual_seed(1))
        assert [len(p) for p in ours] == [len(p) for p in theirs]  # torch's rounding of fractions
        assert sorted(i for p in ours for i in p.indices) == list(range(10))
    again = cd.random_split(list(range(10)), [7, 3], generator=cd.Generator().manual_seed(1))
    first = cd.random_split(list(range(10)), [7, 3], generator=cd.Generator().manual_seed(1))
    assert again[0].indices == first[0].indices  # same seed, same split
    with pytest.raises(ValueError, match="Sum of input lengths"):
        cd.random_split(list(range(10)), [4, 4])


def test_subset_random_sampler_permutes_its_indices(ms_env):
    from backends.mindspore import compat_data as cd

    sampler = cd.SubsetRandomSampler([3, 5, 7, 9], generator=cd.Generator().manual_seed(0))
    assert len(sampler) == 4 and sorted(sampler) == [3, 5, 7, 9]
