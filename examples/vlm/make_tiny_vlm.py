"""Make the embedded multimodal example offline and deterministically: two tiny vision-language model
folders with their processors, and a small LLaVA-format image/text data set.

    python examples/vlm/make_tiny_vlm.py      # rewrites the files below (same bytes every time)

- tiny-llava/: LlavaForConditionalGeneration (a CLIP vision tower, image 32x32 in 8x8 patches, a 2-layer
  GELU projector, a Llama language model; hidden 32, 2 layers each, seed 0) with its LlavaProcessor
  (CLIPImageProcessor: resize + centre-crop to 32, CLIP mean/std; 16 `<image>` tokens per image);
- tiny-qwen2-vl/: Qwen2VLForConditionalGeneration (its vision transformer with 2x2 patch merger, image
  patches of 8 px, 3-D multimodal rope) with its Qwen2VLProcessor 's image processor and tokenizer files
  (images resized to multiples of 16 px within 32x32 .. 64x64 pixels; 9 image tokens for a 48x48 image);
- data/: 48 PNG images of coloured shapes (core/data/images.draw, 48x48) and llava.json, 96 MindSpeed-MM /
  LLaVA rows (`conversations` with `from`/`value`, `<image>` placeholders, an optional `image`): 48 rows ask
  about an image (what shape, what colour, describe), 16 rows hold two images, 32 rows are text only.

Both tokenizers are the SFT example's byte-level BPE (examples/sft/tiny-model, vocab 512) plus the
model's image tokens; the chat template is ChatML.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
BASE_TOKENIZER = REPO / "examples" / "sft" / "tiny-model"
DATA = HERE / "data"
IMAGE_SIZE = 48  # the files; each processor resizes them to its own input size
N_IMAGES = 48
TEXT = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            head_dim=8, max_position_embeddings=512, tie_word_embeddings=False)
COLOURS = {"red": (0.95, 0.15, 0.1), "green": (0.1, 0.85, 0.2), "blue": (0.15, 0.3, 0.95),
           "yellow": (0.95, 0.9, 0.1), "white": (0.95, 0.95, 0.95)}


def tokenizer(extra: list[str]):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(BASE_TOKENIZER)
    tok.add_tokens(extra, special_tokens=True)
    return tok


def finish(folder: Path) -> None:
    """Portable tokenizer class and file modes (safetensors writes 0600; the folder ships like source)."""
    from examples.sft.make_tiny import portable_tokenizer_class

    portable_tokenizer_class(folder / "tokenizer_config.json")
    umask = os.umask(0)
    os.umask(umask)
    for path in folder.iterdir():
        os.chmod(path, 0o666 & ~umask)


def make_llava() -> int:
    import torch
    import transformers as t

    folder = HERE / "tiny-llava"
    tok = tokenizer(["<image>"])
    image_id = tok.convert_tokens_to_ids("<image>")
    vision = t.CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                                image_size=32, patch_size=8, projection_dim=32)
    text = t.LlamaConfig(vocab_size=len(tok), pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                         bos_token_id=None, **{k: v for k, v in TEXT.items() if k != "tie_word_embeddings"})
    config = t.LlavaConfig(vision_config=vision.to_dict(), text_config=text.to_dict(), image_token_id=image_id,
                           image_seq_length=16, projector_hidden_act="gelu", tie_word_embeddings=False)
    torch.manual_seed(0)
    model = t.LlavaForConditionalGeneration(config)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(folder)
    images = t.CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = t.LlavaProcessor(image_processor=images, tokenizer=tok, patch_size=8,
                                 vision_feature_select_strategy="default", num_additional_image_tokens=1,
                                 chat_template=tok.chat_template)
    processor.save_pretrained(folder)
    finish(folder)
    return sum(p.numel() for p in model.parameters())


def make_qwen2_vl() -> int:
    import torch
    import transformers as t

    folder = HERE / "tiny-qwen2-vl"
    tok = tokenizer(["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"])
    ids = {n: tok.convert_tokens_to_ids(n) for n in ("<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
                                                     "<|video_pad|>")}
    text = dict(TEXT, vocab_size=len(tok), pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                bos_token_id=None, rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                                    "mrope_section": [2, 1, 1]})
    vision = dict(depth=2, embed_dim=32, hidden_size=32, num_heads=4, mlp_ratio=2, patch_size=8,
                  spatial_merge_size=2, temporal_patch_size=2)
    config = t.Qwen2VLConfig(text_config=text, vision_config=vision, image_token_id=ids["<|image_pad|>"],
                             video_token_id=ids["<|video_pad|>"], vision_start_token_id=ids["<|vision_start|>"],
                             vision_end_token_id=ids["<|vision_end|>"], tie_word_embeddings=False)
    torch.manual_seed(0)
    model = t.Qwen2VLForConditionalGeneration(config)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(folder)
    images = t.Qwen2VLImageProcessorPil(patch_size=8, merge_size=2, temporal_patch_size=2,
                                        size={"shortest_edge": 32 * 32, "longest_edge": 64 * 64})
    # The files Qwen2VLProcessor.save_pretrained would write for images and text; the processor itself
    # cannot be built here: its video processor needs torchvision, which has no wheel for CPU-only torch.
    images.save_pretrained(folder)
    tok.save_pretrained(folder)
    finish(folder)
    return sum(p.numel() for p in model.parameters())


def make_images() -> list[tuple[str, str, str]]:
    """(file name, shape, colour) of each image; a coloured shape on a dark plain background."""
    import numpy as np
    from PIL import Image

    from core.data.images import SHAPES, _mask

    DATA.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(N_IMAGES):
        rng = np.random.default_rng([20261202, i])
        shape, colour = SHAPES[i % len(SHAPES)], list(COLOURS)[(i // len(SHAPES)) % len(COLOURS)]
        r = rng.uniform(0.22, 0.32)
        cy, cx = rng.uniform(0.5 - (0.45 - r), 0.5 + (0.45 - r), size=2)
        coords = (np.arange(IMAGE_SIZE) + 0.5) / IMAGE_SIZE
        yy, xx = np.meshgrid(coords, coords, indexing="ij")
        mask = _mask(shape, yy, xx, cy, cx, r)[..., None]
        background = np.broadcast_to(rng.uniform(0.05, 0.25, size=3), (IMAGE_SIZE, IMAGE_SIZE, 3))
        pixels = np.where(mask, np.asarray(COLOURS[colour]), background)
        name = f"shape_{i:02d}.png"
        Image.fromarray((pixels * 255).round().astype(np.uint8)).save(DATA / name, optimize=True)
        out.append((name, shape, colour))
    return out


def make_rows(images: list[tuple[str, str, str]]) -> list[dict]:
    from examples.sft.make_tiny import corpus_text, sentences, task

    rng = random.Random(0)
    sents = sentences(corpus_text())
    rows = []
    for name, shape, colour in images:
        kind = rng.randrange(3)
        question, answer = [("What shape is in the picture?", f"A {shape}."),
                            ("What colour is the shape?", f"It is {colour}."),
                            ("Describe the image.", f"A {colour} {shape} on a dark background.")][kind]
        rows.append({"image": name, "conversations": [{"from": "human", "value": f"<image>\n{question}"},
                                                      {"from": "gpt", "value": answer}]})
    for _ in range(16):
        (a, sa, ca), (b, sb, cb) = rng.sample(images, 2)
        rows.append({"image": [a, b], "conversations": [
            {"from": "human", "value": "<image>\n<image>\nWhat shapes are in the two pictures?"},
            {"from": "gpt", "value": f"A {ca} {sa} and a {cb} {sb}."}]})
    for _ in range(32):
        _, _, prompt, answer = task(rng, sents)
        rows.append({"conversations": [{"from": "human", "value": prompt}, {"from": "gpt", "value": answer}]})
    rng.shuffle(rows)
    return rows


def main() -> int:
    n_llava, n_qwen = make_llava(), make_qwen2_vl()
    rows = make_rows(make_images())
    (DATA / "llava.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print(f"wrote tiny-llava ({n_llava:,} parameters), tiny-qwen2-vl ({n_qwen:,} parameters), "
          f"data/ ({N_IMAGES} images, {len(rows)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
