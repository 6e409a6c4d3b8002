"""Hugging Face models trained as they are: `model.source: hf:DIR`, a local folder built by transformers.

    model:
      source: hf:Qwen2.5-0.5B/      # config.json + *.safetensors (sharded or not), relative to the recipe
      config: {}                    # optional: must agree with config.json (checked), may set what it leaves out

    python -m core.checkpoint hf-info Qwen2.5-0.5B/   # what the folder holds and whether it runs here

`inspect_folder` reads only JSON and safetensors headers, so it runs in recipe validation and in
hf-info without torch; every problem is one RecipeError line naming the file and the key.
`build_torch_model` (the torch backend's build) imports transformers and torch inside the call.
The model keeps transformers' class and parameter names (our checkpoints hold Hugging Face names);
only `forward` is adapted to the trainer's contract: `forward(input_ids, labels=None,
attention_mask=None, position_ids=None, segment_ids=None)` returns the logits (B, T, V), or with labels
(already the next tokens, -100 ignored) the mean cross-entropy; packed rows as in contract_class. The
MindSpore backend builds the same contract from transformers' own modeling source, converted
(backends/mindspore/hf_model.py).
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.checkpoint.hf import _same  # model.config vs config.json: the comparison hf-import uses
from core.errors import RecipeError

PREFIX = "hf:"
INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json", "merges.txt",
                   "vocab.txt", "special_tokens_map.json", "added_tokens.json", "chat_template.jinja")
GENERATION_FILES = ("generation_config.json",)
PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json", "video_preprocessor_config.json",
                   "chat_template.json")  # image-text models: copied on export like the tokenizer
_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
_DTYPE_NAMES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64"}


@dataclass(frozen=True)
class Family:
    model_class: str  # the transformers causal-LM class built for this model_type
    verified: str  # what tests/hf/test_hf_torch.py checks for it (fp32, CPU)
    vision: bool = False  # an image-text model: the trainer's forward takes image slots (core/hfvision.py)


_VERIFIED = ("logits and loss equal transformers' own (fp32, within 1e-6); 10 steps on both backends within 1e-4 "
             "(core.parity); hf-export loads back in transformers with the trained logits (tests/hf)")
_VISION = ("image-text: mixed image/text-only batches, freeze switches, 10 steps on both backends within 1e-4, "
           "hf-export with the same logits (tests/vlm)")
SUPPORTED: dict[str, Family] = {  # config.json model_type -> family, on both backends
    "llama": Family("LlamaForCausalLM", _VERIFIED + "; sharded folders, resume"),
    "mistral": Family("MistralForCausalLM", _VERIFIED + " (sliding window); resume"),
    "qwen2": Family("Qwen2ForCausalLM", _VERIFIED + " (QKV bias); resume"),
    "qwen3": Family("Qwen3ForCausalLM", _VERIFIED + " (QK norm)"),
    "gpt2": Family("GPT2LMHeadModel", _VERIFIED + " (tied head)"),
    "mixtral": Family("MixtralForCausalLM", _VERIFIED + " (router aux loss included as transformers adds it)"),
    "qwen2_moe": Family("Qwen2MoeForCausalLM", _VERIFIED + " (shared expert, router aux loss)"),
    "qwen3_moe": Family("Qwen3MoeForCausalLM", _VERIFIED + " (router aux loss)"),
    "llava": Family("LlavaForConditionalGeneration", _VISION + " (CLIP or SigLIP vision tower, Llama)", vision=True),
    "qwen2_vl": Family("Qwen2VLForConditionalGeneration", _VISION + " (multimodal rope, patch merger)", vision=True),
    "qwen2_5_vl": Family("Qwen2_5_VLForConditionalGeneration", _VISION + " (window attention in the vision blocks)",
                         vision=True),
    "qwen3_vl": Family("Qwen3VLForConditionalGeneration", "image-text (deepstack mergers, interleaved M-RoPE, "
                       "resampled position table): logits and gradients on MindSpore equal transformers' (tests/hf/"
                       "test_vlm_mindspore.py), <image> ids and pixels equal Qwen3VLProcessor's (tests/vlm/"
                       "test_vlm_data.py); 10 steps on both backends within 1e-4 measured (docs/multimodal.md)",
                       vision=True),
}
# MindSpore runs the family's own transformers modeling source, converted (backends/mindspore/hf_loader.py)
MINDSPORE = ("yes: transformers' modeling source converted (tests/hf/test_hf_mindspore.py; image-text: "
             "tests/hf/test_vlm_mindspore.py, tests/vlm); PyNative")


def supported_list() -> str:
    return ", ".join(f"{t} ({f.model_class})" for t, f in sorted(SUPPORTED.items()))


@dataclass(frozen=True)
class HFFolder:
    path: Path
    config: dict[str, Any]  # config.json as read
    model_type: str
    architecture: str  # config.json architectures[0]
    weight_files: tuple[Path, ...]  # model.safetensors, or the shards the index names
    index: Path | None  # model.safetensors.index.json when sharded
    tokenizer_files: tuple[str, ...]
    generation_files: tuple[str, ...]

    @property
    def config_file(self) -> Path:
        return self.path / "config.json"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise RecipeError(f"{path}: not valid JSON (line {e.lineno} column {e.colno}: {e.msg})") from None
    except UnicodeDecodeError:
        raise RecipeError(f"{path}: not a UTF-8 text file") from None


def _weights(folder: Path) -> tuple[tuple[Path, ...], Path | None]:
    index = folder / INDEX
    if index.is_file():
        raw = _read_json(index)
        weight_map = raw.get("weight_map") if isinstance(raw, dict) else None
        if not isinstance(weight_map, dict) or not weight_map:
            raise RecipeError(f"{index}: no 'weight_map' key (a mapping of tensor name -> shard file)")
        shards = sorted(set(weight_map.values()), key=str)
        absent = [s for s in shards if not isinstance(s, str) or not (folder / s).is_file()]
        if absent:
            tensor = next(k for k, v in weight_map.items() if v == absent[0])
            more = f" (and {len(absent) - 1} more missing shard(s))" if len(absent) > 1 else ""
            raise RecipeError(f"{index}: weight_map['{tensor}'] names {absent[0]!r}, which is not in {folder}{more}")
        return tuple(folder / s for s in shards), index
    if (folder / SINGLE).is_file():
        return (folder / SINGLE,), None
    other = sorted(p.name for p in folder.iterdir() if p.suffix in (".safetensors", ".bin", ".pt", ".pth"))
    hint = f" (found {', '.join(other[:3])}; re-save with save_pretrained(), which writes safetensors)" if other else ""
    raise RecipeError(f"{folder}: no weights: neither {SINGLE} nor {INDEX}{hint}")


def inspect_folder(folder: str | Path) -> HFFolder:
    """What a local Hugging Face folder holds; a RecipeError (one line, file and key) when it is not usable."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise RecipeError(f"{path}: no such folder (expected a Hugging Face model folder with config.json)")
    cfg_file = path / "config.json"
    if not cfg_file.is_file():
        raise RecipeError(f"{path}: no config.json (not a Hugging Face model folder)")
    cfg = _read_json(cfg_file)
    if not isinstance(cfg, dict):
        raise RecipeError(f"{cfg_file}: expected a JSON object, got {type(cfg).__name__}")
    model_type = cfg.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise RecipeError(f"{cfg_file}: no 'model_type' key (e.g. \"llama\")")
    archs = cfg.get("architectures")
    if not isinstance(archs, list) or not archs or not all(isinstance(a, str) for a in archs):
        raise RecipeError(f"{cfg_file}: no 'architectures' key (a list such as [\"LlamaForCausalLM\"])")
    files, index = _weights(path)
    tokenizer = tuple(n for n in TOKENIZER_FILES if (path / n).is_file())
    generation = tuple(n for n in GENERATION_FILES if (path / n).is_file())
    return HFFolder(path.resolve(), cfg, model_type, archs[0], files, index, tokenizer, generation)


