"""torch.save / torch.load for converted scripts: checkpoints both frameworks read.

`torch.save(obj, f)` -> `compat_io.save(obj, f)` writes one safetensors file: every tensor of `obj`
(MindSpore tensors, Parameters, numpy arrays; at any depth of dicts, lists and tuples) under its
path ("model/transformer.wte.weight"), the rest of the structure (ints, floats, strings, None,
nested containers; a config dict) as JSON in the file's metadata. `safetensors` reads it from torch,
numpy or MindSpore alike. `torch.load(f, ...)` -> `compat_io.load(f)` rebuilds the object with
mindspore.Tensor leaves; a file torch itself wrote (zip or legacy pickle) is read with torch, which
must then be importable, and its tensors become mindspore.Tensor: a torch checkpoint of a model
(`model.load_state_dict(ckpt["model"])`) resumes in the converted script. An optimizer's state goes
in torch's layout: the converter turns `optimizer.state_dict()` / `optimizer.load_state_dict(sd)` into
backends/mindspore/compat_optim_state.py's, so torch's `ckpt["optimizer"]` resumes in the converted
script and the one it saves here (rebuilt in torch from the tensors and the JSON structure) loads into
torch's optimizer.

    compat_io.save({"model": model.state_dict(), "iter_num": 100, "config": cfg}, "ckpt.pt")
    ckpt = compat_io.load("ckpt.pt")
"""

from __future__ import annotations

import json
import os

import numpy as np

import mindspore
from core.atomic import atomic_write_bytes

__all__ = ["save", "load"]

_KEY = "mindbridge.structure"


def _flatten(obj, path: str, tensors: dict):
    if isinstance(obj, (mindspore.Tensor, mindspore.Parameter)):
        tensors[path] = obj.asnumpy()
        return {"__tensor__": path}
    if isinstance(obj, np.ndarray):
        tensors[path] = obj
        return {"__tensor__": path, "__numpy__": True}
    if isinstance(obj, dict):
        if not all(isinstance(k, (str, int)) for k in obj):
            raise TypeError(f"torch.save: dict keys must be str or int for a safetensors checkpoint (at '{path}')")
        return {"__dict__": [[k, _flatten(v, f"{path}/{k}" if path else str(k), tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_flatten(v, f"{path}/{i}" if path else str(i), tensors) for i, v in enumerate(obj)]
        return {"__tuple__" if isinstance(obj, tuple) else "__list__": items}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (np.generic,)):
        return obj.item()
    raise TypeError(f"torch.save: cannot store a {type(obj).__name__} at '{path or '<root>'}' in a safetensors "
                    "checkpoint (tensors, numbers, strings, None, dicts, lists and tuples can be stored)")


def _rebuild(node, tensors):
    if isinstance(node, dict):
        if "__tensor__" in node:
            array = tensors[node["__tensor__"]]
            return array if node.get("__numpy__") else mindspore.Tensor(array)
        if "__dict__" in node:
            return {k: _rebuild(v, tensors) for k, v in node["__dict__"]}
        if "__tuple__" in node:
            return tuple(_rebuild(v, tensors) for v in node["__tuple__"])
        if "__list__" in node:
            return [_rebuild(v, tensors) for v in node["__list__"]]
    return node


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True):
    """torch.save(obj, f) as one safetensors file (atomic; honours the umask)."""
    from safetensors.numpy import save

    tensors: dict = {}
    structure = _flatten(obj, "", tensors)
    data = save({k: np.ascontiguousarray(v) for k, v in tensors.items()}, metadata={_KEY: json.dumps(structure)})
    atomic_write_bytes(os.fspath(f), data)


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **kwargs):
    """torch.load(f): a compat_io checkpoint, a plain safetensors file, or (with torch installed) torch's own."""
    path = os.fspath(f)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head[:2] == b"PK" or head[:1] == b"\x80":  # torch's zip container / a legacy pickle
        return _from_torch(path, weights_only)
    from safetensors import safe_open

    with safe_open(path, framework="numpy") as sf:
        tensors = {k: sf.get_tensor(k) for k in sf.keys()}
        structure = (sf.metadata() or {}).get(_KEY)
    if structure is None:  # a plain safetensors file: a flat state dict
        return {k: mindspore.Tensor(v) for k, v in tensors.items()}
    return _rebuild(json.loads(structure), tensors)


def _from_torch(path: str, weights_only):
    try:
        import torch
    except ImportError:
        raise RuntimeError(f"{path} was written by torch.save; reading it needs torch installed "
                           "(or convert it once: compat_io.save(torch.load(p), p2) where torch is)") from None
    obj = torch.load(path, map_location="cpu", weights_only=True if weights_only is None else weights_only)

    def convert(x):
        if isinstance(x, torch.Tensor):
            return mindspore.Tensor(x.detach().cpu().float().numpy() if x.dtype == torch.bfloat16 else x.detach().cpu().numpy())
        if isinstance(x, dict):
            return type(x)((k, convert(v)) for k, v in x.items())
        if isinstance(x, (list, tuple)):
            return type(x)(convert(v) for v in x)
        return x

    return convert(obj)
