"""Packed rows on our own example Llama (examples/llama/model.py), through both backends as the trainer
uses them (registry backends, batches as keyword arguments; the torch source converted for MindSpore,
its training steps compiled in graph mode, train.mode's default; probes run eagerly): neat packing
(position_ids + segment_ids) equals the same samples unpacked, plain packing (no segment_ids) does not.
Samples are built by hand per the batch contract (tests/packed_rows.py).

Measured (fp32, CPU): loss |neat-packed - unpacked| 0, per-sample logits equal (0) on each backend;
10 AdamW steps within 1e-6 per step; MindSpore vs torch 5e-7 (relative); plain packing moves the loss
by 3.7e-3. Asserted: 1e-5 (packed vs unpacked), 1e-4 relative (backends), > 1e-4 (plain packing).

    .venv/bin/pytest tests/backends/test_llama_packing.py
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import REPO, needs
from packed_rows import packed, per_sample, per_sample_unpacked, samples, unpacked

TOL = 1e-5  # fp32: |loss| and max |logits| packed vs unpacked, per-step losses over 10 steps
CROSS = 1e-4  # plain packing must move the loss by more than this
BACKENDS_TOL = 1e-4  # MindSpore vs torch, relative
SEQ = 16
SMALL = ["model.config.vocab_size=256", "model.config.dim=32", "model.config.n_layers=2", "model.config.n_heads=4",
         "model.config.n_kv_heads=2", "model.config.hidden_dim=64", "model.config.max_seq_len=32", "device=cpu",
         "train.clip_grad_norm=0", "optim.lr=3.0e-3"]
ITEMS = samples(vocab=256)  # 8 + 4 + 11 + 6 + 5 shifted positions, prompts masked
ROWS = [[0, 1], [2, 4], [3]]
STEP_ITEMS = [samples(vocab=256, seed=1), samples(lengths=(7, 10, 4, 8, 11), vocab=256, seed=2)]
STEP_ROWS = [ROWS, [[0, 1], [2, 3], [4]]]


def _backend(name, weights=None):
    from core import registry
    from core.recipe import load_recipe

    backend = registry.create_backend(load_recipe(REPO / "examples/llama/tiny.yaml", SMALL + [f"backend={name}"]))
    backend.build()
    if weights is not None:
        backend.load_state_dict(weights)
    return backend


@pytest.fixture(scope="module")
def torch_backend():
    needs("torch")
    return _backend("torch")


def _forward(backend):
    flat = unpacked(ITEMS, SEQ)
    neat, where = packed(ITEMS, ROWS, SEQ)
    plain, _ = packed(ITEMS, ROWS, SEQ, neat=False)
    probes = {k: backend.probe(b) for k, b in (("unpacked", flat), ("neat", neat), ("plain", plain))}
    bare = backend.probe({"input_ids": flat["input_ids"], "labels": flat["labels"]})  # the call as before
    a, b = per_sample_unpacked(probes["unpacked"].output, ITEMS), per_sample(probes["neat"].output, where)
    logits = max(float(np.abs(a[i] - b[i]).max()) for i in a)
    return probes, bare, logits


def _check_forward(name, probes, bare, logits):
    loss = {k: p.loss for k, p in probes.items()}
    print(f"{name} example llama: loss unpacked {loss['unpacked']:.7f}, neat-packed {loss['neat']:.7f} "
          f"(|d| {abs(loss['neat'] - loss['unpacked']):.1e}), without segment_ids |d| "
          f"{abs(loss['plain'] - loss['unpacked']):.1e}; per-sample logits max |d| {logits:.1e}")
    assert abs(loss["neat"] - loss["unpacked"]) <= TOL and logits <= TOL
    assert abs(loss["plain"] - loss["unpacked"]) > CROSS  # attention crosses samples without segment_ids
    assert abs(bare.loss - loss["unpacked"]) <= TOL  # right padding: the mask changes no real token
    grads = probes["neat"].grads
    worst = max(float(np.abs(grads[n] - g).max()) for n, g in probes["unpacked"].grads.items())
    assert worst <= TOL, worst


def test_neat_packing_equals_unpacked_on_torch(torch_backend):
    _check_forward("torch", *_forward(torch_backend))


def test_position_ids_counting_up_change_nothing(torch_backend):
    """The rotary tables indexed by position_ids 0..T-1 are the plain path's tables."""
    flat = unpacked(ITEMS, SEQ)
    with_pos = dict(flat, position_ids=np.broadcast_to(np.arange(SEQ), flat["input_ids"].shape).copy())
    a, b = torch_backend.probe(flat), torch_backend.probe(with_pos)
    assert np.abs(a.output - b.output).max() <= 1e-6 and abs(a.loss - b.loss) <= 1e-6


def _steps(backend, kind, steps=10):
    if kind == "unpacked":
        batches = [unpacked(items, SEQ) for items in STEP_ITEMS]
    else:
        batches = [packed(items, rows, SEQ)[0] for items, rows in zip(STEP_ITEMS, STEP_ROWS)]
    return [backend.train_step([batches[i % 2]], [1.0], lr=3e-3).loss for i in range(steps)]


def test_ten_steps_neat_packed_equal_unpacked_on_torch(torch_backend):
    init = torch_backend.state_dict()
    runs = {kind: _steps(_backend("torch", init), kind) for kind in ("unpacked", "neat")}
    diff = max(abs(a - b) for a, b in zip(runs["unpacked"], runs["neat"]))
    print(f"torch example llama 10 steps: max |loss d| neat vs unpacked {diff:.1e}")
    assert diff <= TOL and runs["neat"][-1] < runs["neat"][0]


@pytest.fixture(scope="module")
def ms_backend(torch_backend):
    needs("mindspore")
    return _backend("mindspore", torch_backend.state_dict())


@pytest.mark.mindspore
def test_neat_packing_equals_unpacked_on_mindspore(ms_backend, torch_backend):
    probes, bare, logits = _forward(ms_backend)
    _check_forward("mindspore", probes, bare, logits)
    t_neat = torch_backend.probe(packed(ITEMS, ROWS, SEQ)[0])
    assert abs(probes["neat"].loss - t_neat.loss) <= BACKENDS_TOL * t_neat.loss


@pytest.mark.mindspore
def test_ten_steps_neat_packed_equal_unpacked_on_mindspore(ms_backend, torch_backend):
    init = torch_backend.state_dict()
    runs = {kind: _steps(_backend("mindspore", init), kind) for kind in ("unpacked", "neat")}
    t_neat = _steps(_backend("torch", init), "neat")
    diff = max(abs(a - b) for a, b in zip(runs["unpacked"], runs["neat"]))
    backends = max(abs(a - b) / b for a, b in zip(runs["neat"], t_neat))
    print(f"mindspore (graph mode) example llama 10 steps: max |loss d| neat vs unpacked {diff:.1e}; "
          f"vs torch max rel {backends:.1e}")
    assert diff <= TOL and backends <= BACKENDS_TOL
