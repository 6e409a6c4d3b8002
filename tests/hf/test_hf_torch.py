"""`model.source: hf:DIR` on the torch backend and `python -m core.checkpoint hf-info`, on real folders: tiny
random models of every SUPPORTED family made offline with transformers and `save_pretrained` (also sharded,
also bf16). Our model's logits and loss equal transformers' own (fp32, within 1e-6); recipes train from the
folders and checkpoint under Hugging Face names; every bad folder is one line and exit status 2.

    .venv/bin/pytest tests/hf
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, needs
from core import hfmodel
from core.errors import RecipeError
from core.recipe import load_recipe

TOL = 1e-6  # fp32: max abs difference of logits and of the loss
LAYERS = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
              vocab_size=300, max_position_embeddings=128)
MOE = dict(num_experts_per_tok=2, output_router_logits=True)  # the router aux loss is part of the loss
FAMILIES = {  # model_type -> (config class, config)
    "llama": ("LlamaConfig", LAYERS),
    "mistral": ("MistralConfig", dict(LAYERS, sliding_window=8)),  # shorter than the sequences: it masks
    "qwen2": ("Qwen2Config", LAYERS),
    "qwen3": ("Qwen3Config", dict(LAYERS, head_dim=8)),
    "gpt2": ("GPT2Config", dict(n_embd=32, n_layer=2, n_head=4, vocab_size=300, n_positions=128, bos_token_id=0,
                                eos_token_id=0, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)),  # comparable runs
    "mixtral": ("MixtralConfig", dict(LAYERS, num_local_experts=4, **MOE)),
    "qwen2_moe": ("Qwen2MoeConfig", dict(LAYERS, num_experts=4, moe_intermediate_size=32,
                                         shared_expert_intermediate_size=32, **MOE)),
    "qwen3_moe": ("Qwen3MoeConfig", dict(LAYERS, head_dim=8, num_experts=4, moe_intermediate_size=32, **MOE)),
}
RECIPE = """\
model:
  source: hf:{folder}
