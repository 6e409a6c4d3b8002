"""The training recipe: schema (dataclasses), YAML loading, `--set a.b=c` overrides, validation.

Precedence (applied by core.launch.resolve_recipe): `--backend`/`--device` flags > `--set` overrides >
MINDBRIDGE_BACKEND > recipe file > defaults below. Every bad input raises RecipeError with one line
that names the key path and what was expected:

    >>> load_recipe("examples/llama/tiny.yaml", overrides=["train.steps=50", "optim.lr=3e-4"])

Framework-neutral: imports neither torch nor mindspore.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import RecipeError
from core.registry import canonical_backend

DEVICES = ("auto", "cpu", "cuda", "npu", "gpu")
PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass
class ModelConfig:
    source: str = ""  # "model.py:Llama" (file relative to the recipe), "package.module:Llama" or "hf:DIR"
    config: dict[str, Any] = field(default_factory=dict)  # keyword arguments of the model class
    init_from: str = ""  # optional: checkpoint dir / .safetensors file to start from
    freeze: list[str] = field(default_factory=list)  # parameter-name patterns, or vision_tower/projector/language_model
    lora: dict[str, Any] = field(default_factory=dict)  # {r, alpha, dropout, target_modules} (core/finetune/lora.py)


@dataclass
class DataConfig:
    source: str = "embedded"  # "embedded", a .txt/.jsonl file, a prepared token file, or "shapes" (images)
    seq_len: int = 128  # tokens per sequence T (token data)
    batch_size: int = 16  # sequences (or images) per micro-batch B
    val_fraction: float = 0.05  # share of the data held out for eval
    image_size: int = 16  # generated images ("shapes"): height = width in pixels
    num_samples: int = 0  # generated images: examples in the set; 0: 4096
    # SFT preparation of a .jsonl/.json source (tokenizer, template, cutoff_len, pack, ...; docs/finetune.md)
    sft: dict[str, Any] = field(default_factory=dict)


@dataclass
class OptimConfig:
    lr: float = 3e-4  # peak learning rate of AdamW
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])
    eps: float = 1e-8
    weight_decay: float = 0.1  # applied to matrices only (ndim >= 2), never to norms/biases


@dataclass
class ScheduleConfig:
    kind: str = "cosine"  # cosine | linear | constant (after warmup)
    warmup_steps: int = 0  # linear warmup from 0 to optim.lr
    min_lr: float = 0.0  # floor reached at the last step


@dataclass
class TrainConfig:
    steps: int = 100  # optimizer steps
    grad_accum: int = 1  # micro-batches per optimizer step
    clip_grad_norm: float = 1.0  # global L2 norm; 0 disables clipping
    seed: int = 0
    precision: str = "fp32"  # fp32 | bf16 | fp16 (autocast on accelerators)
    log_every: int = 10  # steps between log lines (the progress bar updates every step)
    eval_every: int = 0  # steps between evals on the held-out split; 0: only at the end
    eval_batches: int = 4
    save_every: int = 0  # steps between checkpoints; 0: only at the end
    out_dir: str = ""  # run folder (metrics.jsonl, checkpoints); default runs/<recipe name>
    mode: str = "graph"  # MindSpore only: graph (compiled) | pynative
    fused_kernels: bool = False  # torch_npu fused RMSNorm/RoPE/SwiGLU/attention on NPU
    parallel: str = "ddp"  # multi-process runs (--nproc): ddp | fsdp (torch FSDP2 fully_shard)


@dataclass
class CheckpointConfig:
    dir: str = ""  # default <out_dir>/checkpoints
    resume: str = "none"  # none | auto (newest complete checkpoint) | a checkpoint path
    keep_last: int = 3  # complete checkpoints kept; 0 keeps all
    load_optimizer: bool = True  # resume the optimizer state too (MindSpeed: --no-load-optim turns it off)
    load_rng: bool = True  # resume the random state too (--no-load-rng)
    save_optimizer: bool = True  # checkpoints hold the optimizer state (--no-save-optim: weights only, smaller)


@dataclass
class Recipe:
    name: str = ""  # default: the recipe file's stem
    backend: str = "torch"  # torch | mindspore (aliases in core.registry)
    device: str = "auto"  # auto | cpu | cuda | npu | gpu
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    base_dir: str = field(default=".", metadata={"internal": True})  # folder of the recipe file

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.pop("base_dir")
        return out

    @property
    def run_dir(self) -> Path:
        return Path(self.train.out_dir or f"runs/{self.name or 'run'}")

    @property
    def checkpoint_dir(self) -> Path:
        return Path(self.checkpoint.dir) if self.checkpoint.dir else self.run_dir / "checkpoints"


# ---------------------------------------------------------------- type checking


def _type_name(tp: Any) -> str:
    if tp is bool:
        return "a boolean (true/false)"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    origin = typing.get_origin(tp)
    if origin is list:
        return f"a list of {_type_name(typing.get_args(tp)[0]).split(' ', 1)[1]}s"
    if origin is dict:
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Return `value` as type `tp`, or raise RecipeError naming `key`."""
    bad = RecipeError(f"recipe key '{key}' must be {_type_name(tp)}, got {value!r} ({type(value).__name__})")
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise bad
    if tp is int:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                raise bad from None
        raise bad
    if tp is float:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, (int, float)):
            out = float(value)
        elif isinstance(value, str):  # YAML 1.1 reads "3e-4" as a string
            try:
                out = float(value)
            except ValueError:
                raise bad from None
        else:
            raise bad
        if not math.isfinite(out):
            raise RecipeError(f"recipe key '{key}' must be a finite number, got {value!r}")
        return out
    if tp is str:
        if isinstance(value, str):
            return value
        if value is None:
            return ""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise bad
    origin = typing.get_origin(tp)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise bad
        (item_tp,) = typing.get_args(tp)
        return [_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise bad
        return dict(value)
    raise TypeError(f"unsupported schema type {tp!r} for {key}")


def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}


