"""transformers' vision-language models on MindSpore (hf_loader + compat_hf, backends/mindspore/hf_vlm.py's
contract), against transformers on torch: LLaVA (CLIP or SigLIP vision tower, Llama language model),
Qwen2-VL, Qwen2.5-VL and Qwen3-VL (deepstack, a resampled position table, interleaved M-RoPE), tiny random
configs made here, the same weights by Hugging Face names, fp32, CPU, PyNative.

- logits within relative L2 1e-5, over the whole batch and over the image tokens' rows: a batch with
  images (3 images in 2 rows, one row with 2), a text-only batch (pixel_values None); each with a
  right-padded attention_mask row;
- one value_and_grad step through the contract with labels: the loss within 1e-5 of torch's, every
  parameter's gradient within 1e-4 (relative L2), the vision tower's included;
- the sub-models' output_hidden_states / output_attentions (compat_hf/output_capturing) equal torch's;
- too few image tokens is transformers' own ValueError (compat_hf/utils.torch_compilable_check);
- the shipped examples/vlm folders: core/hfvision.py's torch contract and hf_vlm's give the same logits and loss.

    .venv/bin/pytest tests/hf/test_vlm_mindspore.py
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import needs
from mindspore_fixture import ms  # noqa: F401  (the shared fixture)

TEXT = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            vocab_size=300, max_position_embeddings=64)
VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=32,
              patch_size=8)  # 16 patches per 32x32 image
MROPE = dict(rope_parameters=dict(rope_type="default", mrope_section=[1, 1, 2], rope_theta=10000.0),
             bos_token_id=None, eos_token_id=None)  # M-RoPE over head_dim 8
QWEN_IDS = dict(image_token_id=299, video_token_id=298, vision_start_token_id=297, vision_end_token_id=296)
IMAGE = 299
CASES = {  # name: (model_type, class, config kwargs)
    "llava_clip": ("llava", "LlavaForConditionalGeneration", dict(
        vision_config=dict(VISION, model_type="clip_vision_model"), text_config=dict(TEXT, model_type="llama"),
        image_token_index=IMAGE, vision_feature_layer=-2, vision_feature_select_strategy="default")),
    "llava_siglip": ("llava", "LlavaForConditionalGeneration", dict(  # two feature layers, every patch
        vision_config=dict(VISION, model_type="siglip_vision_model"), text_config=dict(TEXT, model_type="llama"),
        image_token_index=IMAGE, vision_feature_layer=[-2, -1], vision_feature_select_strategy="full")),
    "qwen2_vl": ("qwen2_vl", "Qwen2VLForConditionalGeneration", dict(
        vision_config=dict(depth=2, embed_dim=32, hidden_size=32, num_heads=4, mlp_ratio=2, patch_size=4,
                           temporal_patch_size=2, spatial_merge_size=2),
        text_config=dict(TEXT, **MROPE), **QWEN_IDS)),
    "qwen2_5_vl": ("qwen2_5_vl", "Qwen2_5_VLForConditionalGeneration", dict(  # window attention in block 0
        vision_config=dict(depth=2, hidden_size=32, out_hidden_size=32, intermediate_size=64, num_heads=4,
                           patch_size=4, temporal_patch_size=2, spatial_merge_size=2, window_size=16,
                           fullatt_block_indexes=[1]),
        text_config=dict(TEXT, **MROPE), **QWEN_IDS)),
    "qwen3_vl": ("qwen3_vl", "Qwen3VLForConditionalGeneration", dict(  # deepstack into both text layers
        vision_config=dict(depth=2, hidden_size=32, out_hidden_size=32, intermediate_size=64, num_heads=4,
                           patch_size=4, temporal_patch_size=2, spatial_merge_size=2, num_position_embeddings=9,
                           deepstack_visual_indexes=[0, 1]),  # a 3x3 learned position table, resampled per grid
        text_config=dict(TEXT, head_dim=16, bos_token_id=None, eos_token_id=None,  # interleaved M-RoPE, 8 freqs
                         rope_parameters=dict(rope_type="default", mrope_section=[3, 3, 2], rope_theta=10000.0)),
        **QWEN_IDS)),
}
LOGITS_TOL, LOSS_TOL, GRAD_TOL = 1e-5, 1e-5, 1e-4
T = 40


def copy_weights(ms, theirs, ours) -> None:
    """torch's weights into the converted model by Hugging Face name (the names must be the same set)."""
    ours.set_train(False)
    weights = theirs.state_dict()
    params = dict(ours.parameters_and_names())
    assert set(params) == {k for k in weights if not k.endswith("inv_freq")}
    for name, p in params.items():
        p.set_data(ms.Tensor(weights[name].numpy()))


