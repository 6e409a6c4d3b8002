"""Checkpoint folders: weights and optimizer state as safetensors, everything else in a JSON sidecar.

A checkpoint is a folder ROOT/step_00000100/ holding
  model.safetensors       weights keyed by torch state_dict names (the same for both backends)
  optimizer.safetensors   AdamW moments '<slot>/<param name>' plus a scalar 'step'
  meta.json               step, rng, recipe, backend, time, mindbridge version, file sizes
It is written into a temporary folder inside ROOT and renamed into place (core.atomic.atomic_dir),
so a crash never leaves a folder that looks complete; `latest_checkpoint` only returns folders
whose meta.json lists files of the sizes found, and ignores temporary or half-copied ones.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from core.atomic import TMP_PREFIX, atomic_dir, atomic_path, remove_dir
from core.errors import CheckpointError

FORMAT = "mindbridge-checkpoint"
STEP_DIR = re.compile(r"^step_(\d{8,})$")
WEIGHTS, OPTIMIZER, META = "model.safetensors", "optimizer.safetensors", "meta.json"


# ---------------------------------------------------------------- writing


def _save_tensors(tensors: dict[str, Any], path: Path, what: str) -> None:
    arrays = {}
    for key, value in tensors.items():
        arr = np.asarray(value)
        if not isinstance(key, str) or arr.dtype == object:
            raise CheckpointError(f"{what} entry {key!r} is not a string-keyed numeric array")
        arrays[key] = arr if arr.flags.c_contiguous else arr.copy(order="C")  # keeps 0-d scalars 0-d
    save_file(arrays, str(path))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"checkpoint meta value of type {type(obj).__name__} is not JSON-serialisable")


def save_checkpoint(root: str | Path, step: int, weights: dict[str, np.ndarray], optimizer: dict[str, np.ndarray],
                    meta: dict, keep_last: int | None = None) -> Path:
    """Write ROOT/step_{step:08d}/ atomically; with keep_last, delete older complete checkpoints."""
    from core import __version__

    root = Path(root)
    final = root / f"step_{int(step):08d}"
    # Re-saving a step (e.g. after resuming from it) swaps the old folder out in atomic_dir.
    with atomic_dir(final) as tmp:
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
    for stale in root.glob(f"{TMP_PREFIX}*"):  # left by interrupted saves; only one process saves here
        shutil.rmtree(stale, ignore_errors=True)
    if keep_last:
        complete = sorted(list_checkpoints(root)[0], key=_step_of)
        for old in complete[:-keep_last]:
            if old != final:
                remove_dir(old)
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


def export_weights(path: str | Path, out: str | Path) -> Path:
    """Write the weights of a checkpoint as one bare .safetensors file (atomically)."""
    weights = load_weights(path)
    with atomic_path(out) as tmp:
        save_file(weights, str(tmp), metadata={"format": "pt"})
    return Path(out)
