"""Checkpoint folders: weights and optimizer state as safetensors, everything else in a JSON sidecar.

A checkpoint is a folder ROOT/step_00000100/ holding
  model.safetensors       weights keyed by torch state_dict names (the same for both backends)
  optimizer.safetensors   AdamW moments '<slot>/<param name>' plus a scalar 'step'
  meta.json               step, rng, recipe, backend, time, mindbridge version, each file's size and SHA-256
It is written into a temporary folder inside ROOT and renamed into place (core.atomic.atomic_dir),
so a crash never leaves a folder that looks complete. A folder counts as complete when its
meta.json is well-formed and lists files of the sizes found (`latest_checkpoint`, cheap); it is
*verified* when every file also has the recorded SHA-256 (`find_resumable`, `load_checkpoint`),
so a same-size corruption is caught before the weights are used. Checkpoints from before the
checksums (sizes only) still load, with their sizes checked.
"""

from __future__ import annotations

import hashlib
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
                    meta: dict, keep_last: int | None = None, extra: dict[str, bytes] | None = None) -> Path:
    """Write ROOT/step_{step:08d}/ atomically; with keep_last, delete older complete checkpoints.

    `extra`: more files of the checkpoint, {name: bytes} (a LoRA run's peft adapter files), checksummed too."""
    from core import __version__

    root = Path(root)
    final = root / f"step_{int(step):08d}"
    # Re-saving a step (e.g. after resuming from it) swaps the old folder out in atomic_dir.
    with atomic_dir(final) as tmp:
        _save_tensors(weights, tmp / WEIGHTS, "weights")
        _save_tensors(optimizer, tmp / OPTIMIZER, "optimizer")
        for name, data in (extra or {}).items():
            (tmp / name).write_bytes(data)
        full = {**meta, "step": int(step), "format": FORMAT, "format_version": 2,
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "mindbridge_version": __version__,
                "files": {name: {"bytes": (tmp / name).stat().st_size, "sha256": sha256_of(tmp / name)}
                          for name in (WEIGHTS, OPTIMIZER, *(extra or {}))}}
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