@pytest.fixture(scope="module")
def pairs(ms):
    return {}


def _pair(ms, pairs, case):
    """(torch model, MindSpore contract model with the torch weights), from one tiny config; once per case."""
    if case in pairs:
        return pairs[case]
    import torch
    import transformers

    from backends.mindspore.hf_loader import load_family
    from backends.mindspore.hf_vlm import contract_class

    model_type, cls, kwargs = CASES[case]
    config_cls = type(transformers.AutoConfig.for_model(model_type))
    torch.manual_seed(0)
    theirs = getattr(transformers, cls)(config_cls(**kwargs)).eval()
    ours = contract_class(getattr(load_family(model_type), cls))(config_cls(**kwargs))
    copy_weights(ms, theirs, ours)
    pairs[case] = theirs, ours
    return pairs[case]


def _batch(case, images: bool) -> dict:
    """The trainer's VLM batch: 2 rows x T tokens, K=2 image slots per row (row 0: two images, row 1: one, in
    slot 1), row 1 right-padded; input_ids hold each image's tokens. Text-only: image_mask all 0."""
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 290, size=(2, T))
    mask = np.ones((2, T), dtype=np.int64)
    mask[1, T - 7:] = 0
    image_mask = np.array([[1, 1], [0, 1]]) if images else np.zeros((2, 2), dtype=np.int64)
    if CASES[case][0] == "llava":
        pixel_values = rng.standard_normal((2, 2, 3, 32, 32)).astype(np.float32)
        tokens, grid = [[16, 16], [0, 16]], None  # 16 patch tokens per image (CLIP's CLS dropped)
    else:
        grid = np.array([[[1, 4, 4], [1, 2, 4]], [[0, 0, 0], [1, 2, 2]]], dtype=np.int64)  # (t, h, w) per slot
        pixel_values = rng.standard_normal((2, 2, 16, 96)).astype(np.float32)  # Pmax 16 rows of 3*2*4*4
        pixel_values[0, 1, 8:] = pixel_values[1, 1, 4:] = pixel_values[1, 0] = 0  # padding rows
        tokens = (grid.prod(-1) // 4).tolist()  # 2x2 spatial merge
    if images:
        for b in range(2):
            start = 2
            for k in range(2):
                n = tokens[b][k] if image_mask[b, k] else 0
                ids[b, start:start + n] = IMAGE
                start += n + 3
    labels = np.concatenate([ids[:, 1:], np.full((2, 1), -100)], 1)
    labels[mask == 0] = -100
    labels[ids == IMAGE] = -100
    batch = dict(input_ids=ids, labels=labels, attention_mask=mask, pixel_values=pixel_values, image_mask=image_mask)
    if grid is not None:
        batch["image_grid_thw"] = grid
    return batch


def _torch_contract(model, batch, with_labels: bool):
    """The torch side of the contract (core/hfvlm.py): select the images, run, mean cross-entropy."""
    import torch

    t = {k: torch.from_numpy(v) for k, v in batch.items()}
    sel, extra = t["image_mask"].bool(), {}
    if sel.any():
        pv = t["pixel_values"][sel]
        if "image_grid_thw" in t:
            thw = t["image_grid_thw"][sel]
            pv = torch.cat([pv[i, :k] for i, k in enumerate(thw.prod(-1).tolist())])
            extra["image_grid_thw"] = thw
            extra["mm_token_type_ids"] = (t["input_ids"] == model.config.image_token_id).long()
        extra["pixel_values"] = pv
    logits = model(input_ids=t["input_ids"], attention_mask=t["attention_mask"], use_cache=False, **extra).logits
    if not with_labels:
        return logits
    return torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), t["labels"].reshape(-1),
                                             ignore_index=-100)