def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _merge(obj: Any, data: Any, prefix: str) -> None:
    """Merge a mapping into dataclass `obj`, checking every key and type."""
    where = prefix.rstrip(".") or "the recipe"
    if not isinstance(data, dict):
        raise RecipeError(f"recipe key '{where}' must be a mapping, got {type(data).__name__}")
    fields = _fields(type(obj))
    hints = _hints(type(obj))
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in fields:
            known = ", ".join(fields)
            raise RecipeError(f"unknown recipe key '{path}' (known keys of {where}: {known})")
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            _merge(getattr(obj, key), {} if value is None else value, f"{path}.")
        else:
            setattr(obj, key, _coerce(value, tp, path))


# ---------------------------------------------------------------- overrides


def parse_override(text: str) -> tuple[list[str], Any]:
    """'train.steps=50' -> (['train', 'steps'], 50); the value is read as YAML."""
    if "=" not in text:
        raise RecipeError(f"override '{text}' must look like key.path=value (e.g. train.steps=50)")
    key, raw = text.split("=", 1)
    key = key.strip()
    parts = key.split(".")
    if not key or any(not p.strip() or not p.replace("_", "").replace("-", "").isalnum() for p in parts):
        raise RecipeError(f"override '{text}' has a malformed key path '{key}'")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw  # not YAML: keep the text, the schema type check decides
    return parts, value


def _nest(parts: list[str], value: Any) -> dict:
    out: Any = value
    for p in reversed(parts):
        out = {p: out}
    return out


def _set_path(obj: Any, parts: list[str], value: Any) -> None:
    """Apply one override; model.config.* is free-form, everything else is schema-checked."""
    if parts[:2] in (["model", "config"], ["model", "lora"], ["data", "sft"]) and len(parts) > 2:
        target = getattr(getattr(obj, parts[0]), parts[1])
        for p in parts[2:-1]:
            target = target.setdefault(p, {})
            if not isinstance(target, dict):
                raise RecipeError(f"recipe key 'model.config.{p}' is not a mapping")
        target[parts[-1]] = value
        return
    _merge(obj, _nest(parts, value), "")


# ---------------------------------------------------------------- validation


def _choice(value: str, choices: tuple[str, ...], key: str) -> None:
    if value not in choices:
        raise RecipeError(f"recipe key '{key}' must be one of {', '.join(choices)}; got '{value}'")


