"""Checkpoints: weights and optimizer state as safetensors, everything else in a JSON sidecar.

A checkpoint is a folder ROOT/step_00000100/ holding
  model.safetensors       weights keyed by torch state_dict names (the same for both backends)
  optimizer.safetensors   AdamW moments '<slot>/<param name>' plus a scalar 'step'
  meta.json               step, rng, recipe, backend, time, mindbridge version, file sizes
It is written into a temporary folder inside ROOT and renamed into place, so a crash never leaves a
folder that looks complete; `latest_checkpoint` only returns folders whose meta.json lists files of
the sizes found, and ignores temporary or half-copied ones.

    python -m core.checkpoint list runs/tiny/checkpoints
    python -m core.checkpoint info runs/tiny/checkpoints            # the newest complete one
    python -m core.checkpoint export runs/tiny/checkpoints/step_00000300 tiny.safetensors
    python -m core.checkpoint convert model.pt model.ckpt                 # .pt <-> .safetensors <-> .ckpt
    python -m core.checkpoint hf-import HF_LLAMA_DIR llama.safetensors    # Hugging Face Llama -> ours
    python -m core.checkpoint hf-export runs/tiny/checkpoints OUT_DIR     # ours -> Hugging Face Llama
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

FORMAT = "mindbridge-checkpoint"
TMP_PREFIX = ".tmp-"  # temporary folders (saves in progress or interrupted, deletions); never loaded
STEP_DIR = re.compile(r"^step_(\d{8,})$")
WEIGHTS, OPTIMIZER, META = "model.safetensors", "optimizer.safetensors", "meta.json"


class CheckpointError(RuntimeError):
    """A one-line, user-facing problem with a checkpoint (missing, partial, corrupt)."""


# ---------------------------------------------------------------- writing


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. folders on Windows
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _save_tensors(tensors: dict[str, Any], path: Path, what: str) -> None:
    arrays = {}
    for key, value in tensors.items():
        arr = np.asarray(value)
        if not isinstance(key, str) or arr.dtype == object:
            raise CheckpointError(f"{what} entry {key!r} is not a string-keyed numeric array")
        arrays[key] = arr if arr.flags.c_contiguous else arr.copy(order="C")  # keeps 0-d scalars 0-d
    save_file(arrays, str(path))
    _fsync(path)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"checkpoint meta value of type {type(obj).__name__} is not JSON-serialisable")


def _remove(path: Path, root: Path) -> None:
    """Delete a folder so that no half-deleted folder can look like a checkpoint: rename, then delete."""
    trash = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}delete-", dir=root))
    os.replace(path, trash / "x")
    shutil.rmtree(trash, ignore_errors=True)


def save_checkpoint(root: str | Path, step: int, weights: dict[str, np.ndarray], optimizer: dict[str, np.ndarray],
                    meta: dict, keep_last: int | None = None) -> Path:
    """Write ROOT/step_{step:08d}/ atomically; with keep_last, delete older complete checkpoints."""
    from core import __version__

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step_{int(step):08d}"
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{final.name}-", dir=root))
    try:
        _save_tensors(weights, tmp / WEIGHTS, "weights")
        _save_tensors(optimizer, tmp / OPTIMIZER, "optimizer")
        full = {**meta, "step": int(step), "format": FORMAT, "format_version": 1,
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "mindbridge_version": __version__,
                "files": {name: (tmp / name).stat().st_size for name in (WEIGHTS, OPTIMIZER)}}
        try:
            text = json.dumps(full, indent=2, default=_json_default, allow_nan=True)
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"cannot write {final / META}: {e}") from None
        (tmp / META).write_text(text + "\n", encoding="utf-8")
        _fsync(tmp / META)
        _fsync(tmp)
        if final.exists():  # re-saving a step (e.g. after resuming from it): swap the old one out first
            _remove(final, root)
        os.replace(tmp, final)
        _fsync(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for stale in root.glob(f"{TMP_PREFIX}*"):  # left by interrupted saves; only one process saves here
        shutil.rmtree(stale, ignore_errors=True)
    if keep_last:
        complete = sorted(list_checkpoints(root)[0], key=_step_of)
        for old in complete[:-keep_last]:
            if old != final:
                _remove(old, root)
    return final


# ---------------------------------------------------------------- reading


def _step_of(path: Path) -> int:
    return int(STEP_DIR.match(path.name).group(1))


def _problem(step_dir: Path) -> str | None:
    """Why `step_dir` is not a complete checkpoint, or None when it is."""
    meta_path = step_dir / META
    if not meta_path.is_file():
        return f"missing {META} (interrupted while saving?)"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return f"unreadable {META} ({e})"
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return f"{META} is not a {FORMAT} sidecar"
    for name, size in (meta.get("files") or {}).items():
        f = step_dir / name
        if not f.is_file():
            return f"missing {name}"
        if f.stat().st_size != size:
            return f"{name} has {f.stat().st_size:,} bytes, {META} says {size:,} (truncated or overwritten)"
    return None


def list_checkpoints(root: str | Path) -> tuple[list[Path], dict[Path, str]]:
    """(complete step folders sorted by step, {incomplete step folder: reason})."""
    root = Path(root)
    if not root.is_dir():
        return [], {}
    complete, broken = [], {}
    for d in root.iterdir():
        if d.is_dir() and STEP_DIR.match(d.name):
            reason = _problem(d)
            if reason is None:
                complete.append(d)
            else:
                broken[d] = reason
    return sorted(complete, key=_step_of), broken


def latest_checkpoint(root: str | Path) -> Path | None:
    """The newest complete checkpoint under root (None if there is none); partial folders are ignored."""
    complete, _ = list_checkpoints(root)
    return complete[-1] if complete else None


def resolve(path: str | Path) -> Path:
    """A complete step folder from a step folder or a root folder (its newest complete checkpoint)."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"checkpoint not found: {p}")
    if not p.is_dir():
        raise CheckpointError(f"{p}: not a checkpoint folder (expected ROOT or ROOT/step_NNNNNNNN)")
    if STEP_DIR.match(p.name) or (p / META).exists():
        reason = _problem(p)
        if reason:
            raise CheckpointError(f"incomplete or corrupt checkpoint {p}: {reason}")
        return p
    latest = latest_checkpoint(p)
    if latest is None:
        _, broken = list_checkpoints(p)
        extra = f" ({len(broken)} incomplete folder(s) ignored: {', '.join(sorted(d.name for d in broken))})" if broken else ""
        raise CheckpointError(f"no complete checkpoint in {p}{extra}")
    return latest


