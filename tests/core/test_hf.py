"""Hugging Face Llama interchange on real files: a tiny random `LlamaForCausalLM` saved with
`save_pretrained` (sharded, fp32 and bf16) is imported into examples/llama and exported back
bit-identically, and our model's logits match transformers' on torch and on MindSpore (fp32, rel L2
<= 1e-5), also when a recipe starts from it with `model.init_from: hf:DIR`.

    .venv/bin/pytest tests/core/test_hf.py
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, needs
from core import checkpoint
from core.checkpoint import hf
from core.checkpoint.formats import read_safetensors

LLAMA = hf.load_adapter(REPO / "examples/llama/hf_adapter.py")  # the weight adapter beside examples/llama

LOGITS_TOL = 1e-5  # rel L2, fp32
HF_CFG = dict(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0)
OUR_CFG = dict(vocab_size=256, dim=32, hidden_dim=64, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=64,
               norm_eps=1e-5, rope_theta=10000.0)
OUR_SET = [f"model.config.{k}={v:.1e}" if isinstance(v, float) else f"model.config.{k}={v}" for k, v in OUR_CFG.items()]


def rel_l2(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _save_hf(path: Path, tie: bool, dtype="float32", shard="40KB", seed=0):
    needs("transformers")
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    model = LlamaForCausalLM(LlamaConfig(**HF_CFG, tie_word_embeddings=tie)).eval()
    with torch.no_grad():  # non-trivial norm weights, so a swapped norm would show
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
    model.to(getattr(torch, dtype)).save_pretrained(path, max_shard_size=shard)
    return model.float()


def _hf_tensors(folder: Path) -> dict:
    out = {}
    for f in hf.weight_files(folder):
        out.update(read_safetensors(f))
    return out


def _ids():
    return np.random.default_rng(1).integers(0, 256, size=(2, 24), dtype=np.int64)


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("hf") / "tiny-llama"
    model = _save_hf(path, tie=False)
    import torch

    with torch.no_grad():
        logits = model(torch.from_numpy(_ids())).logits.numpy()
    return path, logits


def test_defaults_and_names_match_the_example_model():
    needs("torch")
    from backends.torch_npu.importer import import_model_class
    from core.modelsource import resolve_model_source

    cls = import_model_class(resolve_model_source(LLAMA.MODEL_SOURCE, REPO / "examples/llama"))
    config_cls = next(v for k, v in vars(__import__(cls.__module__, fromlist=["x"])).items() if k == "LlamaConfig")
    assert {f.name: f.default for f in dataclasses.fields(config_cls)} == LLAMA.DEFAULTS
    keys = list(cls(**OUR_CFG).state_dict())
    assert sorted(keys) == sorted(LLAMA.expected_keys(OUR_CFG))
    assert all(LLAMA.to_ours(LLAMA.to_hf(k)) == k for k in keys)


def test_sharded_fp32_round_trip_is_bit_identical(hf_dir, tmp_path, capsys):
    src, ref_logits = hf_dir
    assert (src / "model.safetensors.index.json").is_file()  # really sharded
    ours = tmp_path / "ours.safetensors"
    assert checkpoint.main(["hf-import", str(src), str(ours)]) == 0
    assert "dim: 32" in capsys.readouterr().out  # prints the model.config to use
    back = tmp_path / "back"
    assert checkpoint.main(["hf-export", str(ours), str(back)]) == 0
    a, b = _hf_tensors(src), _hf_tensors(back)
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k][1] == b[k][1] == "F32" and a[k][0].tobytes() == b[k][0].tobytes(), k
    cfg_a, cfg_b = (json.loads((d / "config.json").read_text()) for d in (src, back))
    for key in list(LLAMA.CONFIG_KEYS.values()) + ["head_dim", "hidden_act", "model_type"]:
        assert cfg_a[key] == cfg_b[key], key
    from transformers import LlamaForCausalLM
    import torch

    with torch.no_grad():
        again = LlamaForCausalLM.from_pretrained(back).eval()(torch.from_numpy(_ids())).logits.numpy()
    assert np.array_equal(again, ref_logits)


def test_bf16_tied_round_trip_is_bit_identical(tmp_path):
    src = tmp_path / "bf16"
    _save_hf(src, tie=True, dtype="bfloat16", shard="5GB")
    weights, cfg, dtype = hf.import_hf(src)
    assert dtype == "BF16" and cfg["tie_embeddings"] is True
    assert weights["lm_head.weight"] is weights["tok_emb.weight"]
    ours = tmp_path / "ours.safetensors"
    assert checkpoint.main(["hf-import", str(src), str(ours)]) == 0
    assert checkpoint.main(["hf-export", str(ours), str(tmp_path / "back")]) == 0  # dtype auto: bf16 again
    a, b = _hf_tensors(src), _hf_tensors(tmp_path / "back")
    assert "lm_head.weight" not in b and sorted(a) == sorted(b)
    assert all(b[k][1] == "BF16" and a[k][0].tobytes() == b[k][0].tobytes() for k in a)


def test_logits_match_transformers_on_torch_and_mindspore(hf_dir):
    needs("mindspore")
    import torch

    from backends.mindspore.importer import load_converted_class
    from backends.mindspore.state import ParameterIndex
    from backends.torch_npu.importer import import_model_class
    from core.modelsource import resolve_model_source

    src, ref = hf_dir
    weights, cfg, _ = hf.import_hf(src)
    source = resolve_model_source("model.py:Llama", REPO / "examples/llama")
    t_model = import_model_class(source)(**cfg).eval()
    t_model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    with torch.no_grad():
        t_logits = t_model(torch.from_numpy(_ids())).numpy()
    assert rel_l2(t_logits, ref) <= LOGITS_TOL

    import mindspore as ms

    import patches.mindspore

    from backends.mindspore.device import use_target

    use_target("CPU")  # as the MindSpore backend does, before the first kernel runs
    patches.mindspore.apply("CPU")
    m_model = load_converted_class(source)(**cfg)
    m_model.set_train(False)
    ParameterIndex(m_model).load_state_dict(weights)
    m_logits = m_model(ms.Tensor(_ids())).asnumpy()
    assert rel_l2(m_logits, ref) <= LOGITS_TOL


@pytest.mark.parametrize("backend", ["torch", "mindspore"])
def test_recipe_starts_from_hf_weights(hf_dir, backend):
    needs(backend)
    from core.launch import resolve_recipe
    from core.registry import create_backend
    from core.trainer import Trainer

    src, _ = hf_dir
    ov = OUR_SET + [f"model.init_from=hf:{src}"]
    r = resolve_recipe(str(REPO / "examples/llama/tiny.yaml"), backend, "cpu", ov)
    b = create_backend(r)
    b.build()
    Trainer(r, b, progress=False, log=lambda *a: None).init_weights()
    weights, _, _ = hf.import_hf(src)
    got = b.state_dict()
    assert all(np.array_equal(got[k], weights[k]) for k in weights)


def test_recipe_config_that_differs_from_hf_is_a_one_line_error(hf_dir):
    from core.launch import resolve_recipe

    src, _ = hf_dir
    ov = [o for o in OUR_SET if "n_layers" not in o] + [f"model.init_from=hf:{src}"]
    r = resolve_recipe(str(REPO / "examples/llama/tiny.yaml"), "torch", "cpu", ov)
    with pytest.raises(hf.HFError, match=r"model.config' differs .*n_layers: recipe 3 vs HF 2"):
        hf.recipe_init_weights(r)


def test_bad_folders_and_unsupported_configs(tmp_path, hf_dir, capsys):
    src, _ = hf_dir
    assert checkpoint.main(["hf-import", str(tmp_path / "nope"), str(tmp_path / "o.safetensors")]) == 2
    assert "no config.json" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    cfg = json.loads((src / "config.json").read_text())
    (bad / "config.json").write_text(json.dumps({**cfg, "attention_bias": True, "hidden_act": "gelu"}))
    with pytest.raises(hf.HFError, match="attention_bias=true .* hidden_act='gelu'|hidden_act='gelu'.*attention_bias"):
        hf.import_hf(bad)
    (bad / "config.json").write_text(json.dumps(cfg))
    (bad / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(hf.HFError, match="no \\*.safetensors weights .*pytorch_model.bin"):
        hf.import_hf(bad)
    with pytest.raises(ValueError, match="not a Llama"):
        LLAMA.config_from_hf({**cfg, "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]})
    (bad / "config.json").write_text(json.dumps({**cfg, "model_type": "gpt2"}))
    with pytest.raises(hf.HFError, match="no weight adapter for model_type 'gpt2' .*adapters for: llama"):
        hf.import_hf(bad)
    plain = tmp_path / "plain.safetensors"
    from safetensors.numpy import save_file

    save_file({"tok_emb.weight": np.zeros((2, 2), np.float32)}, str(plain))
    capsys.readouterr()
    assert checkpoint.main(["hf-export", str(plain), str(tmp_path / "x")]) == 2
    assert "does not record a model config" in capsys.readouterr().err


def test_export_takes_the_config_from_a_training_checkpoint_or_a_recipe(hf_dir, tmp_path):
    src, _ = hf_dir
    weights, cfg, _ = hf.import_hf(src)
    root = tmp_path / "ckpt"
    checkpoint.save_checkpoint(root, 5, weights, {}, {"recipe": {"model": {"source": "model.py:Llama", "config": cfg}},
                                                      "recipe_dir": str(REPO / "examples/llama")})
    assert checkpoint.main(["hf-export", str(root), str(tmp_path / "a")]) == 0  # a root: its newest checkpoint
    recipe_args = ["--recipe", str(REPO / "examples/llama/tiny.yaml")] + [a for o in OUR_SET for a in ("--set", o)]
    assert checkpoint.main(["hf-export", str(root / "step_00000005"), str(tmp_path / "b"), *recipe_args]) == 0
    a, b, ref = _hf_tensors(tmp_path / "a"), _hf_tensors(tmp_path / "b"), _hf_tensors(src)
    assert all(a[k][0].tobytes() == b[k][0].tobytes() == ref[k][0].tobytes() for k in ref)
    assert json.loads((tmp_path / "b/config.json").read_text())["max_position_embeddings"] == 64


def test_sharded_export_loads_in_transformers_with_identical_logits(hf_dir, tmp_path, capsys):
    needs("transformers")
    import torch
    from transformers import LlamaForCausalLM

    src, ref_logits = hf_dir
    weights, cfg, _ = hf.import_hf(src)
    ours = tmp_path / "ours.safetensors"
    assert checkpoint.main(["hf-import", str(src), str(ours)]) == 0
    out = tmp_path / "sharded"
    assert checkpoint.main(["hf-export", str(ours), str(out), "--max-shard-size", "40KB"]) == 0
    shards = sorted(p.name for p in out.glob("model-*.safetensors"))
    assert len(shards) > 1 and (out / "model.safetensors.index.json").is_file()
    index = json.loads((out / "model.safetensors.index.json").read_text())
    assert set(index["weight_map"].values()) == set(shards)
    again = _hf_tensors(out)
    ref = _hf_tensors(src)
    assert set(again) == set(ref) and all(again[k][0].tobytes() == ref[k][0].tobytes() for k in ref)
    model = LlamaForCausalLM.from_pretrained(out).eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(_ids())).logits.numpy()
    assert rel_l2(logits, ref_logits) == 0.0
    capsys.readouterr()
    assert checkpoint.main(["hf-export", str(ours), str(out)]) == 2  # never over an existing checkpoint
    assert "already exists and is not empty; hf-export never writes over it" in capsys.readouterr().err
    assert checkpoint.main(["hf-export", str(ours), str(tmp_path / "z"), "--max-shard-size", "lots"]) == 2
    assert "--max-shard-size 'lots'" in capsys.readouterr().err