def _positive(value: float, key: str, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise RecipeError(f"recipe key '{key}' must be {'>= 0' if allow_zero else '> 0'}; got {value}")


def validate(r: Recipe) -> Recipe:
    r.backend = canonical_backend(r.backend)
    _choice(r.device, DEVICES, "device")
    _choice(r.train.precision, PRECISIONS, "train.precision")
    _choice(r.train.mode, ("graph", "pynative"), "train.mode")
    _choice(r.train.parallel, ("ddp", "fsdp"), "train.parallel")
    _choice(r.schedule.kind, ("cosine", "linear", "constant"), "schedule.kind")
    if not r.model.source:
        raise RecipeError("recipe key 'model.source' is required (e.g. 'model.py:Llama')")
    if r.model.source.startswith("hf:"):  # a Hugging Face folder built by transformers (core/hfmodel.py)
        from core.hfmodel import check_recipe

        check_recipe(r)
    elif ":" not in r.model.source or not r.model.source.rsplit(":", 1)[1].isidentifier():
        raise RecipeError(f"recipe key 'model.source' must look like 'file.py:Class' or 'pkg.module:Class'; got '{r.model.source}'")
    if r.model.freeze or r.model.lora:  # core/finetune: which parameters train
        from core.finetune.checks import check_recipe as check_finetune

        check_finetune(r)
    for key, value in [("data.seq_len", r.data.seq_len), ("data.batch_size", r.data.batch_size),
                       ("train.steps", r.train.steps), ("train.grad_accum", r.train.grad_accum),
                       ("train.eval_batches", r.train.eval_batches), ("optim.lr", r.optim.lr),
                       ("data.image_size", r.data.image_size)]:
        _positive(value, key)
    for key, value in [("train.log_every", r.train.log_every), ("train.eval_every", r.train.eval_every),
                       ("train.save_every", r.train.save_every), ("train.clip_grad_norm", r.train.clip_grad_norm),
                       ("train.seed", r.train.seed), ("optim.weight_decay", r.optim.weight_decay),
                       ("optim.eps", r.optim.eps), ("schedule.warmup_steps", r.schedule.warmup_steps),
                       ("schedule.min_lr", r.schedule.min_lr), ("checkpoint.keep_last", r.checkpoint.keep_last),
                       ("data.num_samples", r.data.num_samples)]:
        _positive(value, key, allow_zero=True)
    if not 0.0 < r.data.val_fraction < 1.0:
        raise RecipeError(f"recipe key 'data.val_fraction' must be between 0 and 1 (exclusive); got {r.data.val_fraction}")
    if len(r.optim.betas) != 2 or not all(0.0 <= b < 1.0 for b in r.optim.betas):
        raise RecipeError(f"recipe key 'optim.betas' must be two numbers in [0, 1); got {r.optim.betas}")
    if r.schedule.min_lr > r.optim.lr:
        raise RecipeError(f"recipe key 'schedule.min_lr' ({r.schedule.min_lr}) must not exceed optim.lr ({r.optim.lr})")
    if r.checkpoint.resume not in ("none", "auto") and not r.checkpoint.resume:
        raise RecipeError("recipe key 'checkpoint.resume' must be none, auto or a checkpoint path")
    return r


# ---------------------------------------------------------------- loading


def recipe_from_dict(data: Any, overrides: list[str] | None = None, name: str = "", base_dir: str = ".") -> Recipe:
    r = Recipe(name=name, base_dir=str(base_dir))
    _merge(r, data if data is not None else {}, "")
    for text in overrides or []:
        _set_path(r, *parse_override(text))
    if not r.name:
        r.name = "run"
    return validate(r)


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Read a YAML recipe, apply `key.path=value` overrides, validate. Raises RecipeError."""
    p = Path(path)
    if not p.is_file():
        raise RecipeError(f"recipe file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{p}:{mark.line + 1}:{mark.column + 1}" if mark else str(p)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise RecipeError(f"{where}: invalid YAML: {problem}") from None
    except UnicodeDecodeError:
        raise RecipeError(f"{p}: not a UTF-8 text file") from None
    return recipe_from_dict(data, overrides, name=p.stem, base_dir=str(p.resolve().parent))


def dump_recipe(r: Recipe) -> str:
    return yaml.safe_dump(r.to_dict(), sort_keys=False)


__all__ = ["Recipe", "RecipeError", "load_recipe", "recipe_from_dict", "parse_override", "dump_recipe"]