def _load_tensors(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise CheckpointError(f"checkpoint file not found: {path}")
    try:
        return load_file(str(path))
    except Exception as e:  # safetensors raises several types for damaged files
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: corrupt or unreadable safetensors file ({reason})") from None


def load_checkpoint(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict]:
    """(weights, optimizer state, meta) of a step folder, or of the newest complete one under a root."""
    step_dir = resolve(path)
    meta = json.loads((step_dir / META).read_text(encoding="utf-8"))
    return _load_tensors(step_dir / WEIGHTS), _load_tensors(step_dir / OPTIMIZER), meta


def load_weights(path: str | Path) -> dict[str, np.ndarray]:
    """Weights from a step folder, a root folder (newest complete checkpoint) or a bare .safetensors file."""
    p = Path(path)
    if p.is_file() or p.suffix == ".safetensors":
        return _load_tensors(p)
    return _load_tensors(resolve(p) / WEIGHTS)


# ---------------------------------------------------------------- CLI


def default_mode(path: str | Path) -> None:
    """Give a file made by mkstemp (0600) the permissions a plain open() would (0666 minus umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        default_mode(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def export_weights(path: str | Path, out: str | Path) -> Path:
    """Write the weights of a checkpoint as one bare .safetensors file (atomically)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    weights = load_weights(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        save_file(weights, tmp, metadata={"format": "pt"})
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def main(argv: list[str] | None = None) -> int:
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
    pi = sub.add_parser("hf-import", help="a Hugging Face Llama folder -> examples/llama weights (.safetensors)")
    pi.add_argument("hf_dir")
    pi.add_argument("out")
    px = sub.add_parser("hf-export", help="examples/llama weights -> a Hugging Face Llama folder")
    px.add_argument("path", help="a checkpoint folder (root or step) or a .safetensors file")
    px.add_argument("out_dir")
    px.add_argument("--recipe", default=None, help="take model.config from this recipe (default: the checkpoint's)")
    px.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="recipe override with --recipe, e.g. model.config.dim=64")
    px.add_argument("--dtype", default="auto", choices=["auto", "float32", "float16", "bfloat16"],
                    help="auto: the dtype recorded by hf-import, else float32")
    px.add_argument("--max-shard-size", default=None, metavar="SIZE",
                    help="split the weights into shards of at most SIZE (e.g. 5GB, 200MB) with an index file")
    args = p.parse_args(argv)
    if args.cmd in ("convert", "hf-import", "hf-export"):
        from core import checkpoint_convert

        return checkpoint_convert.run(args)
    try:
        if args.cmd == "list":
            complete, broken = list_checkpoints(args.root)
            if not complete and not broken:
                raise CheckpointError(f"no checkpoints in {args.root}")
            for d in complete:
                print(f"{d}  complete")
            for d, reason in sorted(broken.items()):
                print(f"{d}  ignored: {reason}")
        elif args.cmd == "info":
            step_dir = resolve(args.path)
            weights, optim, meta = load_checkpoint(step_dir)
            print(f"checkpoint: {step_dir}\nstep: {meta['step']}\nbackend: {meta.get('backend', '?')}\n"
                  f"time: {meta.get('time', '?')}\nweights: {len(weights)} tensors, "
                  f"{sum(int(w.size) for w in weights.values()):,} values\noptimizer: {len(optim)} entries")
        else:
            print(f"wrote {export_weights(args.path, args.out)}")
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