def _ms_batch(ms, batch, keys):
    return {k: ms.Tensor(batch[k]) for k in keys if k in batch}


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.parametrize("images", [True, False], ids=["images", "text_only"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_logits_match_transformers(ms, pairs, case, images):
    import torch

    theirs, ours = _pair(ms, pairs, case)
    batch = _batch(case, images)
    with torch.no_grad():
        expected = _torch_contract(theirs, batch, with_labels=False).numpy()
    keys = ("input_ids", "attention_mask", "pixel_values", "image_mask", "image_grid_thw")
    got = ours(**_ms_batch(ms, batch, keys)).asnumpy()
    on_images = batch["input_ids"] == IMAGE
    err = _rel(got, expected)
    err_images = _rel(got[on_images], expected[on_images]) if images else 0.0
    print(f"{case} {'images' if images else 'text-only'}: logits rel L2 {err:.1e}"
          + (f", image tokens' rows {err_images:.1e}" if images else ""))
    assert on_images.sum() == (0 if not images else 48 if case.startswith("llava") else 7)
    assert err <= LOGITS_TOL and err_images <= LOGITS_TOL


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_match_transformers(ms, pairs, case):
    theirs, ours = _pair(ms, pairs, case)
    batch = _batch(case, images=True)
    theirs.zero_grad()
    loss = _torch_contract(theirs, batch, with_labels=True)
    loss.backward()
    expected = {n: p.grad.numpy() for n, p in theirs.named_parameters() if p.grad is not None}
    names, params = zip(*ours.parameters_and_names())
    tensors = _ms_batch(ms, batch, ("input_ids", "labels", "attention_mask", "pixel_values", "image_mask",
                                    "image_grid_thw"))
    keys = list(tensors)
    value, grads = ms.value_and_grad(lambda *xs: ours(**dict(zip(keys, xs))), None, list(params))(*tensors.values())
    got = dict(zip(names, (g.asnumpy() for g in grads)))
    # a key bias's gradient is zero in exact arithmetic (softmax ignores a shift shared by all keys): torch's is
    # round-off (1e-10), so those are compared in absolute terms, against the largest gradient
    scale = max(np.linalg.norm(g) for g in expected.values())
    tiny = {n for n, g in expected.items() if np.linalg.norm(g) <= 1e-6 * scale}
    errs = {n: _rel(got[n], g) for n, g in expected.items() if n not in tiny}
    worst = max(errs, key=errs.get)
    loss_err = abs(float(value) - loss.item()) / abs(loss.item())
    print(f"{case}: loss rel {loss_err:.1e}, worst grad rel L2 {errs[worst]:.1e} ({worst}), {len(errs)} grads, "
          f"{len(tiny)} zero in exact arithmetic")
    assert loss_err <= LOSS_TOL
    assert errs[worst] <= GRAD_TOL, worst
    vision = "model.vision_tower." if case.startswith("llava") else "model.visual."
    assert any(n.startswith(vision) for n in errs)  # the gradient reached the vision tower
    assert all(np.linalg.norm(got[n] - expected[n]) <= 1e-6 * scale for n in tiny), sorted(tiny)
    unused = [n for n in got if n not in expected]  # no gradient on torch (layers after vision_feature_layer, ...)
    assert all(np.linalg.norm(got[n]) == 0 for n in unused), unused


def test_hidden_states_and_attentions_match_transformers(ms, pairs):
    """compat_hf/output_capturing on the sub-models: CLIP's hidden states keep the pre-norm last one
    (tie_last_hidden_states=False), Llama's last one is the normed output; attentions are the softmax weights."""
    import torch

    theirs, ours = _pair(ms, pairs, "llava_clip")
    batch = _batch("llava_clip", images=True)
    pv, ids, mask = batch["pixel_values"][0], batch["input_ids"], batch["attention_mask"]
    with torch.no_grad():
        t_vision = theirs.model.vision_tower(torch.from_numpy(pv), output_hidden_states=True)
        before = theirs.model.language_model.config._attn_implementation
        theirs.model.language_model.config._attn_implementation = "eager"  # sdpa returns no weights
        try:
            t_text = theirs.model.language_model(torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                                                 output_hidden_states=True, output_attentions=True, use_cache=False)
        finally:
            theirs.model.language_model.config._attn_implementation = before
    m_vision = ours.model.vision_tower(ms.Tensor(pv), output_hidden_states=True)
    m_text = ours.model.language_model(ms.Tensor(ids), attention_mask=ms.Tensor(mask), output_hidden_states=True,
                                       output_attentions=True, use_cache=False)
    for t_out, m_out, key, n in ((t_vision, m_vision, "hidden_states", 3), (t_text, m_text, "hidden_states", 3),
                                 (t_text, m_text, "attentions", 2)):
        assert len(getattr(t_out, key)) == len(getattr(m_out, key)) == n
        for a, b in zip(getattr(t_out, key), getattr(m_out, key)):
            assert _rel(b.asnumpy(), a.numpy()) <= LOGITS_TOL, key
    last, normed = m_text.hidden_states[-1].asnumpy(), m_text.last_hidden_state.asnumpy()
    assert np.array_equal(last, normed)  # tied to the normed output


def test_mismatched_image_tokens_are_transformers_error(ms, pairs):
    """torch_compilable_check (compat_hf/utils): the same ValueError as transformers when the image tokens in
    input_ids do not match the image features."""
    import torch

    theirs, ours = _pair(ms, pairs, "llava_clip")
    batch = _batch("llava_clip", images=True)
    batch["input_ids"][0, 2] = 5  # one image token fewer
    with pytest.raises(ValueError, match="Image features and image tokens do not match") as t_err:
        with torch.no_grad():
            _torch_contract(theirs, batch, with_labels=False)
    keys = ("input_ids", "attention_mask", "pixel_values", "image_mask")
    with pytest.raises(ValueError, match="Image features and image tokens do not match") as m_err:
        ours(**_ms_batch(ms, batch, keys))
    assert str(m_err.value) == str(t_err.value)


@pytest.mark.parametrize("folder", ["tiny-llava", "tiny-qwen2-vl"])
def test_shipped_tiny_folders_match_the_torch_contract(ms, folder):
    """examples/vlm's folders: core/hfvision.py's torch contract (from_pretrained) and hf_vlm's, with the
    folder's weights; one row with an image, one text-only and right-padded; logits and loss."""
    import torch
    import transformers

    from conftest import REPO

    from backends.mindspore.hf_loader import load_family
    from backends.mindspore.hf_vlm import contract_class
    from core.hfvision import vision_contract_class

    path = REPO / "examples/vlm" / folder
    config = transformers.AutoConfig.from_pretrained(path)
    cls = config.architectures[0]
    theirs = vision_contract_class(getattr(transformers, cls)).from_pretrained(path, dtype=torch.float32).eval()
    ours = contract_class(getattr(load_family(config.model_type), cls))(config)
    copy_weights(ms, theirs, ours)
    rng = np.random.default_rng(2)
    ids = rng.integers(3, 500, size=(2, 30))
    mask = np.ones((2, 30), dtype=np.int64)
    mask[1, 24:] = 0
    batch = dict(input_ids=ids, attention_mask=mask, image_mask=np.array([[1], [0]]))
    if config.model_type == "llava":
        batch["pixel_values"] = rng.standard_normal((2, 1, 3, 32, 32)).astype(np.float32)
        n = 16
    else:
        batch["pixel_values"] = rng.standard_normal((2, 1, 16, 3 * 2 * 8 * 8)).astype(np.float32)
        batch["image_grid_thw"] = np.array([[[1, 4, 4]], [[0, 0, 0]]], dtype=np.int64)
        n = 4
    ids[0, 3:3 + n] = config.image_token_id
    batch["labels"] = np.where(mask == 1, np.roll(ids, -1, 1), -100)
    t = {k: torch.from_numpy(v) for k, v in batch.items()}
    m = _ms_batch(ms, batch, batch)
    with torch.no_grad():
        expected = theirs(**{k: v for k, v in t.items() if k != "labels"}).numpy()
        loss = theirs(**t).item()
    got = ours(**{k: v for k, v in m.items() if k != "labels"}).asnumpy()
    err, loss_err = _rel(got, expected), abs(float(ours(**m)) - loss) / loss
    print(f"{folder}: logits rel L2 {err:.1e}, loss rel {loss_err:.1e}")
    assert err <= LOGITS_TOL and loss_err <= LOSS_TOL
