"""Images in SFT rows: the `image` column, the model's image processor and the `<image>` placeholders.

Rows in the MindSpeed-MM / LLaVA format carry `image` (one path or a list; LLaMA-Factory's `images` is
the same) and one `<image>` per image in their text, in order; rows without images may be mixed in.
A row with images but no `<image>` gets them at the start of its first user message (LLaMA-Factory's
rule); any other count mismatch is a one-line error naming the row. Paths are relative to --image-dir
(default: the folder of the data file).

Each `<image>` becomes the family's own markers (VISION_FAMILIES, by the processor folder's model_type),
is tokenised with the text, and its image token is then repeated once per image feature, exactly as the
model's transformers processor expands it (tests/data/test_sft_images.py compares the ids). Expanded
image tokens are never trained. Pixels come from transformers' image processor of the folder (resize,
rescale, normalise; the Pillow backend, so torchvision is not needed), one float32 array per image:
(3, H, W) for LLaVA, (patches, C*T*P*P) plus a (t, h, w) grid for Qwen2-VL.

    vision = Vision("ckpt/my_vlm")
    ids, mask, images = vision.expand(ids, mask, vision.pixels(paths, where), where)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.data.sft.tokenizer import named_files_digest
from core.errors import DataError

PLACEHOLDER = "<image>"
IMAGE_KEYS = ("image", "images")
PROCESSOR_FILES = ("config.json", "preprocessor_config.json", "processor_config.json")


@dataclass(frozen=True)
class Image:
    """One processed image: its pixel array, the tokens it takes in the text, and its grid when it has one."""

    pixels: np.ndarray  # float32
    tokens: int
    grid: tuple[int, int, int] | None = None  # (t, h, w) patches, Qwen2-VL


def _llava_tokens(folder_config: dict, processor_config: dict) -> Callable[[np.ndarray, Any], int]:
    patch = int(processor_config.get("patch_size") or folder_config["vision_config"].get("patch_size", 14))
    extra = int(processor_config.get("num_additional_image_tokens", 0))
    strategy = processor_config.get("vision_feature_select_strategy",
                                    folder_config.get("vision_feature_select_strategy", "default"))

    def tokens(pixels: np.ndarray, grid) -> int:  # LlavaProcessor.replace_image_token
        h, w = pixels.shape[-2:]
        return (h // patch) * (w // patch) + extra - (1 if strategy == "default" else 0)
    return tokens


def _qwen_vl_tokens(folder_config: dict, processor_config: dict) -> Callable[[np.ndarray, Any], int]:
    merge = int(processor_config.get("merge_size") or folder_config["vision_config"].get("spatial_merge_size", 2))

    def tokens(pixels: np.ndarray, grid) -> int:  # Qwen2VLProcessor.replace_image_token
        return int(np.prod(grid)) // (merge * merge)
    return tokens


@dataclass(frozen=True)
class VisionFamily:
    placeholder: str  # what one <image> becomes in the text before tokenising
    image_token: str  # the token the processor repeats once per image feature
    token_count: Callable[[dict, dict], Callable[[np.ndarray, Any], int]]


VISION_FAMILIES = {  # config.json model_type -> how its processor writes images into the text
    "llava": VisionFamily("<image>", "<image>", _llava_tokens),
    "qwen2_vl": VisionFamily("<|vision_start|><|image_pad|><|vision_end|>", "<|image_pad|>", _qwen_vl_tokens),
    "qwen2_5_vl": VisionFamily("<|vision_start|><|image_pad|><|vision_end|>", "<|image_pad|>", _qwen_vl_tokens),
    "qwen3_vl": VisionFamily("<|vision_start|><|image_pad|><|vision_end|>", "<|image_pad|>", _qwen_vl_tokens),
}


def _read(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e})") from None


def processor_digest(folder: str | Path | None) -> str | None:
    """SHA-256 over the processor's config files (part of the prepare cache key)."""
    return named_files_digest(folder, PROCESSOR_FILES) if folder else None


def row_images(row: Any, where: str) -> list[str]:
    """The image paths a row names ([] for a text-only row)."""
    if not isinstance(row, dict):
        return []
    value = next((row[k] for k in IMAGE_KEYS if row.get(k) not in (None, "", [])), [])
    paths = [value] if isinstance(value, str) else value
    if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
        raise DataError(f"{where}: 'image' must be a path or a list of paths")
    return paths


