"""transformers' own modeling source on MindSpore (backends/mindspore/hf_loader.py + compat_hf),
against transformers on torch: tiny random configs made offline, the same weights by Hugging Face
names, fp32, CPU, PyNative.

- logits within relative L2 1e-5 (with a right-padded attention_mask row);
- 10 AdamW steps of Llama: per-step loss within 1e-4 (relative) of torch's;
- a family the compat layer cannot serve yet is a one-line error naming the import.

    .venv/bin/pytest tests/hf/test_hf_mindspore.py
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import needs
from mindspore_fixture import ms  # noqa: F401  (the shared fixture)

BASE = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            vocab_size=300, max_position_embeddings=64)
FAMILIES = {  # model_type: (config class, causal-LM class, config)
    "llama": ("LlamaConfig", "LlamaForCausalLM", BASE),
    "mistral": ("MistralConfig", "MistralForCausalLM", dict(BASE, sliding_window=8)),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", BASE),  # QKV bias
    "qwen3": ("Qwen3Config", "Qwen3ForCausalLM", dict(BASE, head_dim=8)),  # QK norm
    "qwen2_moe": ("Qwen2MoeConfig", "Qwen2MoeForCausalLM",
                  dict(BASE, num_experts=4, num_experts_per_tok=2, moe_intermediate_size=16,
                       shared_expert_intermediate_size=32)),
    "qwen3_moe": ("Qwen3MoeConfig", "Qwen3MoeForCausalLM",
                  dict(BASE, num_experts=4, num_experts_per_tok=2, moe_intermediate_size=16, head_dim=8)),
    "mixtral": ("MixtralConfig", "MixtralForCausalLM", dict(BASE, num_local_experts=4, num_experts_per_tok=2)),
    "gpt2": ("GPT2Config", "GPT2LMHeadModel", dict(n_embd=32, n_layer=2, n_head=4, vocab_size=300, n_positions=64)),
}
LOGITS_TOL, LOSS_TOL = 1e-5, 1e-4


def _pair(ms, model_type):
    """(torch model, MindSpore model with the torch weights), both built from one tiny config."""
    import torch
    import transformers

    from backends.mindspore.hf_loader import load_family

    config_cls, model_cls, cfg = FAMILIES[model_type]
    torch.manual_seed(0)
    theirs = getattr(transformers, model_cls)(getattr(transformers, config_cls)(**cfg))
    ours = getattr(load_family(model_type), model_cls)(getattr(transformers, config_cls)(**cfg))
    weights = theirs.state_dict()
    params = dict(ours.parameters_and_names())
    tied = {k for k in weights if k.endswith("lm_head.weight") and theirs.config.tie_word_embeddings}
    assert set(params) == set(weights) - {k for k in weights if k.endswith("inv_freq")} - tied
    for name, p in params.items():
        p.set_data(ms.Tensor(weights[name].numpy()))
    return theirs, ours


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.parametrize("model_type", sorted(FAMILIES))
def test_logits_match_transformers(ms, model_type):
    import torch

    theirs, ours = _pair(ms, model_type)
    theirs.eval()
    ours.set_train(False)
    ids = np.random.default_rng(0).integers(0, 300, size=(2, 12))
    mask = np.ones((2, 12), dtype=np.int64)
    mask[1, 9:] = 0  # right padding in the second row
    with torch.no_grad():
        expected = theirs(torch.from_numpy(ids), attention_mask=torch.from_numpy(mask), use_cache=False).logits.numpy()
    got = ours(ms.Tensor(ids), attention_mask=ms.Tensor(mask), use_cache=False).logits.asnumpy()
    assert _rel(got, expected) <= LOGITS_TOL


def test_llama_trains_with_torchs_losses(ms):
    import torch
    from mindspore.experimental.optim import AdamW

    theirs, ours = _pair(ms, "llama")
    rng = np.random.default_rng(1)
    pair = [rng.integers(0, 300, size=(2, 12)) for _ in range(2)]
    batches = [pair[i % 2] for i in range(10)]  # two batches in turn: the loss must fall
    t_opt = torch.optim.AdamW(theirs.parameters(), lr=1e-2, weight_decay=0.1)
    params = [p for _, p in ours.parameters_and_names()]
    m_opt = AdamW(params, lr=1e-2, weight_decay=0.1)
    step = ms.value_and_grad(lambda x: ours(x, labels=x, use_cache=False).loss, None, params)
    t_losses, m_losses = [], []
    for ids in batches:
        loss = theirs(torch.from_numpy(ids), labels=torch.from_numpy(ids), use_cache=False).loss
        t_opt.zero_grad()
        loss.backward()
        t_opt.step()
        t_losses.append(loss.item())
        value, grads = step(ms.Tensor(ids))
        m_opt(grads)
        m_losses.append(float(value))
    diffs = [abs(a - b) / abs(a) for a, b in zip(t_losses, m_losses)]
    print(f"llama 10 steps: max rel loss diff {max(diffs):.1e}")
    assert max(diffs) <= LOSS_TOL, (t_losses, m_losses)
    assert m_losses[-1] < m_losses[0]


def test_a_family_without_its_compat_is_a_one_line_error(ms):
    from backends.base import BackendError
    from backends.mindspore.hf_loader import load_family

    with pytest.raises(BackendError, match=r"modeling_bert\.py: cannot import name 'apply_chunking_to_forward'") as e:
        load_family("bert")  # a helper compat_hf does not provide yet
    assert "\n" not in str(e.value)
    with pytest.raises(BackendError, match=r"modeling_falcon\.py: the converter cannot translate") as e:
        load_family("falcon")  # a torch construct the converter reports
    assert "\n" not in str(e.value)
    with pytest.raises(BackendError, match="no modeling file for model_type 'not_a_family'"):
        load_family("not_a_family")


@pytest.mark.parametrize("model_type", [pytest.param(t, marks=[] if t in ("llama", "qwen3_moe") else pytest.mark.slow)
                                        for t in sorted(FAMILIES)])
def test_recipe_from_a_folder_trains_on_both_backends_with_the_same_losses_and_exports(model_type, tmp_path):
    """`model.source: hf:DIR` through core.parity: both backends from the folder's weights, 10 steps; then
    the MindSpore run's checkpoint goes through hf-export and transformers gives MindSpore's logits."""
    needs("mindspore")
    needs("torch")
    from test_hf_export import exported_logits, rel_l2, trained_logits
    from test_hf_torch import save_hf, write_recipe

    from core import checkpoint
    from core.parity.run import run_parity

    save_hf(tmp_path / "hf", model_type)
    report = run_parity(str(write_recipe(tmp_path, tmp_path / "hf", steps=10)), steps=10, out=tmp_path / "parity")
    checks = report["checks"]
    print(f"{model_type}: forward {checks['forward']['rel_l2']:.1e}, losses {checks['losses']['max_rel']:.1e}, "
          f"grads {checks['grads']['per_name'][checks['grads']['worst']]['rel_l2']:.1e}, "
          f"params {checks['params']['per_name'][checks['params']['worst']]['rel_l2']:.1e}, failed {report['failed']}, "
          f"timing {report['timing_s']}")
    assert checks["forward"]["rel_l2"] <= LOGITS_TOL
    assert checks["losses"]["max_rel"] <= LOSS_TOL and len(checks["losses"]["mindspore"]) == 10
    assert report["ok"], report["failed"]
    assert "pynative" in report["devices"]["mindspore"]

    ckpt = tmp_path / "parity/mindspore/checkpoints"
    assert checkpoint.main(["hf-export", str(ckpt), str(tmp_path / "exported")]) == 0
    ours = trained_logits(tmp_path, tmp_path / "hf", ckpt, backend="mindspore")
    err = rel_l2(exported_logits(tmp_path / "exported", model_type), ours)
    print(f"{model_type}: exported MindSpore checkpoint, logits rel L2 {err:.1e}")
    assert err <= LOGITS_TOL


def test_shipped_tiny_qwen_recipe_trains_on_both_backends_with_the_same_losses(tmp_path):
    """examples/hf/tiny_qwen.yaml (the shipped tiny-qwen3 folder), 4 steps per backend, fp32."""
    needs("mindspore")
    from conftest import REPO

    from core.launch import train

    recipe = str(REPO / "examples/hf/tiny_qwen.yaml")
    runs = {b: train(recipe, backend=b, device="cpu", log=lambda *a: None,
                     overrides={"train.steps": 4, "train.eval_every": 0, "train.out_dir": str(tmp_path / b)})
            for b in ("torch", "mindspore")}
    t, m = runs["torch"]["losses"], runs["mindspore"]["losses"]
    assert len(t) == 4 and max(abs(a - b) / a for a, b in zip(t, m)) <= LOSS_TOL, (t, m)
