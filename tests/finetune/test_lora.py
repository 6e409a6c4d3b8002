"""`model.lora` on both backends: peft's adapters on torch, the same adapters converted on MindSpore.

On a tiny Hugging Face Llama folder (tests/hf/test_hf_torch.py save_hf; fp32, CPU): 10 steps on each
backend with the same losses (relative 1e-4), only the adapters train (base weights bit-identical, no
optimizer state for them, the same trainable / total counts), the checkpoint folder is a peft adapter
folder that `peft.PeftModel.from_pretrained` loads onto the transformers model with the trained logits
(rel L2 <= 1e-5, from either backend's run), and `hf-export --merge-lora` writes full weights that
transformers loads with the same logits. Also: the plain-torch LoRA layer MindSpore converts computes
exactly what peft's layer computes, and the recipe checks.

    CI=true .venv/bin/python -m pytest -q tests/finetune/test_lora.py
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from conftest import REPO, needs
from core.errors import RecipeError
from core.recipe import recipe_from_dict

sys.path.insert(0, str(REPO / "tests" / "hf"))
LOSS_TOL, LOGITS_TOL = 1e-4, 1e-5  # fp32: relative per step; relative L2
STEPS = 10
LORA = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj", "down_proj"]}
RECIPE = """\
model:
  source: hf:hf
  lora: {lora}
data: {{seq_len: 32, batch_size: 4}}
optim: {{lr: 1.0e-2}}
train: {{steps: {steps}, log_every: 1, save_every: 5}}
"""


def test_recipe_checks_are_one_line(tmp_path):
    hf_run = {"model": {"source": "model.py:Llama", "lora": {"r": 4}}}
    with pytest.raises(RecipeError, match=r"^recipe key 'model.lora' needs model.source: hf:DIR"):
        recipe_from_dict(hf_run)
    for lora, match in (({"r": 0}, r"'model.lora.r' must be a positive integer"),
                        ({"rank": 4}, r"unknown recipe key 'model.lora.rank' \(known keys of model.lora: r, alpha"),
                        ({"dropout": 1.5}, r"'model.lora.dropout' must be a number in \[0, 1\)"),
                        ({"target_modules": []}, r"'model.lora.target_modules' must be 'all-linear' or a list")):
        with pytest.raises(RecipeError, match=match):
            recipe_from_dict({"model": {"source": "model.py:Llama", "lora": lora}})
    from core.finetune.lora import check_lora

    assert check_lora({"r": 4, "target_modules": "q_proj, v_proj"}) == {
        "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}  # LLaMA-Factory's spelling


def test_plain_torch_lora_layer_computes_what_peft_computes():
    needs("peft")
    import torch
    from peft import LoraConfig, get_peft_model
    from torch import nn

    sys.path.insert(0, str(REPO / "core/finetune/lora_layer"))
    from lora_linear import LoraLinear

    torch.manual_seed(0)
    peft_model = get_peft_model(nn.Sequential(nn.Linear(16, 8)), LoraConfig(r=4, lora_alpha=12, target_modules=["0"]))
    theirs = peft_model.base_model.model[0]
    ours = LoraLinear(nn.Linear(16, 8), 16, 8, r=4, alpha=12)
    with torch.no_grad():
        theirs.lora_B["default"].weight.normal_()  # peft starts B at zero; a non-zero B tests the product
    assert set(ours.state_dict()) == set(theirs.state_dict())  # peft's names
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(3, 5, 16)
    assert torch.equal(ours(x), theirs(x))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Both backends, 10 steps, checkpoints at steps 5 and 10."""
    needs("mindspore")
    needs("peft")
    from test_hf_torch import save_hf

    from core.launch import train

    tmp = tmp_path_factory.mktemp("lora")
    model = save_hf(tmp / "hf", "llama")
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    recipe = tmp / "lora.yaml"
    recipe.write_text(RECIPE.format(lora=json.dumps(LORA), steps=STEPS))
    lines, out = [], {}
    for b in ("torch", "mindspore"):
        out[b] = train(str(recipe), backend=b, device="cpu", log=lines.append, progress=False,
                       overrides={"train.out_dir": str(tmp / b)})
    return tmp, start, out, [line.split(" | ")[2] for line in lines if line.startswith("mindbridge:")]


def test_both_backends_train_the_same_adapters_with_the_same_losses(runs):
    from core.checkpoint import load_checkpoint

    tmp, start, out, headers = runs
    t, m = out["torch"]["losses"], out["mindspore"]["losses"]
    worst = max(abs(a - b) / abs(a) for a, b in zip(t, m))
    print(f"lora losses torch {t[-1]:.6f} mindspore {m[-1]:.6f}, max rel {worst:.1e}")
    assert len(t) == len(m) == STEPS and worst <= LOSS_TOL, (t, m)
    assert t[-1] < t[0] - 0.02  # the adapters learn (5.70 -> 5.66 here)
    # q (32x32), v (16x32), down (32x64) per layer, 2 layers: r * (in + out) each
    trainable = 2 * 4 * ((32 + 32) + (32 + 16) + (64 + 32))
    assert headers[0] == headers[1] == f"{trainable:,} trainable / {sum(v.size for v in start.values()) + trainable:,} params"
    keys = None
    for b in ("torch", "mindspore"):
        weights, optim, _ = load_checkpoint(tmp / b / "checkpoints" / f"step_{STEPS:08d}")
        keys = keys or set(weights)
        assert set(weights) == keys  # both backends' checkpoints hold the same (peft's) names
        lora = {n for n in weights if ".lora_A.default." in n or ".lora_B.default." in n}
        assert len(lora) == 12 and {f"exp_avg/{n}" for n in lora} == {k for k in optim if k.startswith("exp_avg/")}
        for name, value in start.items():  # every base weight bit-identical: q_proj.weight -> q_proj.base_layer.weight
            module, _, leaf = name.rpartition(".")
            ours = f"{module}.base_layer.{leaf}" if module.endswith(("q_proj", "v_proj", "down_proj")) else name
            assert np.array_equal(weights[ours], value), (b, name)


