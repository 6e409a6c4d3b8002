"""Batches are named arrays on both backends: masked labels (-100), token-weighted gradient
accumulation equal to one batch of twice the size, and every model output form the contract allows
(the loss, `(logits, loss)`, a dict or an object with a `loss` field).

Tolerances (fp32, CPU): grad_accum=2 vs one big batch within relative 1e-6 (loss, gradient norm, and
the update of all weights together, which with lr=1e4 and eps=1e3 is 10 x the gradient; each
weight alone within 1e-5); the two backends within relative 1e-5 per step on a small model.
"""

import textwrap

import numpy as np
import pytest

from conftest import REPO, needs
from core.batch import check_batch, concat, loss_tokens, micro_batch_weights

TINY = str(REPO / "examples/llama/tiny.yaml")
SMALL = ["model.config.dim=32", "model.config.n_layers=2", "model.config.hidden_dim=64", "model.config.n_heads=4",
         "model.config.n_kv_heads=2", "data.seq_len=16", "data.batch_size=4"]
ACCUM_RTOL = 1e-6
LR = 1e4


def test_weights_count_the_labels_that_carry_loss():
    a = {"input_ids": np.zeros((2, 4), np.int64), "labels": np.array([[1, 2, -100, -100], [3, -100, -100, -100]])}
    b = {"input_ids": np.zeros((2, 4), np.int64), "labels": np.ones((2, 4), np.int64)}
    assert loss_tokens(a) == 3 and loss_tokens(b) == 8
    assert micro_batch_weights([3, 8]) == pytest.approx([3 / 11, 8 / 11])
    # two ranks: this rank's 3 + 8 labels, the other rank's 11: weights scaled by world size / total
    assert micro_batch_weights([3, 8], world_size=2, all_reduce_mean=lambda x: (x + 11) / 2) == \
        pytest.approx([3 * 2 / 22, 8 * 2 / 22])
    assert loss_tokens({"pixel_values": np.zeros((5, 3, 2, 2), np.float32)}) == 5  # no labels: examples
    with pytest.raises(ValueError, match="all are -100"):
        micro_batch_weights([0, 0])


def test_a_batch_is_a_mapping_of_arrays_with_one_batch_size():
    check_batch({"input_ids": np.zeros((2, 3)), "labels": np.zeros((2, 3))})
    with pytest.raises(ValueError, match="disagree on the batch size"):
        check_batch({"input_ids": np.zeros((2, 3)), "labels": np.zeros((3, 3))})
    with pytest.raises(TypeError, match="keyword-argument name"):
        check_batch({"not a name": np.zeros(2)})


def _masked_batches():
    """Two micro-batches whose prompts (label -100) differ in length, so they hold 40 and 16 loss labels."""
    rng = np.random.default_rng(0)
    out = []
    for prompt in (6, 12):
        ids = rng.integers(0, 256, size=(4, 17), dtype=np.int64)
        labels = ids[:, 1:].copy()
        labels[:, :prompt] = -100
        out.append({"input_ids": ids[:, :-1], "labels": labels})
    assert [loss_tokens(b) for b in out] == [40, 16]
    return out


def _pair(name, extra=()):
    from core.launch import resolve_recipe
    from core.registry import create_backend
    from core.trainer import reference_weights

    # AdamW's first update is lr * g / (|g| + eps): with eps >> |g| it is (lr / eps) * g, the gradient
    # itself (with the usual small eps it is lr * sign(g), which flips on rounding noise where g is ~0);
    # lr / eps = 10 makes the update large next to the weights' fp32 spacing
    r = resolve_recipe(TINY, name, "cpu", SMALL + ["optim.eps=1e3", "optim.weight_decay=0"] + list(extra))
    init = reference_weights(r)
    backends = []
    for _ in range(2):
        b = create_backend(r)
        b.build()
        b.load_state_dict(init)
        backends.append(b)
    return backends


def _rel(a, b):
    return abs(a - b) / abs(b)


