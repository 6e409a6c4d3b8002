"""`model.lora` on the image-text models, the LLaMA-Factory way: adapters on the language model, vision tower frozen.

The shipped tiny recipes (examples/vlm: Qwen2-VL, LLaVA) with `model.lora` and their `model.freeze:
[vision_tower]`, 3 steps on torch (peft's adapters) and on MindSpore PyNative (the converted plain-torch
LoRA layer), fp32, CPU, real torch / MindSpore / transformers / peft:
- Qwen2-VL `target_modules: all-linear`; LLaVA `[q_proj, v_proj]`, whose CLIP tower also has q_proj / v_proj.
  Plain peft puts adapters there too (checked); with model.freeze they go to peft's exclude_modules, so
  only the language model (and Qwen2-VL's projector, which all-linear covers and nothing freezes) is adapted;
  Also on a tiny Qwen2.5-VL (torch only), whose vision MLP has its own down_proj;
- per-step losses of the two backends within 1e-4 relative, and the trained adapters within 1e-3 (rel L2);
- the trainable count is equal on both backends and equal to peft's own count for the same LoraConfig
  (target_modules, exclude_modules = the vision tower) on transformers' class; only the adapters change,
  every base weight is bit-identical, the optimizer holds moments for the adapters only;
- RUN/adapter/ loads with `peft.PeftModel.from_pretrained` on transformers' class and gives the trained
  model's logits on a batch with images (rel L2 1e-5; a MindSpore run against MindSpore's own logits),
  and `hf-export --merge-lora` loads in transformers' class with the same logits;
- a target name that matches nothing (or only the frozen part) is a one-line RecipeError.

    CI=true .venv/bin/python -m pytest -q tests/vlm/test_vlm_lora.py
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import REPO, needs

VLM = REPO / "examples" / "vlm"
RECIPES = {"qwen2_vl": VLM / "tiny_vlm.yaml", "llava": VLM / "tiny_llava.yaml"}
FOLDERS = {"qwen2_vl": VLM / "tiny-qwen2-vl", "llava": VLM / "tiny-llava"}
CLASSES = {"qwen2_vl": "Qwen2VLForConditionalGeneration", "llava": "LlavaForConditionalGeneration"}
TARGETS = {"qwen2_vl": "all-linear", "llava": ["q_proj", "v_proj"]}
# the vision tower as a peft exclude_modules regex, written here independently of core/finetune/freeze.py
VISION_REGEX = {"qwen2_vl": r"model\.visual\.(?!merger\b).*", "llava": r"model\.vision_tower\..*"}
FREEZE = ["vision_tower"]
STEPS, LOSS_TOL, LOGITS_TOL = 3, 1e-4, 1e-5
BACKENDS = ("torch", "mindspore")


def lora(family: str) -> dict:
    return {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": TARGETS[family]}


def transformers_model(family: str, folder=None):
    """transformers' own class, from the tiny folder or an exported one."""
    import torch
    import transformers

    return getattr(transformers, CLASSES[family]).from_pretrained(folder or FOLDERS[family], dtype=torch.float32).eval()


def peft_count(family: str, exclude: str | None) -> tuple[int, set[str]]:
    """peft's own trainable count and adapted modules for the LoraConfig on transformers' class."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=TARGETS[family], exclude_modules=exclude,
                        task_type="CAUSAL_LM")
    model = get_peft_model(transformers_model(family), config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, {n.split("base_model.model.", 1)[1].rsplit(".lora_A", 1)[0]
                       for n, _ in model.named_parameters() if ".lora_A." in n}


def start_weights(family: str) -> dict[str, np.ndarray]:
    from core.hfmodel import load_torch_model

    return {k: v.detach().numpy().copy() for k, v in load_torch_model(FOLDERS[family]).state_dict().items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each family on each backend: the shipped recipe + model.lora, 3 steps."""
    needs("torch")
    needs("transformers")
    needs("peft")
    needs("mindspore")
    from core.launch import train

    root = tmp_path_factory.mktemp("vlm_lora")
    out = {}
    for family in RECIPES:
        for backend in BACKENDS:
            folder = root / f"{family}-{backend}"
            summary = train(str(RECIPES[family]), backend=backend, device="cpu", log=lambda *a: None, progress=False,
                            overrides={"train.out_dir": str(folder), "train.steps": STEPS, "model.lora": lora(family),
                                       "model.freeze": FREEZE, "schedule.warmup_steps": 1, "optim.lr": 2e-2,
                                       "train.eval_batches": 1})
            out[(family, backend)] = summary, folder
    return root, out