def _trained_logits(tmp, backend, ckpt, x):
    """The run's model on its own backend from its checkpoint (recipe + model.init_from)."""
    from core import registry
    from core.recipe import load_recipe
    from core.trainer import Trainer

    r = load_recipe(tmp / "lora.yaml", ["device=cpu", f"backend={backend}", f"model.init_from={ckpt}"])
    b = registry.create_backend(r)
    b.build()
    Trainer(r, b, progress=False, log=lambda *a: None).init_weights()
    return b.probe({"input_ids": x, "labels": x}).output


def _transformers_logits(folder, x, adapter=None):
    import torch
    import transformers

    model = transformers.LlamaForCausalLM.from_pretrained(str(folder), local_files_only=True, dtype=torch.float32)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter))
    with torch.no_grad():
        return model.eval()(input_ids=torch.from_numpy(x)).logits.numpy()


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.parametrize("backend", ["torch", "mindspore"])
def test_peft_loads_the_saved_adapters_and_merge_lora_exports(runs, backend, capsys):
    from core import checkpoint

    tmp, start, out, _ = runs
    x = np.random.default_rng(1).integers(0, 256, size=(2, 16)).astype(np.int64)
    root = tmp / backend / "checkpoints"
    for step in (5, STEPS):
        ckpt = root / f"step_{step:08d}"
        config = json.loads((ckpt / "adapter_config.json").read_text())
        assert config["peft_type"] == "LORA" and config["r"] == 4 and config["lora_alpha"] == 8
        assert sorted(config["target_modules"]) == ["down_proj", "q_proj", "v_proj"]
        ours = _trained_logits(tmp, backend, ckpt, x)
        err = _rel(_transformers_logits(tmp / "hf", x, adapter=ckpt), ours)
        with capsys.disabled():
            print(f"{backend} step {step}: peft-loaded adapter logits rel L2 {err:.1e}")
        assert err <= LOGITS_TOL
    assert (tmp / backend / "adapter" / "adapter_model.safetensors").read_bytes() == \
        (root / f"step_{STEPS:08d}" / "adapter_model.safetensors").read_bytes()  # the run's adapter/ is the last

    assert checkpoint.main(["hf-export", str(root), str(tmp / f"{backend}-merged"), "--merge-lora"]) == 0
    merged = _transformers_logits(tmp / f"{backend}-merged", x)
    err = _rel(merged, ours)
    with capsys.disabled():
        print(f"{backend}: --merge-lora export logits rel L2 {err:.1e}")
    assert err <= LOGITS_TOL and not (tmp / f"{backend}-merged" / "adapter_config.json").exists()
    assert checkpoint.main(["hf-export", str(root), str(tmp / f"{backend}-adapter")]) == 0
    assert "peft adapters; --merge-lora writes merged full weights" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp / f"{backend}-adapter").iterdir()) == ["adapter_config.json",
                                                                              "adapter_model.safetensors"]


@pytest.mark.parametrize("backend", ["torch", "mindspore"])
def test_a_lora_run_resumes_from_its_checkpoint_with_the_same_losses(runs, backend):
    """Step 5's checkpoint (adapters, their moments; base weights frozen) continues as the uninterrupted run."""
    from core.launch import train

    tmp, _, out, _ = runs
    resumed = train(str(tmp / "lora.yaml"), backend=backend, device="cpu", log=lambda *a: None, progress=False,
                    overrides={"train.out_dir": str(tmp / f"{backend}-resumed"),
                               "checkpoint.resume": str(tmp / backend / "checkpoints" / "step_00000005")})
    assert resumed["resumed_from"] and resumed["losses"] == out[backend]["losses"][5:]


def test_shipped_tiny_lora_recipe_trains_on_both_backends_with_the_same_losses(tmp_path):
    """examples/sft/tiny_lora.yaml (tiny_sft.yaml + model.lora), 4 steps per backend, fp32."""
    needs("mindspore")
    needs("peft")
    from core.launch import train

    recipe = str(REPO / "examples/sft/tiny_lora.yaml")
    runs = {b: train(recipe, backend=b, device="cpu", log=lambda *a: None, progress=False,
                     overrides={"train.steps": 4, "train.out_dir": str(tmp_path / b)}) for b in ("torch", "mindspore")}
    t, m = runs["torch"]["losses"], runs["mindspore"]["losses"]
    assert len(t) == 4 and max(abs(a - b) / a for a, b in zip(t, m)) <= LOSS_TOL, (t, m)
    assert runs["torch"]["trainable_parameters"] == runs["mindspore"]["trainable_parameters"] == 8192
    for b in runs:
        assert (tmp_path / b / "adapter" / "adapter_config.json").is_file()