@pytest.mark.parametrize("name", ["torch", "mindspore"])
def test_token_weighted_accumulation_equals_one_batch_of_twice_the_size(name):
    needs("torch")
    needs(name)
    extra = ["train.mode=pynative"] if name == "mindspore" else []
    accum, whole = _pair(name, extra)
    w0 = whole.state_dict()
    batches = _masked_batches()
    weights = micro_batch_weights([loss_tokens(b) for b in batches])
    a = accum.train_step(batches, weights, LR)
    b = whole.train_step([concat(batches)], [1.0], LR)
    assert _rel(a.loss, b.loss) <= ACCUM_RTOL and _rel(a.grad_norm, b.grad_norm) <= ACCUM_RTOL
    wa, wb = accum.state_dict(), whole.state_dict()
    moved = [k for k in wb if np.any(wb[k] != w0[k])]
    assert len(moved) > 10
    diff = np.sqrt(sum(np.sum((wa[k].astype(np.float64) - wb[k]) ** 2) for k in moved))
    update = np.sqrt(sum(np.sum((wb[k].astype(np.float64) - w0[k]) ** 2) for k in moved))
    assert diff / update <= ACCUM_RTOL  # the whole gradient vector (measured: torch 3e-7)
    worst = max(np.linalg.norm(wa[k] - wb[k]) / np.linalg.norm(wb[k] - w0[k]) for k in moved)
    assert worst <= 10 * ACCUM_RTOL  # each tensor: fp32 summation order differs (8 rows vs 2 x 4)
    # the plain mean of the two micro-batch means is another objective: the test can tell them apart
    naive, _ = _pair(name, extra)
    assert _rel(naive.train_step(batches, [0.5, 0.5], LR).loss, b.loss) > 1e-3


OUTPUTS = '''
import collections
import dataclasses

import torch
import torch.nn as nn
import torch.nn.functional as F

Named = collections.namedtuple("Named", ["loss", "logits"])


@dataclasses.dataclass
class Output:
    loss: torch.Tensor = None
    logits: torch.Tensor = None


class Tagger(nn.Module):
    """Per-token classifier returning its loss in the form `kind` says."""

    def __init__(self, kind="loss", vocab_size=256, dim=16):
        super().__init__()
        self.kind = kind
        self.emb = nn.Embedding(vocab_size, dim)
        self.head = nn.Linear(dim, vocab_size)

    def forward(self, input_ids, labels=None, attention_mask=None):
        logits = self.head(self.emb(input_ids))  # (B, T, V)
        if labels is None:
            return logits
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1))
        if self.kind == "tuple":
            return logits, loss
        if self.kind == "dict":
            return {"loss": loss, "logits": logits}
        if self.kind == "named":
            return Named(loss, logits)
        if self.kind == "object":
            return Output(loss=loss, logits=logits)
        return loss
'''


def _tagger(tmp_path, kind):
    (tmp_path / "tagger.py").write_text(textwrap.dedent(OUTPUTS))
    recipe = tmp_path / "tagger.yaml"
    recipe.write_text(f"model: {{source: tagger.py:Tagger, config: {{kind: {kind}}}}}\n"
                      "data: {seq_len: 16, batch_size: 4}\ntrain: {steps: 4, log_every: 0, eval_batches: 1}\n")
    return str(recipe)


def _losses(recipe, tmp_path, name, mode="graph"):
    from core.launch import train

    return np.array(train(recipe, backend=name, device="cpu", log=lambda *a: None,
                          overrides={"train.out_dir": str(tmp_path / f"{name}-{mode}"), "train.mode": mode})["losses"])


@pytest.mark.parametrize("kind", ["loss", "tuple", "dict", "named", "object"])
def test_every_model_output_form_trains_the_same_on_both_backends(tmp_path, kind):
    needs("torch")
    needs("mindspore")
    recipe = _tagger(tmp_path, kind)
    t = _losses(recipe, tmp_path, "torch")
    # MindSpore's graph mode takes the loss from a tensor, tuple or dict; named tuples and objects run
    # in PyNative (graph mode refuses them: see the next test)
    m = _losses(recipe, tmp_path, "mindspore", "pynative" if kind in ("named", "object") else "graph")
    assert len(t) == 4 and np.max(np.abs(m - t) / t) <= 1e-5


@pytest.mark.parametrize("kind", ["named", "object"])
def test_graph_mode_refuses_an_output_form_it_would_train_wrongly(tmp_path, kind):
    """MindSpore 2.10 graph mode differentiates a loss inside a named tuple or dataclass to zero, silently:
    the backend stops with a one-line error before the first compiled step instead."""
    needs("torch")
    needs("mindspore")
    from backends.base import BackendError

    with pytest.raises(BackendError, match=r"returns its loss in a (Named|Output); .*train.mode=pynative"):
        _losses(_tagger(tmp_path, kind), tmp_path, "mindspore")
