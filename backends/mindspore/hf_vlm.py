"""A Hugging Face vision-language model on MindSpore with the trainer's VLM contract: transformers' own
LlavaForConditionalGeneration / Qwen2VLForConditionalGeneration / Qwen2_5_VLForConditionalGeneration /
Qwen3VLForConditionalGeneration,
converted by the codemods (backends/mindspore/hf_loader.py), subclassed, not wrapped, so parameters
keep transformers' names. The torch side is core/hfvision.py; both select the images the same way.

    construct(input_ids, labels=None, attention_mask=None, pixel_values=None, image_mask=None, image_grid_thw=None)

- input_ids (B, T) already hold the expanded image tokens; labels (B, T) are the next tokens, -100 ignored;
- pixel_values (B, K, *image): K image slots per row. LLaVA: image (3, H, W). Qwen2-VL: image (Pmax, D)
  patch rows, of which the first t*h*w (image_grid_thw[b, k]) are real;
- image_mask (B, K): 1 where slot k of row b holds an image; images go to the model in row-major (b, k)
  order, the order of their tokens in input_ids; image_grid_thw (B, K, 3) (Qwen2-VL only);
- with no image in the batch the model gets pixel_values=None (a text-only forward);
- Qwen2-VL's M-RoPE needs mm_token_type_ids with image_grid_thw: 1 where input_ids is the image token,
  else 0 (what its processor returns for images);
- returns the logits (B, T, V), or with labels the mean cross-entropy (ignore_index -100), as
  backends/mindspore/hf_model.contract_class does.
"""

from __future__ import annotations

import functools
import inspect


@functools.cache
def contract_class(converted: type) -> type:
    """The converted conditional-generation class with the trainer's VLM construct."""
    import numpy as np

    import mindspore
    from mindspore import mint

    token_types = "mm_token_type_ids" in inspect.signature(converted.construct).parameters

    class VisionLM(converted):
        def construct(self, input_ids, labels=None, attention_mask=None, pixel_values=None, image_mask=None,
                      image_grid_thw=None):
            extra = {}
            picked = np.zeros(0, np.int64)
            if pixel_values is not None and image_mask is not None:
                picked = np.flatnonzero(image_mask.asnumpy())
            if picked.size:  # the images, in row-major (b, k) order
                index = mindspore.Tensor(picked, mindspore.int64)
                pv = pixel_values.reshape(-1, *pixel_values.shape[2:])[index]  # (N, *image)
                if image_grid_thw is not None:
                    thw = image_grid_thw.reshape(-1, 3)[index]  # (N, 3)
                    counts = thw.asnumpy().prod(-1).tolist()
                    pv = mint.cat([pv[i, :k] for i, k in enumerate(counts)])  # (sum t*h*w, D)
                    extra["image_grid_thw"] = thw
                    if token_types:
                        extra["mm_token_type_ids"] = (input_ids == self.config.image_token_id).astype(mindspore.int32)
                extra["pixel_values"] = pv
            out = super().construct(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, **extra)
            logits = out.logits  # (B, T, V)
            if labels is None:
                return logits
            return mint.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                                    ignore_index=-100)

    VisionLM.__name__ = converted.__name__
    VisionLM.__qualname__ = f"mindbridge.{converted.__name__}"
    return VisionLM
