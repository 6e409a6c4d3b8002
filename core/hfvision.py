"""Vision-language Hugging Face models (LLaVA, Qwen2-VL) with the trainer's forward, on torch.

The batch (core/data/sft image slots, core/data/sft/image_files.py) gives every row K image slots:
pixel_values (B, K, *image) float32, image_mask (B, K) 1 where a slot holds an image, image_grid_thw
(B, K, 3) for Qwen2-VL (image (Pmax, D): its first t*h*w patch rows are real). The real images, in
row-major slot order (the order of their tokens in input_ids), go to transformers as its processor
would give them: LLaVA pixel_values (N, 3, H, W); Qwen2-VL pixel_values (sum of patches, D) and
image_grid_thw (N, 3). A batch with no image at all runs the language model alone (pixel_values None).
The MindSpore backend builds the same contract from transformers' converted source
(backends/mindspore/hf_vlm.py).

    model = vision_contract_class(transformers.LlavaForConditionalGeneration).from_pretrained(folder)
    loss = model(input_ids, labels, attention_mask, pixel_values=pv, image_mask=mask)
"""

from __future__ import annotations

import functools


def real_images(pixel_values, image_mask, image_grid_thw=None) -> dict:
    """The keyword arguments transformers takes for the real images of the slots ({} when none)."""
    import torch

    if pixel_values is None or image_mask is None:
        return {}
    sel = image_mask.bool()
    if not bool(sel.any()):
        return {}
    pixels = pixel_values[sel]  # (N, *image)
    if image_grid_thw is None:
        return {"pixel_values": pixels}
    grid = image_grid_thw[sel]  # (N, 3)
    patches = grid.prod(-1).tolist()
    return {"pixel_values": torch.cat([pixels[i, :n] for i, n in enumerate(patches)]), "image_grid_thw": grid}


@functools.cache
def vision_contract_class(hf_class: type) -> type:
    """`hf_class` (a ...ForConditionalGeneration) with the trainer's forward; names and loading stay its own."""
    import torch.nn.functional as F

    class VisionLM(hf_class):
        inputs_may_skip_parameters = True  # no image in a batch: the vision tower gets no gradient (DDP)

        @classmethod
        def is_custom_code(cls) -> bool:
            # transformers' class with only forward changed: keep its checkpoint key conversions
            # (legacy `language_model.model.*` names) on load and on save_pretrained
            return False

        def forward(self, input_ids, labels=None, attention_mask=None, pixel_values=None, image_mask=None,
                    image_grid_thw=None):
            images = real_images(pixel_values, image_mask, image_grid_thw)
            if "image_grid_thw" in images:  # Qwen2-VL's multimodal rope: which tokens are image tokens (0 text, 1 image)
                images["mm_token_type_ids"] = (input_ids == self.config.image_token_id).int()
            out = super().forward(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, **images)
            logits = out.logits  # (B, T, V)
            if labels is None:
                return logits
            # labels are the next tokens already (core.data), so no shift here
            return F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100)

    VisionLM.__name__ = hf_class.__name__  # save_pretrained writes architectures=[class name]
    VisionLM.__qualname__ = f"mindbridge.{hf_class.__name__}"
    return VisionLM