def family_of(info: HFFolder) -> Family:
    """The SUPPORTED entry of a folder, or a one-line RecipeError listing the supported ones."""
    family = SUPPORTED.get(info.model_type)
    if family is None:
        raise RecipeError(f"{info.config_file}: model_type '{info.model_type}' ({info.architecture}) is not "
                          f"supported; supported: {supported_list()}")
    if info.architecture != family.model_class:
        raise RecipeError(f"{info.config_file}: architectures[0] is '{info.architecture}', but mindbridge trains "
                          f"{family.model_class} for model_type '{info.model_type}'; supported: {supported_list()}")
    return family


def tensor_summary(info: HFFolder) -> tuple[int, Counter, int]:
    """(parameter count, tensors per safetensors dtype, bytes) from the files' headers; no weights loaded."""
    from safetensors import safe_open

    count, dtypes, nbytes = 0, Counter(), 0
    for f in info.weight_files:
        try:
            with safe_open(str(f), "np") as fh:
                for name in fh.keys():
                    sl = fh.get_slice(name)
                    n = 1
                    for d in sl.get_shape():
                        n *= d
                    count += n
                    dtypes[sl.get_dtype()] += 1
                    nbytes += n * _BYTES.get(sl.get_dtype(), 4)
        except Exception as e:  # noqa: BLE001 -- safetensors raises several types for damaged files
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise RecipeError(f"{f}: unreadable safetensors header ({first})") from None
    return count, dtypes, nbytes


