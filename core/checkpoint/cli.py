"""The `python -m core.checkpoint` command: inspect, export and convert checkpoints and weights files.

    python -m core.checkpoint list runs/tiny/checkpoints
    python -m core.checkpoint info runs/tiny/checkpoints            # the newest complete one
    python -m core.checkpoint export runs/tiny/checkpoints/step_00000300 tiny.safetensors
    python -m core.checkpoint convert model.pt model.ckpt                 # .pt <-> .safetensors <-> .ckpt
    python -m core.checkpoint hf-import HF_LLAMA_DIR llama.safetensors    # Hugging Face -> ours (an adapter)
    python -m core.checkpoint hf-export runs/tiny/checkpoints OUT_DIR     # ours -> Hugging Face (hf: runs too)
    python -m core.checkpoint hf-export runs/lora/checkpoints OUT_DIR --merge-lora   # a LoRA run, merged
    python -m core.checkpoint hf-info HF_DIR                              # a folder for model.source: hf:DIR

Every error is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from core.atomic import atomic_write_bytes
from core.checkpoint import hf
from core.checkpoint.formats import FormatError, convert
from core.checkpoint.store import (export_weights, list_checkpoints, load_checkpoint, load_weights, read_meta,
                                   resolve)
from core.errors import UserError


def _export_config(args, path: Path) -> tuple[dict, str | None, object]:
    """(model.config, dtype recorded at import, adapter) for hf-export: --recipe, checkpoint meta or file metadata."""
    adapter = hf.load_adapter(args.adapter) if args.adapter else None
    if args.recipe:
        from core.recipe import load_recipe

        r = load_recipe(args.recipe, args.overrides)
        return dict(r.model.config), None, adapter or hf.recipe_adapter(r)
    if not path.exists():
        raise FormatError(f"{path}: no such checkpoint folder or weights file")
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), "np") as fh:
                meta = fh.metadata() or {}
        except Exception as e:  # safetensors raises several types for damaged files
            raise FormatError(f"{path}: unreadable safetensors file ({str(e).splitlines()[0] if str(e) else e})") from None
        if "mindbridge_model_config" not in meta:
            raise FormatError(f"{path} does not record a model config (not written by hf-import); pass --recipe RECIPE")
        if adapter is None and "mindbridge_adapter" in meta:
            adapter = hf.load_adapter(meta["mindbridge_adapter"])
        return json.loads(meta["mindbridge_model_config"]), meta.get("hf_dtype"), adapter or _needs_adapter(path)
    meta = read_meta(resolve(path, verify=True))
    recipe = meta.get("recipe") or {}
    cfg = recipe.get("model", {}).get("config")
    if cfg is None:
        raise FormatError(f"{path}: its meta.json has no recipe model.config; pass --recipe RECIPE")
    if adapter is None and meta.get("recipe_dir") and recipe.get("model", {}).get("source"):
        from core.recipe import recipe_from_dict

        adapter = hf.recipe_adapter(recipe_from_dict(recipe, base_dir=meta["recipe_dir"]))
    return cfg, None, adapter or _needs_adapter(path)


def _needs_adapter(path: Path):
    raise FormatError(f"{path}: cannot tell which model it holds; pass --adapter PATH/{hf.ADAPTER_FILE} or --recipe")


def _parse_size(text: str | None) -> int | None:
    """'5GB' / '200MB' / '64KB' / '123' (bytes) -> bytes, as save_pretrained's max_shard_size."""
    if not text:
        return None
    units = {"GB": 10**9, "MB": 10**6, "KB": 10**3, "B": 1}
    t = text.strip().upper()
    for unit, factor in units.items():
        if t.endswith(unit) and t[: -len(unit)].strip().replace(".", "", 1).isdigit():
            return int(float(t[: -len(unit)]) * factor)
    if t.isdigit():
        return int(t)
    raise FormatError(f"--max-shard-size {text!r}: use a size such as 5GB, 200MB or a byte count")