def sha256_of(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _file_entries(meta: dict, where: Path) -> dict[str, dict]:
    """meta['files'] as {name: {"bytes": int, "sha256": str or None}} (format 1 recorded sizes only)."""
    files = meta.get("files")
    if not isinstance(files, dict) or not files:
        raise CheckpointError(f"{where}: 'files' must map file names to their size and checksum")
    out = {}
    for name, entry in files.items():
        if isinstance(entry, int) and not isinstance(entry, bool):
            entry = {"bytes": entry, "sha256": None}
        ok = (isinstance(entry, dict) and isinstance(entry.get("bytes"), int) and not isinstance(entry["bytes"], bool)
              and isinstance(entry.get("sha256", ""), (str, type(None))))
        if not isinstance(name, str) or "/" in name or not ok:
            raise CheckpointError(f"{where}: files entry {name!r} must be {{\"bytes\": int, \"sha256\": str}}, got {entry!r}")
        out[name] = {"bytes": entry["bytes"], "sha256": entry.get("sha256")}
    return out


def read_meta(step_dir: str | Path) -> dict:
    """meta.json of a step folder, checked field by field: a CheckpointError names the bad field."""
    path = Path(step_dir) / META
    if not path.is_file():
        raise CheckpointError(f"{step_dir}: missing {META} (interrupted while saving?)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{path}: unreadable ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} sidecar")
    for key, types, name in (("step", int, "an integer"), ("backend", str, "a string"), ("rng", dict, "a mapping"),
                             ("recipe", dict, "a mapping"), ("recipe_dir", str, "a string")):
        value = meta.get(key)
        if (key == "step" or value is not None) and (not isinstance(value, types) or isinstance(value, bool)):
            raise CheckpointError(f"{path}: '{key}' must be {name}, got {value!r}")
    if meta["step"] < 0:
        raise CheckpointError(f"{path}: 'step' must be >= 0, got {meta['step']}")
    meta["files"] = _file_entries(meta, path)
    return meta


def problem(step_dir: str | Path, verify: bool = False) -> str | None:
    """Why `step_dir` is not a complete checkpoint (with `verify`: not an intact one), or None."""
    step_dir = Path(step_dir)
    try:
        files = read_meta(step_dir)["files"]
    except CheckpointError as e:
        return str(e).replace(f"{step_dir}: ", "").replace(f"{step_dir}/", "")
    for name, entry in files.items():
        f = step_dir / name
        if not f.is_file():
            return f"missing {name}"
        size = f.stat().st_size
        if size != entry["bytes"]:
            return f"{name} has {size:,} bytes, {META} says {entry['bytes']:,} (truncated or overwritten)"
        if verify and entry["sha256"] and sha256_of(f) != entry["sha256"]:
            return f"{name} does not match its recorded SHA-256 (corrupted on disk)"
    return None


def list_checkpoints(root: str | Path, verify: bool = False) -> tuple[list[Path], dict[Path, str]]:
    """(complete step folders sorted by step, {incomplete step folder: reason}); `verify` also checks
    every file's SHA-256 (reads all of them)."""
    root = Path(root)
    if not root.is_dir():
        return [], {}
    complete, broken = [], {}
    for d in root.iterdir():
        if d.is_dir() and STEP_DIR.match(d.name):
            reason = problem(d, verify)
            if reason is None:
                complete.append(d)
            else:
                broken[d] = reason
    return sorted(complete, key=_step_of), broken


def latest_checkpoint(root: str | Path, verify: bool = False) -> Path | None:
    """The newest complete (with `verify`: intact) checkpoint under root; None if there is none."""
    if not verify:
        complete, _ = list_checkpoints(root)
        return complete[-1] if complete else None
    return find_resumable(root)[0]


def find_resumable(root: str | Path) -> tuple[Path | None, dict[Path, str]]:
    """(the newest verified checkpoint or None, {newer or broken step folder: why it was passed over}).

    Checks sizes of all, then SHA-256 newest first, stopping at the first intact one."""
    root = Path(root)
    complete, skipped = list_checkpoints(root)
    for step_dir in reversed(complete):
        reason = problem(step_dir, verify=True)
        if reason is None:
            return step_dir, {d: r for d, r in skipped.items() if _step_of(d) > _step_of(step_dir)}
        skipped[step_dir] = reason
    return None, skipped


def resolve(path: str | Path, verify: bool = False) -> Path:
    """A complete (with `verify`: intact) step folder from a step folder or a root folder (its newest)."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"checkpoint not found: {p}")
    if not p.is_dir():
        raise CheckpointError(f"{p}: not a checkpoint folder (expected ROOT or ROOT/step_NNNNNNNN)")
    if STEP_DIR.match(p.name) or (p / META).exists():
        reason = problem(p, verify)
        if reason:
            raise CheckpointError(f"incomplete or corrupt checkpoint {p}: {reason}")
        return p
    if verify:
        latest, skipped = find_resumable(p)
    else:
        latest, skipped = latest_checkpoint(p), list_checkpoints(p)[1]
    if latest is None:
        extra = f" ({len(skipped)} unusable folder(s) ignored: {', '.join(sorted(d.name for d in skipped))})" \
            if skipped else ""
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
    """(weights, optimizer state, meta) of a verified step folder, or of the newest verified one under a root."""
    step_dir = resolve(path, verify=True)
    return _load_tensors(step_dir / WEIGHTS), _load_tensors(step_dir / OPTIMIZER), read_meta(step_dir)


def load_weights(path: str | Path) -> dict[str, np.ndarray]:
    """Weights from a step folder, a root folder (newest complete checkpoint) or a bare .safetensors file."""
    p = Path(path)
    if p.is_file() or p.suffix == ".safetensors":
        return _load_tensors(p)
    return _load_tensors(resolve(p, verify=True) / WEIGHTS)


def export_weights(path: str | Path, out: str | Path) -> Path:
    """Write the weights of a checkpoint as one bare .safetensors file (atomically)."""
    weights = load_weights(path)
    with atomic_path(out) as tmp:
        save_file(weights, str(tmp), metadata={"format": "pt"})
    return Path(out)