def test_target_names_follow_peft_and_freeze_keeps_adapters_out_of_the_vision_tower(tmp_path):
    """torch only, no training: what peft adapts for a plain `q_proj` on LLaVA (and `down_proj` on Qwen2.5-VL), what
    model.freeze leaves out, that PeftModel.from_pretrained rebuilds exactly the saved set, and the one-line errors."""
    needs("torch")
    needs("peft")
    from core.errors import RecipeError
    from core.finetune.torch_model import apply_peft, trainable_parameters
    from core.hfmodel import load_torch_model

    # plain peft: [q_proj, v_proj] also adapts CLIP's self_attn.q_proj / v_proj; model.lora alone does the same
    count, modules = peft_count("llava", None)
    assert any(m.startswith("model.vision_tower.") for m in modules)
    ours = apply_peft(load_torch_model(FOLDERS["llava"]), lora("llava"), 0)
    assert trainable_parameters(ours) == count == 1920
    # with model.freeze: [vision_tower], none there (peft's exclude_modules), as LLaMA-Factory's freeze_vision_tower
    count, modules = peft_count("llava", VISION_REGEX["llava"])
    assert modules and not any(m.startswith("model.vision_tower.") for m in modules)
    ours = apply_peft(load_torch_model(FOLDERS["llava"]), lora("llava"), 0, FREEZE)
    assert trainable_parameters(ours) == count == 896

    # Qwen2.5-VL's vision MLP has its own down_proj: the same rule, and the adapter folder peft rebuilds is exact
    import sys

    import torch
    import transformers
    from peft import PeftModel

    from core.finetune.lora import adapter_files, write_adapter

    sys.path.insert(0, str(REPO / "tests" / "vlm"))
    from test_vlm_train import tiny_qwen2_5_vl

    tiny_qwen2_5_vl(tmp_path / "qwen2_5_vl")
    three = {**lora("llava"), "target_modules": ["q_proj", "v_proj", "down_proj"]}
    counts = {}
    for freeze in ([], FREEZE):
        model = apply_peft(load_torch_model(tmp_path / "qwen2_5_vl"), three, 0, freeze)
        vision = [n for n, _ in model.named_parameters() if ".lora_A." in n and n.startswith("model.visual.")]
        assert bool(vision) == (not freeze)  # model.visual.blocks.N.mlp.down_proj, unless frozen
        counts[tuple(freeze)] = trainable_parameters(model)
        weights = {k: v.detach().numpy() for k, v in model.state_dict().items()}
        write_adapter(tmp_path / f"adapter{len(freeze)}", adapter_files(weights, three, str(tmp_path / "qwen2_5_vl")))
        loaded = PeftModel.from_pretrained(transformers.Qwen2_5_VLForConditionalGeneration.from_pretrained(
            tmp_path / "qwen2_5_vl", dtype=torch.float32), str(tmp_path / f"adapter{len(freeze)}"))
        assert {n.split("base_model.model.", 1)[1]
                for n, _ in loaded.named_parameters() if ".lora_" in n} == {n for n in weights if ".lora_" in n}
    assert counts == {(): 2432, tuple(FREEZE): 1664}

    def error(family, targets, freeze):
        with pytest.raises(RecipeError) as e:
            apply_peft(load_torch_model(FOLDERS[family]), {**lora(family), "target_modules": targets}, 0, freeze)
        assert "\n" not in str(e.value)
        return str(e.value)

    assert error("qwen2_vl", ["q_proj", "q_prj"], []).startswith(
        "recipe key 'model.lora.target_modules' ('q_prj') matches no module of the model (module names end in: ")
    assert error("qwen2_vl", ["qkv"], FREEZE).startswith(  # Qwen2-VL's vision attention: frozen, so no adapter
        "recipe key 'model.lora.target_modules' ('qkv') matches only modules in the part that model.freeze freezes")
    assert error("llava", "all-linear", ["vision_tower", "projector", "language_model"]).startswith(
        "recipe key 'model.lora.target_modules' ('all-linear') adapts no module outside model.freeze")
    assert error("llava", ["q_proj"], ["vison_tower"]).startswith(
        "recipe key 'model.freeze[0]' ('vison_tower') matches no parameter")


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.mindspore
@pytest.mark.parametrize("family", sorted(RECIPES))
def test_both_backends_train_the_same_language_model_adapters(runs, family, capsys):
    from core.checkpoint import load_checkpoint

    _, out = runs
    want_count, want_modules = peft_count(family, VISION_REGEX[family])  # peft's own, on transformers' class
    start = start_weights(family)
    losses, trained = {}, {}
    for backend in BACKENDS:
        summary, folder = out[(family, backend)]
        losses[backend] = np.asarray(summary["losses"])
        assert summary["trainable_parameters"] == want_count, backend
        weights, optim, _ = load_checkpoint(folder / "checkpoints" / f"step_{STEPS:08d}")
        trained[backend] = weights
        adapters = {n for n in weights if ".lora_A.default." in n or ".lora_B.default." in n}
        modules = {n.rsplit(".lora_", 1)[0] for n in adapters}
        assert modules == want_modules and not any(m.startswith(("model.visual.blocks", "model.vision_tower"))
                                                   for m in modules)
        assert sum(weights[n].size for n in adapters) == want_count
        assert {k for k in optim if k.startswith("exp_avg/")} == {f"exp_avg/{n}" for n in adapters}
        assert all(np.any(weights[n] != 0) for n in adapters if ".lora_B." in n)  # peft starts B at 0: trained
        for name, value in start.items():  # every base weight bit-identical (q_proj.weight -> q_proj.base_layer.weight)
            module, _, leaf = name.rpartition(".")
            ours = f"{module}.base_layer.{leaf}" if module in modules else name
            assert np.array_equal(weights[ours], value), (backend, name)
        assert set(weights) - adapters == {f"{m}.base_layer.{leaf}" if m in modules else f"{m}.{leaf}"
                                           for m, _, leaf in (n.rpartition(".") for n in start)}
    worst = float(np.max(np.abs(losses["torch"] - losses["mindspore"]) / np.abs(losses["torch"])))
    # the trained adapters themselves agree too (a MindSpore adapter that got no gradient would not, even where
    # 3 steps' losses still do: lora_B starts at zero)
    drift = max(_rel(trained["mindspore"][n], trained["torch"][n]) for n in trained["torch"] if ".lora_" in n)
    with capsys.disabled():
        print(f"\n{family} lora: {want_count:,} trainable on both; losses torch {losses['torch'].tolist()} "
              f"mindspore {losses['mindspore'].tolist()}, max rel {worst:.1e}; adapters worst rel L2 {drift:.1e}")
    assert len(losses["torch"]) == STEPS and worst <= LOSS_TOL
    assert drift <= 1e-3


