"""`model.freeze` on both backends: frozen parameters get no gradient and no optimizer state.

Real runs (torch, MindSpore PyNative/graph, fp32, CPU) of a tiny Hugging Face Llama folder and of our
own examples/llama model: after the steps the frozen weights are bit-identical to the start, the
optimizer state has no entry for them, the trainable counts agree, and the losses agree within 1e-4
(relative). The name matching (patterns, module prefixes, the multimodal convenience keys) is tested
without a framework.

    CI=true .venv/bin/python -m pytest -q tests/finetune/test_freeze.py
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from conftest import REPO, needs
from core.errors import RecipeError
from core.finetune.freeze import frozen_names
from core.recipe import recipe_from_dict

sys.path.insert(0, str(REPO / "tests" / "hf"))
LOSS_TOL = 1e-4  # fp32, relative, per step

# Parameter names of transformers 5.24's classes (from a tiny config's named_parameters(), abridged)
QWEN2_VL = ["model.visual.patch_embed.proj.weight", "model.visual.blocks.0.attn.qkv.weight",
            "model.visual.merger.ln_q.weight", "model.visual.merger.mlp.0.weight",
            "model.language_model.embed_tokens.weight", "model.language_model.layers.0.self_attn.q_proj.weight",
            "model.language_model.norm.weight", "lm_head.weight"]
LLAVA = ["model.vision_tower.embeddings.patch_embedding.weight",
         "model.vision_tower.encoder.layers.0.self_attn.q_proj.weight",
         "model.multi_modal_projector.linear_1.weight", "model.multi_modal_projector.linear_2.bias",
         "model.language_model.layers.0.mlp.up_proj.weight", "model.language_model.norm.weight", "lm_head.weight"]


def test_patterns_module_prefixes_and_multimodal_keys():
    names = ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.up_proj.weight",
             "model.layers.10.mlp.up_proj.weight", "lm_head.weight"]
    assert frozen_names(names, ["model.embed_tokens"]) == {"model.embed_tokens.weight"}
    assert frozen_names(names, ["model.layers.1.*"]) == {"model.layers.1.mlp.up_proj.weight"}  # not layers.10
    assert frozen_names(names, ["*.mlp.*"]) == {names[2], names[3]}
    assert frozen_names(QWEN2_VL, ["vision_tower"]) == set(QWEN2_VL[:2])  # the merger is the projector
    assert frozen_names(QWEN2_VL, ["projector"]) == set(QWEN2_VL[2:4])
    assert frozen_names(QWEN2_VL, ["language_model"]) == set(QWEN2_VL[4:])
    assert frozen_names(LLAVA, ["vision_tower"]) == set(LLAVA[:2])
    assert frozen_names(LLAVA, ["multi_modal_projector"]) == set(LLAVA[2:4])
    assert frozen_names(LLAVA, ["language_model"]) == set(LLAVA[4:])
    with pytest.raises(RecipeError, match=r"^recipe key 'model.freeze\[1\]' \('model.layer.0.\*'\) matches no parameter"):
        frozen_names(names, ["lm_head", "model.layer.0.*"])


def _vlms():
    import transformers as T

    text = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                vocab_size=300)
    qwen = T.Qwen2VLConfig(text_config=dict(text, rope_scaling={"type": "mrope", "mrope_section": [1, 1, 2]}),
                           vision_config=dict(depth=1, embed_dim=32, hidden_size=32, num_heads=4, mlp_ratio=2))
    llava = T.LlavaConfig(text_config=dict(text, model_type="llama"),
                          vision_config=dict(model_type="clip_vision_model", hidden_size=32, intermediate_size=64,
                                             num_hidden_layers=1, num_attention_heads=4, image_size=28, patch_size=14))
    return {"qwen2_vl": T.Qwen2VLForConditionalGeneration(qwen), "llava": T.LlavaForConditionalGeneration(llava)}


def test_multimodal_keys_split_transformers_vlm_classes_into_three_parts():
    """Tiny Qwen2-VL and LLaVA built by transformers: the three keys partition every parameter name."""
    needs("transformers")
    for kind, model in _vlms().items():
        names = [n for n, _ in model.named_parameters()]
        parts = [frozen_names(names, [k]) for k in ("vision_tower", "projector", "language_model")]
        assert all(parts) and sum(map(len, parts)) == len(names) and set().union(*parts) == set(names), kind
        assert all("merger" in n or "multi_modal_projector" in n for n in parts[1]), kind


def test_recipe_checks_are_one_line():
    base = {"model": {"source": "model.py:Llama"}}
    with pytest.raises(RecipeError, match=r"recipe key 'model.freeze\[0\]' is empty"):
        recipe_from_dict({"model": {**base["model"], "freeze": [" "]}})
    with pytest.raises(RecipeError, match=r"recipe key 'model.freeze' must be a list of strings"):
        recipe_from_dict({"model": {**base["model"], "freeze": "tok_emb"}})
    assert recipe_from_dict(base, ["model.freeze=[tok_emb, 'layers.0.*']"]).model.freeze == ["tok_emb", "layers.0.*"]


RECIPE = """\
model:
  source: {source}
  config: {config}
  freeze: {freeze}
