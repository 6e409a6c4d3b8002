"""The trainer's forward for image-text models on torch (core/hfvision.py) against transformers' own.

Shipped tiny LLaVA and Qwen2-VL folders, fp32, CPU. A prepared batch mixing rows with two, one and no
image gives, row by row, the logits transformers computes for that row with its processor-shaped inputs
(pixel_values of that row's images only, image_grid_thw, mm_token_type_ids) within 1e-5 relative L2;
a batch with no image at all runs the language model alone; an export after training loads back in
transformers with the trained logits.

    CI=true .venv/bin/python -m pytest -q tests/vlm/test_vlm_torch.py
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import REPO, needs

VLM = REPO / "examples" / "vlm"
FOLDERS = {"llava": VLM / "tiny-llava", "qwen2_vl": VLM / "tiny-qwen2-vl"}
LOGITS_TOL = 1e-5  # relative L2, fp32


def rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.fixture(scope="module", params=sorted(FOLDERS))
def family(request, tmp_path_factory):
    needs("torch")
    needs("transformers")
    from core.data.sft import Settings, prepare_sft
    from core.data.sft.dataset import SFTData
    from core.hfmodel import load_torch_model

    out = tmp_path_factory.mktemp(request.param)
    prepare_sft(str(VLM / "data" / "llava.json"), out, Settings(processor=str(FOLDERS[request.param]), cutoff_len=129),
                progress=False, log=lambda *a: None)
    data = SFTData(out, seq_len=128, batch_size=8, val_fraction=0.1, seed=0)
    return request.param, data, load_torch_model(FOLDERS[request.param]).eval()


def _mixed_batch(data):
    for step in range(50):
        batch = data.train_batch(step, 0)
        if {0, 1, 2} <= set(batch["image_mask"].sum(1).tolist()):
            return batch
    raise AssertionError("no batch with rows of 0, 1 and 2 images")


def test_mixed_batch_rows_equal_transformers_on_each_row(family):
    import torch

    name, data, model = family
    batch = _mixed_batch(data)
    with torch.no_grad():
        logits = model(**{k: torch.from_numpy(v) for k, v in batch.items() if k != "labels"}).numpy()
        for b in range(len(batch["input_ids"])):
            n = int(batch["image_mask"][b].sum())
            ids = torch.from_numpy(batch["input_ids"][b:b + 1])
            kwargs = {"input_ids": ids, "attention_mask": torch.from_numpy(batch["attention_mask"][b:b + 1]),
                      "use_cache": False}
            if n and name == "llava":
                kwargs["pixel_values"] = torch.from_numpy(batch["pixel_values"][b, :n])
            elif n:
                grid = batch["image_grid_thw"][b, :n]
                rows = [batch["pixel_values"][b, k, :int(np.prod(grid[k]))] for k in range(n)]
                kwargs.update(pixel_values=torch.from_numpy(np.concatenate(rows)), image_grid_thw=torch.from_numpy(grid),
                              mm_token_type_ids=(ids == model.config.image_token_id).int())
            want = super(type(model), model).forward(**kwargs).logits.numpy()[0]
            real = batch["attention_mask"][b] == 1
            assert rel(logits[b][real], want[real]) <= LOGITS_TOL, (name, b, n)
    print(f"{name}: mixed batch of {batch['image_mask'].sum(1).tolist()} images per row equals transformers per row")


def test_a_batch_without_images_runs_the_language_model_alone(family):
    import torch

    name, data, model = family
    batch = _mixed_batch(data)
    text_rows = [b for b in range(len(batch["input_ids"])) if batch["image_mask"][b].sum() == 0]
    only_text = {k: torch.from_numpy(v[text_rows]) for k, v in batch.items()}
    assert not only_text["image_mask"].any()
    with torch.no_grad():
        logits = model(**{k: v for k, v in only_text.items() if k != "labels"})
        want = super(type(model), model).forward(input_ids=only_text["input_ids"],
                                                 attention_mask=only_text["attention_mask"], use_cache=False).logits
    assert rel(logits.numpy(), want.numpy()) == 0.0
    loss = model(**only_text)
    loss.backward()  # the vision tower gets no gradient from it (DDP: inputs_may_skip_parameters)
    vision = [p for n, p in model.named_parameters() if "visual" in n or "vision_tower" in n]
    assert vision and all(p.grad is None for p in vision)
    model.zero_grad(set_to_none=True)