def _image_batch(family: str, backend: str):
    from core.data import recipe_data
    from core.launch import resolve_recipe

    batch = recipe_data(resolve_recipe(str(RECIPES[family]), backend, "cpu", {})).train_batch(0, 0)
    assert batch["image_mask"].any()
    return {k: v for k, v in batch.items() if k != "labels"}


def _transformers_logits(model, batch) -> np.ndarray:
    import torch

    from core.hfvision import real_images

    t = {k: torch.from_numpy(v) for k, v in batch.items()}
    images = real_images(t["pixel_values"], t["image_mask"], t.get("image_grid_thw"))
    if "image_grid_thw" in images:  # Qwen2-VL's multimodal rope, as core/hfvision.py gives it
        images["mm_token_type_ids"] = (t["input_ids"] == model.config.image_token_id).int()
    with torch.no_grad():
        return model(input_ids=t["input_ids"], attention_mask=t["attention_mask"], use_cache=False,
                     **images).logits.numpy()


def _trained_logits(family: str, backend: str, weights, batch) -> np.ndarray:
    """The run's model on its own backend with the checkpoint's weights."""
    if backend == "torch":
        import torch

        from core.finetune.torch_model import apply_peft
        from core.hfmodel import load_torch_model

        model = apply_peft(load_torch_model(FOLDERS[family]), lora(family), 0, FREEZE).eval()
        model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
        with torch.no_grad():
            return model(**{k: torch.from_numpy(v) for k, v in batch.items()}).numpy()
    import mindspore as ms

    from backends.mindspore.hf_model import load_mindspore_model

    model = load_mindspore_model(FOLDERS[family], lora=lora(family), seed=0, freeze=FREEZE)
    for name, p in model.parameters_and_names():
        p.set_data(ms.Tensor(weights[name]))
    model.set_train(False)
    return model(**{k: ms.Tensor(v) for k, v in batch.items()}).asnumpy()


@pytest.mark.mindspore
@pytest.mark.parametrize("family", sorted(RECIPES))
def test_peft_loads_the_adapter_folder_and_merge_lora_exports_with_the_trained_logits(runs, family, capsys):
    from peft import PeftModel

    from core import checkpoint
    from core.checkpoint import load_checkpoint

    root, out = runs
    for backend in BACKENDS:
        _, folder = out[(family, backend)]
        config = json.loads((folder / "adapter" / "adapter_config.json").read_text())
        assert config["peft_type"] == "LORA" and config["r"] == 4 and config["lora_alpha"] == 8
        # a plain q_proj / v_proj would give CLIP's attention adapters on loading, and Qwen2-VL's merger `0`
        # would match `model.language_model.layers.0`: peft's own minimal suffixes instead
        ambiguous = {"llava": {"q_proj", "v_proj"}, "qwen2_vl": {"0"}}[family]
        assert not ambiguous & set(config["target_modules"]), config["target_modules"]
        weights, _, _ = load_checkpoint(folder / "checkpoints" / f"step_{STEPS:08d}")
        batch = _image_batch(family, backend)
        want = _trained_logits(family, backend, weights, batch)
        peft_model = PeftModel.from_pretrained(transformers_model(family), str(folder / "adapter")).eval()
        assert sum(p.numel() for n, p in peft_model.named_parameters() if ".lora_" in n) == \
            sum(v.size for n, v in weights.items() if ".lora_" in n)  # exactly the trained adapters, no more
        loaded = _rel(_transformers_logits(peft_model, batch), want)
        merged_dir = root / f"{family}-{backend}-merged"
        assert checkpoint.main(["hf-export", str(folder / "checkpoints"), str(merged_dir), "--merge-lora"]) == 0
        merged = _rel(_transformers_logits(transformers_model(family, merged_dir), batch), want)
        with capsys.disabled():
            print(f"\n{family} {backend}: PeftModel logits rel L2 {loaded:.1e}, --merge-lora export {merged:.1e}")
        assert loaded <= LOGITS_TOL and merged <= LOGITS_TOL
        assert not (merged_dir / "adapter_config.json").exists()