def dtype_name(st_dtype: str) -> str:
    return _DTYPE_NAMES.get(st_dtype, st_dtype)


# ---------------------------------------------------------------- recipes


def is_hf_source(spec: str) -> bool:
    return spec.startswith(PREFIX)


def source_folder(spec: str, base_dir: str | Path = ".") -> Path:
    """DIR of 'hf:DIR', relative to the recipe's folder like file sources."""
    path = Path(spec[len(PREFIX):]).expanduser()
    return path if path.is_absolute() else Path(base_dir) / path


def check_recipe(recipe) -> HFFolder:
    """Recipe validation of `model.source: hf:DIR`: the folder, its family and model.config against config.json."""
    key = "recipe key 'model.source'"
    if not recipe.model.source[len(PREFIX):].strip():
        raise RecipeError(f"{key} 'hf:' needs a folder, e.g. 'hf:Qwen2.5-0.5B/'")
    if is_hf_source(recipe.model.init_from):
        raise RecipeError("recipe key 'model.init_from': hf: sources load their weights from the folder already; "
                          "leave model.init_from empty (or name a checkpoint of this model)")
    try:
        info = inspect_folder(source_folder(recipe.model.source, recipe.base_dir))
        family_of(info)
    except RecipeError as e:
        raise RecipeError(f"{key}: {e}") from None
    check_config(info, recipe.model.config)
    return info


def config_vocab_size(spec: str, base_dir: str | Path = ".") -> tuple[int | None, str]:
    """(config.json's vocab_size, 'FILE has vocab_size:') of an hf: source, for the trainer's data check."""
    info = inspect_folder(source_folder(spec, base_dir))
    vocab = info.config.get("vocab_size", (info.config.get("text_config") or {}).get("vocab_size"))
    return vocab, f"{info.config_file} has vocab_size:"


def check_config(info: HFFolder, config: dict[str, Any]) -> None:
    """A model.config key that config.json also sets must have the same value."""
    for k, v in config.items():
        if k in info.config and not _same(v, info.config[k]):
            raise RecipeError(f"recipe key 'model.config.{k}' is {v!r}, but {info.config_file} has "
                              f"{k}: {info.config[k]!r}; drop the key or make them agree")


# ---------------------------------------------------------------- torch (imports inside the calls)