data: {{seq_len: 32, batch_size: 4}}
optim: {{lr: 3.0e-3}}
train: {{steps: {steps}, log_every: 1, mode: {mode}}}
"""


def _run_both(tmp_path, source, config, freeze, steps, mode="graph"):
    from core.checkpoint import load_checkpoint
    from core.launch import train

    recipe = tmp_path / "freeze.yaml"
    recipe.write_text(RECIPE.format(source=source, config=config, freeze=freeze, steps=steps, mode=mode))
    lines, out = [], {}
    for b in ("torch", "mindspore"):
        s = train(str(recipe), backend=b, device="cpu", log=lines.append, progress=False,
                  overrides={"train.out_dir": str(tmp_path / b)})
        weights, optim, _ = load_checkpoint(tmp_path / b / "checkpoints" / f"step_{steps:08d}")
        out[b] = (s, weights, optim)
    headers = [line.split(" | ")[2] for line in lines if line.startswith("mindbridge:")]
    return out, headers


def _check(out, headers, start, frozen, steps):
    (ts, tw, to), (ms_, mw, mo) = out["torch"], out["mindspore"]
    assert headers[0] == headers[1] == f"{ts['trainable_parameters']:,} trainable / {ts['num_parameters']:,} params"
    assert ts["trainable_parameters"] == ms_["trainable_parameters"] < ts["num_parameters"] == ms_["num_parameters"]
    for weights, optim in ((tw, to), (mw, mo)):
        for name in frozen:
            assert np.array_equal(weights[name], start[name]), name  # bit-identical
            assert f"exp_avg/{name}" not in optim and f"exp_avg_sq/{name}" not in optim
        trained = [n for n in start if n not in frozen]
        assert trained and all(f"exp_avg/{n}" in optim for n in trained)
        assert any(not np.array_equal(weights[n], start[n]) for n in trained)
    losses = list(zip(ts["losses"], ms_["losses"]))
    worst = max(abs(a - b) / abs(a) for a, b in losses)
    print(f"freeze: {headers[0]}, loss max rel {worst:.1e} over {steps} steps")
    assert len(losses) == steps and worst <= LOSS_TOL, losses


def test_freeze_hf_folder_on_both_backends(tmp_path):
    needs("mindspore")
    needs("torch")
    from test_hf_torch import save_hf

    model = save_hf(tmp_path / "hf", "llama")
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    out, headers = _run_both(tmp_path, "hf:hf", "{}", "[model.embed_tokens, 'model.layers.0.*']", steps=4)
    frozen = {n for n in start if n.startswith(("model.embed_tokens.", "model.layers.0."))}
    _check(out, headers, start, frozen, steps=4)


def test_freeze_own_example_model_on_both_backends(tmp_path):
    """examples/llama/model.py (tied to nothing), MindSpore in graph mode from torch's seeded init."""
    needs("mindspore")
    needs("torch")
    import torch

    from backends.torch_npu.importer import import_model_class
    from core.modelsource import resolve_model_source

    config = dict(vocab_size=256, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, hidden_dim=64, max_seq_len=32)
    torch.manual_seed(0)  # the torch backend's seeded init: the start both runs share
    cls = import_model_class(resolve_model_source(f"{REPO}/examples/llama/model.py:Llama"))
    start = {k: v.detach().numpy().copy() for k, v in cls(**config).state_dict().items()}
    out, headers = _run_both(tmp_path, f"{REPO}/examples/llama/model.py:Llama", config, "[tok_emb, '*.attn.*']",
                             steps=3)
    frozen = {n for n in start if n.startswith("tok_emb.") or ".attn." in n}
    _check(out, headers, start, frozen, steps=3)