def _hf_import(args) -> None:
    from safetensors.numpy import save

    out = Path(args.out)
    if out.suffix != ".safetensors":
        raise FormatError(f"{out}: hf-import writes a .safetensors file")
    adapter = hf.load_adapter(args.adapter) if args.adapter else None
    if adapter is None:
        raw = hf.read_config(Path(args.hf_dir))
        adapter = hf.adapter_for_model_type(raw.get("model_type"), str(Path(args.hf_dir) / "config.json"))
    weights, cfg, dtype = hf.import_hf(args.hf_dir, adapter)
    head, embedding = adapter.TIED
    if weights.get(head) is weights.get(embedding):
        weights[head] = weights[head].copy()  # safetensors refuses shared memory
    atomic_write_bytes(out, save(weights, metadata={"format": "pt", "mindbridge_model_config": json.dumps(cfg),
                                                    "hf_dtype": dtype, "mindbridge_adapter": str(adapter.PATH)}))
    source = adapter.PATH.parent / adapter.MODEL_SOURCE.split(":")[0]
    print(f"wrote {out} ({len(weights)} tensors, from {dtype}); use it in a recipe as:\n"
          + yaml.safe_dump({"model": {"source": f"{source}:{adapter.MODEL_SOURCE.split(':')[1]}", "config": cfg,
                                      "init_from": str(out)}}, sort_keys=False).rstrip())


def _hf_source_of(args, path: Path) -> tuple[Path, dict] | None:
    """(source folder, model.config) when the checkpoint's run (or --recipe) has model.source: hf:DIR."""
    from core.hfmodel import is_hf_source, source_folder

    if args.recipe:
        from core.recipe import load_recipe

        r = load_recipe(args.recipe, args.overrides)
        source, config, base = r.model.source, dict(r.model.config), r.base_dir
    elif path.is_dir():
        meta = read_meta(resolve(path, verify=True))
        model = (meta.get("recipe") or {}).get("model", {})
        source, config, base = model.get("source", ""), dict(model.get("config") or {}), meta.get("recipe_dir", ".")
    else:
        return None
    return (source_folder(source, base), config) if is_hf_source(source or "") else None


def _hf_export(args) -> None:
    path = Path(args.path)
    hf_source = _hf_source_of(args, path)
    if hf_source is not None:
        if args.adapter:
            raise FormatError("--adapter is for our own models; a run of model.source: hf:DIR exports without one")
        from core.checkpoint.hf_source import export_hf_source
        from core.finetune.export import export_lora, run_lora

        lora, size = run_lora(args, path), _parse_size(args.max_shard_size)
        if args.merge_lora and not lora:
            raise FormatError(f"--merge-lora: the run of {path} has no model.lora")
        if lora:  # peft's adapter folder, or with --merge-lora the full weights (core/finetune/export.py)
            out = export_lora(load_weights(path), *hf_source, lora, args.out_dir, args.merge_lora, dtype=args.dtype,
                              max_shard_size=size)
        else:
            out = export_hf_source(load_weights(path), *hf_source, args.out_dir, dtype=args.dtype, max_shard_size=size)
        files = sorted(p.name for p in out.iterdir())
        hint = "" if args.merge_lora or not lora else " (peft adapters; --merge-lora writes merged full weights)"
        print(f"wrote {out}: {', '.join(files)} (from {hf_source[0]}){hint}")
        return
    if args.merge_lora:
        raise FormatError("--merge-lora is for LoRA runs of model.source: hf:DIR")
    cfg, recorded, adapter = _export_config(args, path)
    dtype = args.dtype if args.dtype != "auto" else {"BF16": "bfloat16", "F16": "float16"}.get(recorded or "", "float32")
    out = hf.export_hf(load_weights(path), cfg, args.out_dir, adapter, dtype=dtype,
                       max_shard_bytes=_parse_size(args.max_shard_size))
    files = sorted(p.name for p in out.glob("model*.safetensors*"))
    print(f"wrote {out / 'config.json'} and {', '.join(files)} ({dtype})")


