"""Image-text fine-tuning end to end through core.launch: the shipped examples/vlm recipes on both backends.

Real runs (torch and MindSpore PyNative, fp32, CPU) of the tiny Qwen2-VL and LLaVA folders on the shipped
LLaVA-format rows (image and text-only rows mixed, batches with none, one and two images per row):
- per-step losses of the two backends within 1e-4 (relative) from the same weights;
- each freeze switch (vision_tower, projector, language_model): the frozen weights bit-identical after
  training, no optimizer state for them, the rest trained, on both backends;
- hf-export of either backend's checkpoint loads in transformers (its own class) with the trained
  model's logits (relative L2 1e-5; MindSpore's checkpoint against MindSpore's logits 1e-5).

    CI=true .venv/bin/python -m pytest -q tests/vlm/test_vlm_train.py
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import REPO, needs

VLM = REPO / "examples" / "vlm"
RECIPES = {"qwen2_vl": VLM / "tiny_vlm.yaml", "llava": VLM / "tiny_llava.yaml"}
FOLDERS = {"qwen2_vl": VLM / "tiny-qwen2-vl", "llava": VLM / "tiny-llava"}
LOSS_TOL, LOGITS_TOL = 1e-4, 1e-5
VISION = ("model.visual.", "model.vision_tower.")
PROJECTOR = ("model.visual.merger.", "model.multi_modal_projector.")
LANGUAGE = ("model.language_model.", "lm_head.")
SWITCHES = {"vision_tower": lambda n: n.startswith(VISION) and not n.startswith(PROJECTOR),
            "projector": lambda n: n.startswith(PROJECTOR), "language_model": lambda n: n.startswith(LANGUAGE)}


def start_weights(family: str) -> dict[str, np.ndarray]:
    from core.hfmodel import load_torch_model

    return {k: v.detach().numpy().copy() for k, v in load_torch_model(FOLDERS[family]).state_dict().items()}


def run(tmp_path, family: str, backend: str, steps: int, freeze: list[str]):
    from core.checkpoint import load_checkpoint
    from core.launch import train

    out = tmp_path / f"{family}-{backend}-{'-'.join(freeze) or 'none'}"
    summary = train(str(RECIPES[family]), backend=backend, device="cpu", log=lambda *a: None,
                    overrides={"train.out_dir": str(out), "train.steps": steps, "model.freeze": freeze,
                               "schedule.warmup_steps": 1})
    weights, optim, _ = load_checkpoint(out / "checkpoints" / f"step_{steps:08d}")
    return summary, weights, optim, out


def check_frozen(start, weights, optim, frozen) -> None:
    for name in frozen:
        assert np.array_equal(weights[name], start[name]), name  # bit-identical
        assert f"exp_avg/{name}" not in optim and f"exp_avg_sq/{name}" not in optim, name
    trained = [n for n in start if n not in frozen]
    assert trained and all(f"exp_avg/{n}" in optim for n in trained)
    assert any(not np.array_equal(weights[n], start[n]) for n in trained)


@pytest.mark.parametrize("family", sorted(RECIPES))
def test_shipped_recipe_trains_on_torch_and_exports_to_transformers(tmp_path, family):
    needs("torch")
    needs("transformers")
    import torch
    import transformers

    from core.checkpoint.cli import main as ckpt_main
    from core.data import recipe_data
    from core.hfmodel import load_torch_model
    from core.launch import resolve_recipe

    start = start_weights(family)
    summary, weights, optim, out = run(tmp_path, family, "torch", steps=4, freeze=["vision_tower"])
    assert len(summary["losses"]) == 4 and all(np.isfinite(summary["losses"]))
    check_frozen(start, weights, optim, {n for n in start if SWITCHES["vision_tower"](n)})
    assert ckpt_main(["hf-export", str(out / "checkpoints"), str(tmp_path / "export")]) == 0
    exported = getattr(transformers, type(load_torch_model(FOLDERS[family])).__name__).from_pretrained(
        tmp_path / "export", dtype=torch.float32).eval()
    assert (tmp_path / "export" / "preprocessor_config.json").is_file() == (FOLDERS[family] / "preprocessor_config.json").is_file()
    trained = load_torch_model(FOLDERS[family]).eval()
    trained.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    batch = recipe_data(resolve_recipe(str(RECIPES[family]), "torch", "cpu", {})).train_batch(0, 0)
    assert batch["image_mask"].any()
    tensors = {k: torch.from_numpy(v) for k, v in batch.items() if k != "labels"}
    from core.hfvision import real_images

    images = real_images(tensors["pixel_values"], tensors["image_mask"], tensors.get("image_grid_thw"))
    if "image_grid_thw" in images:
        images["mm_token_type_ids"] = (tensors["input_ids"] == exported.config.image_token_id).int()
    with torch.no_grad():
        want = trained(**tensors).numpy()
        got = exported(input_ids=tensors["input_ids"], attention_mask=tensors["attention_mask"], use_cache=False,
                       **images).logits.numpy()
    assert np.linalg.norm(got - want) / np.linalg.norm(want) <= LOGITS_TOL


@pytest.fixture(scope="module")
def freeze_runs(tmp_path_factory):
    """The tiny Qwen2-VL recipe with each freeze switch, 3 steps on each backend."""
    needs("torch")
    needs("mindspore")
    root = tmp_path_factory.mktemp("vlm_freeze")
    return {(switch, backend): run(root, "qwen2_vl", backend, steps=3, freeze=[switch])
            for switch in SWITCHES for backend in ("torch", "mindspore")}


@pytest.mark.mindspore
@pytest.mark.parametrize("switch", sorted(SWITCHES))
def test_each_freeze_switch_on_both_backends(freeze_runs, switch):
    start = start_weights("qwen2_vl")
    frozen = {n for n in start if SWITCHES[switch](n)}
    assert frozen and len(frozen) < len(start)
    losses = {}
    for backend in ("torch", "mindspore"):
        summary, weights, optim, _ = freeze_runs[(switch, backend)]
        check_frozen(start, weights, optim, frozen)
        assert summary["trainable_parameters"] == summary["num_parameters"] - sum(start[n].size for n in frozen)
        losses[backend] = np.asarray(summary["losses"])
    worst = float(np.max(np.abs(losses["torch"] - losses["mindspore"]) / np.abs(losses["torch"])))
    print(f"freeze {switch}: {len(frozen)} tensors frozen, loss max rel {worst:.1e} over 3 steps")
    assert worst <= LOSS_TOL


@pytest.mark.mindspore
def test_a_mindspore_checkpoint_exports_to_transformers_with_mindspores_logits(freeze_runs, tmp_path):
    import mindspore as ms
    import torch
    import transformers

    from backends.mindspore.hf_model import load_mindspore_model
    from core.checkpoint.cli import main as ckpt_main
    from core.data import recipe_data
    from core.hfvision import real_images
    from core.launch import resolve_recipe

    _, weights, _, out = freeze_runs[("projector", "mindspore")]
    assert ckpt_main(["hf-export", str(out / "checkpoints"), str(tmp_path / "export")]) == 0
    exported = transformers.Qwen2VLForConditionalGeneration.from_pretrained(tmp_path / "export",
                                                                            dtype=torch.float32).eval()
    model = load_mindspore_model(FOLDERS["qwen2_vl"])
    for name, p in model.parameters_and_names():
        p.set_data(ms.Tensor(weights[name]))
    model.set_train(False)
    batch = recipe_data(resolve_recipe(str(RECIPES["qwen2_vl"]), "mindspore", "cpu", {})).train_batch(0, 0)
    want = model(**{k: ms.Tensor(v) for k, v in batch.items() if k != "labels"}).asnumpy()
    tensors = {k: torch.from_numpy(v) for k, v in batch.items() if k != "labels"}
    images = real_images(tensors["pixel_values"], tensors["image_mask"], tensors["image_grid_thw"])
    images["mm_token_type_ids"] = (tensors["input_ids"] == exported.config.image_token_id).int()
    with torch.no_grad():
        got = exported(input_ids=tensors["input_ids"], attention_mask=tensors["attention_mask"], use_cache=False,
                       **images).logits.numpy()
    assert np.linalg.norm(got - want) / np.linalg.norm(want) <= LOGITS_TOL


def tiny_qwen2_5_vl(folder) -> None:
    """A random Qwen2.5-VL (window attention in vision block 0) with the tiny Qwen2-VL's tokenizer and image
    processor files (the same processor class serves both)."""
    import json
    import shutil

    import torch
    import transformers

    source = FOLDERS["qwen2_vl"]
    base = json.loads((source / "config.json").read_text())
    vision = dict(depth=2, hidden_size=32, out_hidden_size=32, intermediate_size=64, num_heads=4, patch_size=8,
                  temporal_patch_size=2, spatial_merge_size=2, window_size=32, fullatt_block_indexes=[1])
    ids = {k: base[k] for k in ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id")}
    config = transformers.Qwen2_5_VLConfig(text_config=base["text_config"], vision_config=vision,
                                           tie_word_embeddings=False, **ids)
    torch.manual_seed(0)
    transformers.Qwen2_5_VLForConditionalGeneration(config).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "preprocessor_config.json"):
        shutil.copy(source / name, folder / name)


@pytest.mark.mindspore
def test_qwen2_5_vl_folder_trains_with_the_same_losses_on_both_backends(tmp_path):
    needs("torch")
    needs("mindspore")
    from core.launch import train

    tiny_qwen2_5_vl(tmp_path / "qwen2_5_vl")
    recipe = tmp_path / "vlm.yaml"
    recipe.write_text(RECIPES["qwen2_vl"].read_text().replace("hf:tiny-qwen2-vl/", f"hf:{tmp_path / 'qwen2_5_vl'}")
                      .replace("source: data/llava.json", f"source: {VLM / 'data' / 'llava.json'}"))
    losses = {}
    for backend in ("torch", "mindspore"):
        s = train(str(recipe), backend=backend, device="cpu", log=lambda *a: None,
                  overrides={"train.out_dir": str(tmp_path / backend), "train.steps": 3, "model.freeze": []})
        losses[backend] = np.asarray(s["losses"])
    worst = float(np.max(np.abs(losses["torch"] - losses["mindspore"]) / np.abs(losses["torch"])))
    print(f"qwen2_5_vl: loss max rel {worst:.1e} over 3 steps")
    assert len(losses["torch"]) == 3 and worst <= LOSS_TOL
