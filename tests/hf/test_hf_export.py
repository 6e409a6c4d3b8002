"""`python -m core.checkpoint hf-export` for runs of `model.source: hf:DIR`, on real runs and real folders.

Every SUPPORTED family trains 2 steps on torch from a tiny folder (with a tokenizer and a generation
config), is exported, and transformers' `from_pretrained` gives the trained model's logits (fp32,
relative L2 <= 1e-5; measured 0). Also: bf16 sources export bf16 (auto), --max-shard-size writes an
index, an existing folder is never written over, and a checkpoint that does not fit is one line.
The MindSpore checkpoint's round trip is in test_hf_mindspore.py.

    .venv/bin/pytest tests/hf/test_hf_export.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import needs
from test_hf_torch import FAMILIES, LAYERS, save_hf, write_recipe

from core import checkpoint, hfmodel, registry
from core.recipe import load_recipe

LOGITS_TOL = 1e-5  # relative L2, fp32


def add_tokenizer(folder: Path) -> None:
    """A tiny word-level tokenizer with a chat template, saved by transformers into the model folder."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["<unk>", "<s>", "</s>", "hello", "world", "mind", "bridge"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    fast.chat_template = "{% for m in messages %}{{ m['content'] }} {% endfor %}"
    fast.save_pretrained(folder)


def trained_checkpoint(tmp_path: Path, folder: Path, backend: str = "torch", steps: int = 2) -> Path:
    from core.launch import train

    recipe = write_recipe(tmp_path, folder, steps=steps, name=f"ft-{backend}")
    train(str(recipe), backend=backend, device="cpu", overrides={"train.out_dir": str(tmp_path / f"run-{backend}")},
          log=lambda *a: None)
    return tmp_path / f"run-{backend}" / "checkpoints"


def ids() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 300, size=(2, 12), dtype=np.int64)


def trained_logits(tmp_path: Path, folder: Path, ckpt: Path, backend: str = "torch") -> np.ndarray:
    """The trained model's logits, as the run's own backend computes them from its checkpoint."""
    from core.trainer import Trainer

    r = load_recipe(write_recipe(tmp_path, folder, name="probe"), ["device=cpu", f"backend={backend}",
                                                                   f"model.init_from={ckpt}"])
    b = registry.create_backend(r)
    b.build()
    Trainer(r, b, progress=False, log=lambda *a: None).init_weights()
    x = ids()
    return b.probe({"input_ids": x, "labels": x}).output


def exported_logits(out: Path, model_type: str) -> np.ndarray:
    import torch
    import transformers

    model = getattr(transformers, hfmodel.SUPPORTED[model_type].model_class).from_pretrained(
        str(out), local_files_only=True, dtype=torch.float32).eval()
    with torch.no_grad():
        return model(input_ids=torch.from_numpy(ids())).logits.numpy()


def rel_l2(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.parametrize("model_type", sorted(FAMILIES))
def test_torch_run_exports_a_folder_transformers_loads_with_the_trained_logits(tmp_path, model_type, capsys):
    needs("transformers")
    from transformers import AutoTokenizer

    folder = tmp_path / model_type
    start = save_hf(folder, model_type)
    ckpt = trained_checkpoint(tmp_path, folder)  # on byte data: a folder with a tokenizer would refuse it
    add_tokenizer(folder)  # what hf-export copies
    out = tmp_path / "exported"
    assert checkpoint.main(["hf-export", str(ckpt), str(out)]) == 0
    assert f"wrote {out}: " in capsys.readouterr().out
    ours = trained_logits(tmp_path, folder, ckpt)
    theirs = exported_logits(out, model_type)
    assert rel_l2(theirs, ours) <= LOGITS_TOL
    with __import__("torch").no_grad():  # and training changed them: the export is not the source folder
        assert rel_l2(start(input_ids=__import__("torch").from_numpy(ids())).logits.numpy(), ours) > 1e-4
    for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        assert (out / name).read_bytes() == (folder / name).read_bytes(), name
    tok = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    assert tok.apply_chat_template([{"role": "user", "content": "hello world"}], tokenize=False) == "hello world "
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["architectures"] == [hfmodel.SUPPORTED[model_type].model_class] and cfg["dtype"] == "float32"
    if model_type == "gpt2":  # a tied head is stored once, as save_pretrained does
        from safetensors import safe_open

        with safe_open(str(out / "model.safetensors"), "np") as fh:
            assert "lm_head.weight" not in set(fh.keys())


def test_bf16_source_sharded_export_and_refusals(tmp_path, capsys):
    needs("transformers")
    import transformers
    from safetensors import safe_open

    folder = tmp_path / "llama-bf16"
    save_hf(folder, "llama", dtype="bfloat16")
    ckpt = trained_checkpoint(tmp_path, folder)
    out = tmp_path / "sharded"
    assert checkpoint.main(["hf-export", str(ckpt), str(out), "--max-shard-size", "20KB"]) == 0
    index = json.loads((out / hfmodel.INDEX).read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 1 and all((out / s).is_file() for s in shards)
    with safe_open(str(out / shards[0]), "np") as fh:  # auto: the source folder's dtype
        assert {fh.get_slice(k).get_dtype() for k in fh.keys()} == {"BF16"}
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    assert rel_l2(exported_logits(out, "llama"), trained_logits(tmp_path, folder, ckpt)) <= 1e-2  # bf16 rounding

    capsys.readouterr()
    before = sorted(p.name for p in out.iterdir())
    assert checkpoint.main(["hf-export", str(ckpt), str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {out} already exists and is not empty; hf-export never writes over it, choose a new folder\n"
    assert sorted(p.name for p in out.iterdir()) == before

    other = tmp_path / "llama-wide"  # a checkpoint against a folder whose shapes differ
    transformers.LlamaForCausalLM(transformers.LlamaConfig(**dict(LAYERS, intermediate_size=48))).save_pretrained(other)
    recipe = write_recipe(tmp_path, other, name="wide")
    assert checkpoint.main(["hf-export", str(ckpt), str(tmp_path / "x"), "--recipe", str(recipe)]) == 2
    last = capsys.readouterr().err.splitlines()[-1]  # after transformers' own loading progress bar
    assert last.startswith(f"error: the checkpoint does not fit the model of {other / 'config.json'}: mismatched "
                           "shapes model.layers.0.mlp.down_proj.weight (32, 64) vs (32, 48)"), last
    assert not (tmp_path / "x").exists()
    assert checkpoint.main(["hf-export", str(ckpt), str(tmp_path / "y"), "--adapter", "x.py"]) == 2
    assert "a run of model.source: hf:DIR exports without one" in capsys.readouterr().err