@functools.cache
def contract_class(hf_class: type) -> type:
    """`hf_class` with the trainer's forward; parameters, names and loading stay transformers' own.

    Packed rows (core.data `--pack`): `position_ids` (B, T) restart at 0 per sample and go to transformers
    (rotary or absolute positions restart). With `segment_ids` (B, T) (`--neat-pack`: 1, 2, .. per sample,
    0 on padding) attention stays inside each sample: the 2-D attention_mask is then left out, which is
    transformers' own packed format (masking_utils.find_packed_sequence_indices: with position_ids and no
    2-D mask, each restart of position_ids begins a new block of a block-diagonal causal mask, sliding
    windows included; tests/hf/test_hf_packing.py checks sdpa and eager). The batch contract makes those restarts
    the segment boundaries; the padding tail lies after every real token, so no real token sees it. The
    MoE router loss still leaves the padding out (mask segment_ids != 0), as it does with attention_mask.
    Without segment_ids (plain `--pack`) the 2-D mask is kept and attention crosses samples, as in
    LLaMA-Factory's `packing` without `neat_packing`."""
    import sys

    import torch.nn.functional as F

    class CausalLM(hf_class):
        def forward(self, input_ids, labels=None, attention_mask=None, position_ids=None, segment_ids=None):
            if segment_ids is not None and position_ids is None:
                raise ValueError("segment_ids (neat packing) need position_ids that restart at 0 in each sample")
            mask = None if segment_ids is not None else attention_mask
            out = super().forward(input_ids=input_ids, attention_mask=mask, position_ids=position_ids,
                                  use_cache=False)
            logits = out.logits  # (B, T, V)
            if labels is None:
                return logits
            # labels are the next tokens already (core.data), so no shift here, unlike transformers' own loss
            loss = F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100)
            aux = getattr(out, "aux_loss", None)  # MoE router loss, when config.output_router_logits is set
            if aux is not None and segment_ids is not None:  # the router loss over real tokens only
                balance = sys.modules[hf_class.__module__].load_balancing_loss_func
                aux = balance(out.router_logits, self.num_experts, self.num_experts_per_tok, segment_ids != 0)
            if aux is not None:
                loss = loss + self.config.router_aux_loss_coef * aux.to(loss.device)
            return loss

    # save_pretrained writes architectures=[class name]: keep transformers' name so the folder reads back
    CausalLM.__name__ = hf_class.__name__
    CausalLM.__qualname__ = f"mindbridge.{hf_class.__name__}"
    return CausalLM


def make_config(info: HFFolder, family: Family, config: dict[str, Any] | None = None):
    """transformers' config object of the folder, with the model.config keys config.json leaves out (both backends)."""
    import transformers

    hf_config = getattr(transformers, family.model_class).config_class.from_pretrained(str(info.path),
                                                                                      local_files_only=True)
    for k, v in (config or {}).items():
        if k not in info.config and not hasattr(hf_config, k):
            raise RecipeError(f"recipe key 'model.config.{k}' is not a setting of {type(hf_config).__name__} "
                              f"({info.config_file})")
        if k not in info.config:
            setattr(hf_config, k, v)
    return hf_config


def load_torch_model(folder: str | Path, config: dict[str, Any] | None = None):
    """The folder's model in fp32 (master weights; train.precision autocasts) with the trainer's forward.

    `config`: model.config keys config.json leaves out but the config class knows (e.g. attention_dropout);
    keys that contradict config.json are rejected by check_recipe before this runs."""
    import torch
    import transformers

    info = inspect_folder(folder)
    family = family_of(info)
    check_config(info, config or {})
    hf_class = getattr(transformers, family.model_class)
    hf_config = make_config(info, family, config)
    if family.vision:
        from core.hfvision import vision_contract_class

        contract = vision_contract_class(hf_class)
    else:
        contract = contract_class(hf_class)
    model, loading = contract.from_pretrained(
        str(info.path), config=hf_config, local_files_only=True, dtype=torch.float32, output_loading_info=True)
    for what in ("missing_keys", "mismatched_keys", "unexpected_keys"):
        names = sorted(str(n) for n in loading.get(what) or ())
        if names:
            raise RecipeError(f"{info.path}: the weights do not fit {family.model_class} of config.json: "
                              f"{what.replace('_', ' ')} {names[:5]}")
    return model


def build_torch_model(recipe):
    """The torch backend's build for `model.source: hf:DIR`."""
    return load_torch_model(source_folder(recipe.model.source, recipe.base_dir), recipe.model.config)