data: {{seq_len: 32, batch_size: 4}}
optim: {{lr: 3.0e-3}}
schedule: {{kind: constant}}  # the same lr whatever train.steps, for the resume test
train: {{steps: {steps}, log_every: 1, out_dir: {out}}}
"""


def save_hf(path: Path, model_type: str, shard: str | None = None, dtype: str = "float32", seed: int = 0):
    """A tiny random model of `model_type` saved with save_pretrained; returns it (fp32, eval mode)."""
    needs("transformers")
    import torch
    import transformers

    config_class, cfg = FAMILIES[model_type]
    torch.manual_seed(seed)
    config = getattr(transformers, config_class)(**cfg)
    model = getattr(transformers, hfmodel.SUPPORTED[model_type].model_class)(config).eval()
    with torch.no_grad():  # non-trivial norm weights, so a norm that is not loaded would show
        for name, p in model.named_parameters():
            if p.ndim == 1 and ("norm" in name or ".ln_" in name):
                p.copy_(1 + 0.1 * torch.randn_like(p))
    model.to(getattr(torch, dtype)).save_pretrained(path, **({"max_shard_size": shard} if shard else {}))
    return model.float()


def write_recipe(tmp_path: Path, folder: Path, steps: int = 6, name: str = "ft") -> Path:
    out = tmp_path / f"run-{name}"
    recipe = tmp_path / f"{name}.yaml"
    recipe.write_text(RECIPE.format(folder=folder.relative_to(tmp_path), steps=steps, out=out))
    return recipe


def hf_info(folder) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core.checkpoint", "hf-info", str(folder)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_every_supported_family_is_tested_here():
    text = {t for t, f in hfmodel.SUPPORTED.items() if not f.vision}  # image-text families: tests/vlm
    assert set(FAMILIES) == text and {"llava", "qwen2_vl"} <= set(hfmodel.SUPPORTED) - text


# ---------------------------------------------------------------- the model: transformers' own numbers


@pytest.mark.parametrize("model_type", sorted(FAMILIES))
def test_logits_and_loss_equal_transformers(tmp_path, model_type):
    import torch

    from core import registry

    ref = save_hf(tmp_path / model_type, model_type)
    backend = registry.create_backend(load_recipe(write_recipe(tmp_path, tmp_path / model_type), ["device=cpu"]))
    backend.build()
    ids = np.random.default_rng(1).integers(0, 300, size=(2, 17), dtype=np.int64)
    x, y = ids[:, :-1], ids[:, 1:].copy()
    y[:, -1] = -100  # transformers scores x against x shifted left: the last position has no label
    probe = backend.probe({"input_ids": x, "labels": y})
    with torch.no_grad():
        logits = ref(input_ids=torch.from_numpy(x)).logits.numpy()
        loss = float(ref(input_ids=torch.from_numpy(x), labels=torch.from_numpy(x)).loss)  # incl. MoE aux loss
    assert probe.output.shape == (2, 16, 300)
    assert np.abs(probe.output - logits).max() <= TOL
    assert abs(probe.loss - loss) <= TOL, (probe.loss, loss)
    names = {k for k, _ in ref.named_parameters()}
    assert set(probe.grads) == names  # Hugging Face names, every parameter trained


# ---------------------------------------------------------------- recipes


def test_recipe_trains_from_a_sharded_folder_and_checkpoints_hf_names(tmp_path):
    from safetensors import safe_open

    folder = tmp_path / "llama-sharded"
    save_hf(folder, "llama", shard="40KB")
    index = json.loads((folder / hfmodel.INDEX).read_text())
    assert len(set(index["weight_map"].values())) > 1
    recipe = write_recipe(tmp_path, folder)
    proc = subprocess.run([sys.executable, "-m", "core.launch", str(recipe), "--device", "cpu", "--no-progress"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "init: Hugging Face weights from llama-sharded" in proc.stdout
    losses = [json.loads(line)["loss"] for line in (tmp_path / "run-ft/metrics.jsonl").read_text().splitlines()]
    assert len(losses) == 6 and all(np.isfinite(losses)) and losses[-1] < losses[0], losses
    (ckpt,) = (tmp_path / "run-ft/checkpoints").glob("step_*/model.safetensors")
    with safe_open(str(ckpt), "np") as fh:
        assert set(fh.keys()) == set(index["weight_map"])  # export is a copy


@pytest.mark.parametrize("model_type", ["qwen2", "mistral"])
def test_recipe_trains_and_resumes_bit_identically(tmp_path, model_type):
    from core.launch import train

    save_hf(tmp_path / model_type, model_type)
    recipe = write_recipe(tmp_path, tmp_path / model_type, steps=5)
    full = train(str(recipe), device="cpu", overrides={"train.out_dir": str(tmp_path / "full")}, log=lambda *a: None)
    assert all(np.isfinite(full["losses"])) and full["losses"][-1] < full["losses"][0], full["losses"]
    over = {"train.out_dir": str(tmp_path / "split")}
    train(str(recipe), device="cpu", overrides={**over, "train.steps": 3}, log=lambda *a: None)
    rest = train(str(recipe), device="cpu", overrides={**over, "checkpoint.resume": "auto"}, log=lambda *a: None)
    assert rest["resumed_from"] and rest["losses"] == full["losses"][3:]


def test_model_config_agrees_with_config_json_or_is_a_one_line_error(tmp_path):
    from core import registry

    save_hf(tmp_path / "llama", "llama")
    recipe = write_recipe(tmp_path, tmp_path / "llama")
    load_recipe(recipe, ["model.config.hidden_size=32", "model.config.rms_norm_eps=1e-6"])  # the same: fine
    with pytest.raises(RecipeError) as e:
        load_recipe(recipe, ["model.config.hidden_size=64"])
    assert str(e.value) == (f"recipe key 'model.config.hidden_size' is 64, but {tmp_path / 'llama/config.json'} has "
                            "hidden_size: 32; drop the key or make them agree")
    with pytest.raises(RecipeError, match=r"^recipe key 'model.config.hiden_size' is not a setting of LlamaConfig"):
        registry.create_backend(load_recipe(recipe, ["model.config.hiden_size=64", "device=cpu"])).build()
    # a setting config.json leaves out is applied
    cfg = json.loads((tmp_path / "llama/config.json").read_text())
    del cfg["attention_dropout"]
    (tmp_path / "llama/config.json").write_text(json.dumps(cfg))
    model = hfmodel.build_torch_model(load_recipe(recipe, ["model.config.attention_dropout=0.25"]))
    assert model.config.attention_dropout == 0.25


def test_recipe_errors_for_hf_sources(tmp_path):
    save_hf(tmp_path / "llama", "llama")
    recipe = write_recipe(tmp_path, tmp_path / "llama")
    cases = {
        'model.source="hf:"': "recipe key 'model.source' 'hf:' needs a folder, e.g. 'hf:Qwen2.5-0.5B/'",
        "model.source=hf:nowhere": f"recipe key 'model.source': {tmp_path / 'nowhere'}: no such folder (expected a "
                                   "Hugging Face model folder with config.json)",
        "model.init_from=hf:llama": "recipe key 'model.init_from': hf: sources load their weights from the folder",
    }
    for override, message in cases.items():
        with pytest.raises(RecipeError) as e:
            load_recipe(recipe, [override])
        assert str(e.value).startswith(message) and "\n" not in str(e.value)
    cfg = json.loads((tmp_path / "llama/config.json").read_text())
    (tmp_path / "llama/config.json").write_text(json.dumps({**cfg, "architectures": ["LlamaForTokenClassification"]}))
    with pytest.raises(RecipeError, match=r"architectures\[0\] is 'LlamaForTokenClassification', but mindbridge "
                                          r"trains LlamaForCausalLM .*; supported: gpt2 \(GPT2LMHeadModel\), llama"):
        load_recipe(recipe)


# ---------------------------------------------------------------- hf-info


def test_hf_info_describes_a_folder(tmp_path):
    folder = tmp_path / "llama-sharded"
    model = save_hf(folder, "llama", shard="40KB")
    proc = hf_info(folder)
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(": ", 1) for line in proc.stdout.splitlines())
    n = sum(p.numel() for p in model.parameters())
    assert lines["model_type"] == "llama" and lines["architecture"] == "LlamaForCausalLM"
    assert lines["parameters"].startswith(f"{n:,} (safetensors headers, ")
    assert lines["dtype"] == "float32 (tensors: float32 x21; config.json: float32)"
    assert lines["weights"].startswith(f"{hfmodel.INDEX} -> ") and "model-00001-of-" in lines["weights"]
    assert lines["tokenizer"] == "none" and lines["generation"] == "generation_config.json"
    assert lines["torch"].startswith("supported (LlamaForCausalLM; verified: ")
    assert lines["mindspore"] == hfmodel.MINDSPORE


def test_hf_info_bf16_tied_and_unsupported(tmp_path):
    folder = tmp_path / "gpt2"
    model = save_hf(folder, "gpt2", dtype="bfloat16")
    (folder / "tokenizer.json").write_text("{}")
    proc = hf_info(folder)
    lines = dict(line.split(": ", 1) for line in proc.stdout.splitlines())
    n = sum(p.numel() for p in model.parameters())  # the tied head is stored and counted once
    assert lines["parameters"].startswith(f"{n:,} ") and lines["dtype"].startswith("bfloat16 (")
    assert lines["weights"] == "model.safetensors" and lines["tokenizer"] == "tokenizer.json"
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, "model_type": "bert", "architectures": ["BertModel"]}))
    proc = hf_info(folder)
    assert proc.returncode == 0
    assert "torch: not supported: model_type 'bert' (BertModel) is not supported; supported: gpt2" in proc.stdout


def _bad(folder: Path, case: str) -> str:
    """Break a copy of a good folder; returns the text its one-line error must contain."""
    cfg_file, index = folder / "config.json", folder / hfmodel.INDEX
    cfg = json.loads(cfg_file.read_text())
    if case == "no folder":
        shutil.rmtree(folder)
        return f"{folder}: no such folder"
    if case == "no config.json":
        cfg_file.unlink()
        return f"{folder}: no config.json"
    if case == "config.json not JSON":
        cfg_file.write_text('{"model_type": "llama",')
        return f"{cfg_file}: not valid JSON (line 1 column 24"
    if case in ("no architectures", "no model_type"):
        del cfg[case[3:]]
        cfg_file.write_text(json.dumps(cfg))
        return f"{cfg_file}: no '{case[3:]}' key"
    if case == "no weights":
        for f in folder.glob("model*"):
            f.unlink()
        return f"{folder}: no weights: neither model.safetensors nor {hfmodel.INDEX}"
    if case == "missing shard":
        weight_map = json.loads(index.read_text())["weight_map"]
        shard = sorted(set(weight_map.values()))[-1]
        (folder / shard).unlink()
        tensor = next(k for k, v in weight_map.items() if v == shard)
        return f"{index}: weight_map['{tensor}'] names '{shard}', which is not in {folder}"
    raise AssertionError(case)


@pytest.fixture(scope="module")
def good_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("good") / "llama"
    save_hf(folder, "llama", shard="40KB")
    return folder


@pytest.mark.parametrize("case", ["no folder", "no config.json", "config.json not JSON", "no architectures",
                                  "no model_type", "no weights", "missing shard"])
def test_bad_folders_are_one_line_errors(tmp_path, good_folder, case):
    folder = tmp_path / "broken"
    shutil.copytree(good_folder, folder)
    expected = _bad(folder, case)
    proc = hf_info(folder)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: "), proc.stderr
    assert expected in proc.stderr, proc.stderr


def test_data_vocabulary_larger_than_config_json_is_a_one_line_error_before_building(tmp_path):
    """Byte data (256 ids) into a folder whose config.json has vocab_size 200: refused at the start of the run."""
    import transformers

    from core.launch import train

    folder = tmp_path / "small-vocab"
    transformers.LlamaForCausalLM(transformers.LlamaConfig(**dict(LAYERS, vocab_size=200))).save_pretrained(folder)
    with pytest.raises(RecipeError) as e:
        train(str(write_recipe(tmp_path, folder)), device="cpu", log=lambda *a: None)
    assert str(e.value) == (f"{folder.resolve() / 'config.json'} has vocab_size: 200, smaller than the vocabulary of "
                            "data.source 'embedded' (256 token ids)")