def place_images(messages: list[dict], n_images: int, where: str, family: VisionFamily) -> list[dict]:
    """Messages with each <image> replaced by the family's markers; the count must match the row's images."""
    found = sum(m["content"].count(PLACEHOLDER) for m in messages)
    if found == 0 and n_images:
        first = next(i for i, m in enumerate(messages) if m["role"] == "user")
        messages = [dict(m) for m in messages]
        messages[first]["content"] = PLACEHOLDER * n_images + messages[first]["content"]
    elif found != n_images:
        raise DataError(f"{where}: {found} {PLACEHOLDER} placeholder(s) in the conversation but {n_images} image(s)")
    return [{**m, "content": m["content"].replace(PLACEHOLDER, family.placeholder)} for m in messages]


def is_vision_folder(folder: str | Path) -> bool:
    """A model folder of a VISION_FAMILIES type with an image processor config."""
    folder = Path(folder)
    has_processor = any((folder / n).is_file() for n in ("preprocessor_config.json", "processor_config.json"))
    return has_processor and _read(folder / "config.json").get("model_type") in VISION_FAMILIES


def image_folder(data_file: str, image_dir: str | None) -> Path:
    return Path(image_dir).expanduser() if image_dir else Path(data_file).parent


class Vision:
    """A processor folder's image processor and its family's placeholder rules (one per worker)."""

    def __init__(self, folder: str | Path, tokenizer):
        folder = Path(folder).expanduser()
        config = _read(folder / "config.json")
        model_type = config.get("model_type")
        self.family = VISION_FAMILIES.get(model_type)
        if self.family is None:
            raise DataError(f"--processor {folder}: model_type {model_type!r} in config.json is not a vision-language "
                            f"family mindbridge prepares images for (known: {', '.join(VISION_FAMILIES)})")
        processor_config = _read(folder / "processor_config.json")
        image_config = {**_read(folder / "preprocessor_config.json"), **processor_config.get("image_processor", {})}
        self._tokens = self.family.token_count(config, {**image_config, **processor_config})
        from transformers import AutoImageProcessor

        try:
            self.processor = AutoImageProcessor.from_pretrained(str(folder), local_files_only=True)
        except Exception as e:
            raise DataError(f"--processor {folder}: transformers cannot load its image processor "
                            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.family.image_token)
        if self.image_token_id is None or self.image_token_id == getattr(tokenizer, "unk_token_id", None):
            raise DataError(f"--processor {folder}: the tokenizer has no {self.family.image_token} token")

    def pixels(self, paths: list[Path], where: str) -> list[Image]:
        """Each image read with Pillow (RGB) and processed as the model's processor does."""
        if not paths:
            return []
        from PIL import Image as PILImage, UnidentifiedImageError

        pictures = []
        for path in paths:
            try:
                with PILImage.open(path) as im:
                    pictures.append(im.convert("RGB"))
            except FileNotFoundError:
                raise DataError(f"{where}: image not found: {path}") from None
            except (UnidentifiedImageError, OSError) as e:
                raise DataError(f"{where}: {path} is not a readable image ({e})") from None
        out = self.processor(images=pictures, return_tensors="np")
        values = np.asarray(out["pixel_values"], dtype=np.float32)
        grids = out.get("image_grid_thw")
        if grids is None:
            return [Image(v, self._tokens(v, None)) for v in values]
        grids = np.asarray(grids, dtype=np.int64)
        ends = np.cumsum(grids.prod(-1))
        rows = np.split(values, ends[:-1])
        return [Image(r, self._tokens(r, g), tuple(int(x) for x in g)) for r, g in zip(rows, grids)]

    def expand(self, ids: np.ndarray, mask: np.ndarray, images: list[Image], where: str):
        """ids/mask with each image token repeated for its image's features (mask 0 there)."""
        at = np.nonzero(ids == self.image_token_id)[0]
        if len(at) != len(images):
            raise DataError(f"{where}: the text holds {len(at)} {self.family.image_token} token(s) for "
                            f"{len(images)} image(s)")
        if not len(at):
            return ids, mask
        repeat = np.ones(len(ids), dtype=np.int64)
        repeat[at] = [im.tokens for im in images]
        out_mask = mask.copy()
        out_mask[at] = 0
        return np.repeat(ids, repeat), np.repeat(out_mask, repeat)
