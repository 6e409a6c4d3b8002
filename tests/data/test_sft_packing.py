"""Packing: position_ids restart per sample, segment_ids 1, 2, .. (0 on padding), and the packed rows hold
exactly the (input, label) pairs of the samples run unpacked; no label crosses a sample boundary."""

from __future__ import annotations

import numpy as np
import pytest
from sft_common import TINY_MODEL

from core.data.sft import Settings, prepare_sft
from core.data.sft.dataset import SFTData
from core.data.sft.packing import pack_rows, padded_row
from core.errors import DataError
from conftest import REPO

DATA = REPO / "examples" / "sft" / "tiny_sft.jsonl"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    pytest.importorskip("transformers")
    root = tmp_path_factory.mktemp("pack")
    out = {}
    for kind, kw in {"plain": {}, "pack": {"pack": True}, "neat": {"neat_pack": True}}.items():
        row_len = 256 if kw else 96  # packed rows hold ~3 samples of <= 96 positions
        settings = Settings(tokenizer=str(TINY_MODEL), template="qwen", cutoff_len=97, seq_len=row_len if kw else 0,
                            **kw)
        prepare_sft(str(DATA), root / kind, settings, progress=False, log=lambda *a: None)
        out[kind] = SFTData(root / kind, seq_len=row_len, batch_size=4, val_fraction=0.1, seed=0)
    return out


def test_pack_rows_fills_rows_without_overflow_and_uses_every_sample_once():
    rng = np.random.default_rng(0)
    need = rng.integers(1, 50, size=300)
    rows = pack_rows(need, row_len=64)
    members = np.concatenate(rows)
    assert sorted(members.tolist()) == list(range(300))
    assert all(need[r].sum() <= 64 for r in rows)
    assert len(rows) <= int(np.ceil(need.sum() / 64) * 1.15)  # best-fit-decreasing is near the bound
    assert [r.tolist() for r in rows] == [r.tolist() for r in pack_rows(need, row_len=64)]  # deterministic
    with pytest.raises(ValueError):
        pack_rows(np.array([65]), row_len=64)


def test_neat_packed_rows_hold_exactly_the_unpacked_samples(prepared):
    data, plain = prepared["neat"], prepared["plain"]
    assert data.meta["num_samples"] == plain.meta["num_samples"]
    seen = []
    for unit in range(int(data.pack["rows"])):
        row = data._row(unit)
        members = data.rows[data.row_offsets[unit]:data.row_offsets[unit + 1]]
        seg, pos = row["segment_ids"], row["position_ids"]
        end = 0
        for k, i in enumerate(members, 1):
            ids, mask = data.sample(int(i))
            n = len(ids) - 1
            sl = slice(end, end + n)
            assert (seg[sl] == k).all() and (pos[sl] == np.arange(n)).all()
            ref = padded_row(ids, mask, n, data.pad_id)  # the sample alone, unpacked
            np.testing.assert_array_equal(row["input_ids"][sl], ref["input_ids"])
            np.testing.assert_array_equal(row["labels"][sl], ref["labels"])
            assert row["labels"][end + n - 1] in (ids[-1], -100)  # the last label is its own last token
            end += n
            seen.append(int(i))
        assert (seg[end:] == 0).all() and (row["labels"][end:] == -100).all()
        assert (row["attention_mask"][:end] == 1).all() and (row["attention_mask"][end:] == 0).all()
        assert (pos[end:] == np.arange(data.seq_len - end)).all()
    assert sorted(seen) == list(range(data.meta["num_samples"]))
    # the same token pairs as the unpacked samples (prepared separately)
    for i in range(plain.meta["num_samples"]):
        a, b = plain.sample(i), data.sample(i)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_batches_follow_the_contract(prepared):
    for kind, data in prepared.items():
        b = data.train_batch(3, 1)
        keys = {"plain": {"input_ids", "labels", "attention_mask"},
                "pack": {"input_ids", "labels", "attention_mask", "position_ids"},
                "neat": {"input_ids", "labels", "attention_mask", "position_ids", "segment_ids"}}[kind]
        assert set(b) == keys, kind
        assert all(v.shape == (4, data.seq_len) and v.dtype == np.int64 for v in b.values())
        assert (b["labels"][b["attention_mask"] == 0] == -100).all()
        for k, v in data.train_batch(3, 1).items():  # a pure function of (seed, step, micro)
            np.testing.assert_array_equal(v, b[k])
        assert not np.array_equal(data.train_batch(4, 1)["input_ids"], b["input_ids"])
        vals = data.val_batches(2)
        assert len(vals) == 2 and all(set(v) == keys for v in vals)
    assert prepared["neat"].pack["rows"] < prepared["plain"].meta["num_samples"] / 2.5
    assert "neat-packed" in prepared["neat"].describe()


def test_packed_data_refuses_another_seq_len(prepared):
    with pytest.raises(DataError, match="data.seq_len 64 differs from the packed row length 256"):
        SFTData(prepared["neat"].folder, seq_len=64, batch_size=4, val_fraction=0.1, seed=0)