def _hf_info(args) -> None:
    """What a Hugging Face folder holds (JSON and safetensors headers only) and where it runs."""
    from core import hfmodel

    info = hfmodel.inspect_folder(args.hf_dir)
    count, dtypes, nbytes = hfmodel.tensor_summary(info)
    stored = ", ".join(f"{hfmodel.dtype_name(d)} x{n}" for d, n in dtypes.most_common())
    declared = info.config.get("dtype") or info.config.get("torch_dtype") or "not set"
    names = [p.name for p in info.weight_files]
    weights = (f"{info.index.name} -> {len(names)} shard(s): {', '.join(names)}" if info.index else names[0])
    try:
        family = hfmodel.family_of(info)
        torch_line = f"supported ({family.model_class}; verified: {family.verified})"
    except UserError as e:
        torch_line = f"not supported: {str(e).split(': ', 1)[1]}"
    processor = [n for n in hfmodel.PROCESSOR_FILES if (info.path / n).is_file()]
    print(f"folder: {info.path}\nmodel_type: {info.model_type}\narchitecture: {info.architecture}\n"
          f"parameters: {count:,} (safetensors headers, {sum(dtypes.values())} tensors, {nbytes / 1e6:,.1f} MB)\n"
          f"dtype: {hfmodel.dtype_name(dtypes.most_common(1)[0][0]) if dtypes else 'none'} "
          f"(tensors: {stored or 'none'}; config.json: {declared})\nweights: {weights}\n"
          f"tokenizer: {', '.join(info.tokenizer_files) or 'none'}\n"
          f"generation: {', '.join(info.generation_files) or 'none'}\n"
          + (f"processor: {', '.join(processor)} (image-text data: docs/multimodal.md)\n" if processor else "")
          + f"torch: {torch_line}\nmindspore: {hfmodel.MINDSPORE}")


def _list(args) -> None:
    complete, broken = list_checkpoints(args.root, verify=True)
    if not complete and not broken:
        raise FormatError(f"no checkpoints in {args.root}")
    for d in complete:
        print(f"{d}  complete, verified")
    for d, reason in sorted(broken.items()):
        print(f"{d}  ignored: {reason}")


def _info(args) -> None:
    step_dir = resolve(args.path, verify=True)
    weights, optim, meta = load_checkpoint(step_dir)
    print(f"checkpoint: {step_dir}\nstep: {meta['step']}\nbackend: {meta.get('backend', '?')}\n"
          f"time: {meta.get('time', '?')}\nweights: {len(weights)} tensors, "
          f"{sum(int(w.size) for w in weights.values()):,} values\noptimizer: {len(optim)} entries")


def _convert(args) -> None:
    out, n = convert(args.src, args.dst)
    print(f"wrote {out} ({n} tensors)")


COMMANDS = {"list": _list, "info": _info, "export": lambda a: print(f"wrote {export_weights(a.path, a.out)}"),
            "convert": _convert, "hf-import": _hf_import, "hf-export": _hf_export, "hf-info": _hf_info}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m core.checkpoint", description="Inspect or export checkpoints.")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="complete and incomplete checkpoints under a root").add_argument("root")
    sub.add_parser("info", help="step, backend and tensors of a checkpoint (a root: its newest)").add_argument("path")
    pe = sub.add_parser("export", help="weights as one bare .safetensors file (for model.init_from)")
    pe.add_argument("path")
    pe.add_argument("out")
    pc = sub.add_parser("convert", help="one weights file to another format: .pt/.pth, .safetensors, .ckpt")
    pc.add_argument("src")
    pc.add_argument("dst")
    pi = sub.add_parser("hf-import", help="a Hugging Face folder -> our model's weights (.safetensors)")
    pi.add_argument("hf_dir")
    pi.add_argument("out")
    pi.add_argument("--adapter", default=None, help=f"the model's {hf.ADAPTER_FILE} (default: by config.json "
                                                    "model_type among the shipped examples)")
    px = sub.add_parser("hf-export", help="our model's weights -> a Hugging Face folder")
    px.add_argument("path", help="a checkpoint folder (root or step) or a .safetensors file")
    px.add_argument("out_dir")
    px.add_argument("--recipe", default=None, help="take model.config from this recipe (default: the checkpoint's)")
    px.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="recipe override with --recipe, e.g. model.config.dim=64")
    px.add_argument("--adapter", default=None, help=f"the model's {hf.ADAPTER_FILE} (default: beside the "
                                                    "recipe's model source)")
    px.add_argument("--dtype", default="auto", choices=["auto", "float32", "float16", "bfloat16"],
                    help="auto: the dtype recorded by hf-import (hf: sources: the source folder's), else float32")
    px.add_argument("--max-shard-size", default=None, metavar="SIZE",
                    help="split the weights into shards of at most SIZE (e.g. 5GB, 200MB) with an index file")
    px.add_argument("--merge-lora", action="store_true",
                    help="a LoRA run: fold the adapters into the weights (default: write peft's adapter folder)")
    sub.add_parser("hf-info", help="what a Hugging Face folder holds, and whether model.source: hf:DIR runs it"
                   ).add_argument("hf_dir")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.cmd](args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
