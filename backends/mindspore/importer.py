"""Convert-on-import: load a recipe's torch model module as MindSpore code, through the codemods.

The model file and every module it imports from its own folder/package (the user's code) are run
through `codemods.convert_source`; the result is cached under $MINDBRIDGE_CACHE (default
~/.cache/mindbridge/converted), keyed by the source file's path and content and the converter's own
content (`codemods.fingerprint()`: every rule and table), so a second launch does not re-convert,
and an edited file or an edited converter converts again. Each entry records the SHA-256 of its
converted code; an entry that does not verify (truncated, edited, or a corrupt record) is a miss. Library imports (torch itself,
numpy, ...) are left to the normal import system; the converted code no longer imports torch.

Converted modules live in sys.modules under a private package per source folder
(`_mindbridge_ms_<hash of the folder>.<module>`), so the torch original and its MindSpore conversion
load side by side (the parity tools need both in one process), and two model folders that both
have a `model.py` do not collide.

    from backends.mindspore.importer import load_converted_class
    Llama = load_converted_class(resolve_model_source("model.py:Llama", "examples/llama"))
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

from backends.base import BackendError, ModelSource
from core.atomic import atomic_write_bytes

PREFIX = "_mindbridge_ms"  # + "_<hash of the source folder>"


class ConversionError(BackendError):
    """The converter reported torch APIs it cannot translate; the message carries its report."""


@dataclass
class CacheStats:
    converted: list[str] = field(default_factory=list)  # files converted in this process
    cached: list[str] = field(default_factory=list)  # files served from the cache


STATS = CacheStats()


def cache_dir() -> Path:
    return Path(os.environ.get("MINDBRIDGE_CACHE") or Path.home() / ".cache" / "mindbridge" / "converted")


def _cached(out: Path, meta: Path) -> list[str] | None:
    """The blocking diagnostics of a cache entry that verifies, else None (a miss)."""
    try:
        record = json.loads(meta.read_text(encoding="utf-8"))
        code = out.read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("code_sha256") != hashlib.sha256(code).hexdigest():
        return None
    blocking = record.get("blocking")
    return blocking if isinstance(blocking, list) and all(isinstance(b, str) for b in blocking) else None


def converted_source(path: Path) -> tuple[Path, list[str]]:
    """Return (cached converted file, blocking diagnostics) for one torch source file."""
    import codemods
    from codemods.star_imports import with_inherited_imports

    source = path.read_text(encoding="utf-8")
    converter = codemods.fingerprint()
    inherited = with_inherited_imports(source, path)  # a sibling's torch imports are part of the input
    key = hashlib.sha256(f"{converter}\0{path.resolve()}\0{inherited}".encode()).hexdigest()[:24]
    out = cache_dir() / f"{path.stem}-{key}.py"
    meta = out.with_suffix(".json")
    blocking = _cached(out, meta)
    if blocking is not None:
        STATS.cached.append(str(path))
        return out, blocking
    result = codemods.convert_source(inherited, filename=str(path))  # the sibling imports already added
    blocking = [d.format() for d in result.diagnostics if d.level == "error"]
    code = result.code.encode()
    atomic_write_bytes(out, code)
    atomic_write_bytes(meta, json.dumps({"source": str(path), "converter": converter,
                                         "code_sha256": hashlib.sha256(code).hexdigest(),
                                         "blocking": blocking}).encode())
    STATS.converted.append(str(path))
    return out, blocking


class _AliasLoader(importlib.abc.Loader):
    """Serves `pkg.mod` (an absolute import inside converted code) as the converted `<package>.pkg.mod`."""

    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module):
        pass


class _ConvertingFinder(importlib.abc.MetaPathFinder):
    """Loads the user's modules under `root` as converted code named `<package>.<module>`.

    `tops`: the top-level names that mean the user's own code: the model's package or module, and,
    for a model given as a file, every loose sibling module/package in its folder (`from llama_model
    import Llama` next to the file works on torch because the folder is on sys.path; here it must
    load the converted sibling, never the torch original)."""

    def __init__(self, root: Path, tops: set[str], package: str):
        self.root = root.resolve()
        self.tops = tops
        self.package = package
        self.problems: list[str] = []
        self.loaded: list[str] = []  # converted module names, for the leftover-forward check

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in self.tops:
            return importlib.util.spec_from_loader(fullname, _AliasLoader(f"{self.package}.{fullname}"))
        if not fullname.startswith(self.package + "."):
            return None
        rel = Path(*fullname.split(".")[1:])
        for candidate, is_pkg in ((self.root / rel / "__init__.py", True), (self.root / rel.with_suffix(".py"), False)):
            if candidate.is_file():
                converted, blocking = converted_source(candidate)
                self.problems.extend(blocking)
                self.loaded.append(fullname)
                loader = importlib.machinery.SourceFileLoader(fullname, str(converted))
                return importlib.util.spec_from_file_location(
                    fullname, converted, loader=loader,
                    submodule_search_locations=[str(candidate.parent)] if is_pkg else None)
        return None


def _namespace_package(root: Path) -> str:
    name = f"{PREFIX}_{hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]}"
    if name not in sys.modules:
        pkg = types.ModuleType(name, f"Converted (MindSpore) copies of the torch modules in {root}.")
        pkg.__path__ = []
        sys.modules[name] = pkg
    return name


def sibling_modules(root: Path) -> set[str]:
    """Top-level module names a file's folder provides: `<name>.py` files and `<name>/__init__.py` packages."""
    names = set()
    try:
        entries = list(root.iterdir())
    except OSError:
        return names
    for entry in entries:
        if entry.suffix == ".py" and entry.stem.isidentifier():
            names.add(entry.stem)
        elif entry.is_dir() and entry.name.isidentifier() and (entry / "__init__.py").is_file():
            names.add(entry.name)
    return names


def leftover_forwards(module_names) -> list[str]:
    """Cell subclasses whose `forward` is never called: a class defines forward, but the construct that
    mindspore.nn.Cell.__call__ runs comes from a class after it in the MRO (a rename the converter missed)."""
    import mindspore

    out = []
    for name in module_names:
        module = sys.modules.get(name)
        for obj in list(vars(module).values()) if module is not None else ():
            if not (isinstance(obj, type) and issubclass(obj, mindspore.nn.Cell)) or obj.__module__ != name:
                continue
            mro = obj.__mro__
            fwd = next((i for i, k in enumerate(mro) if "forward" in vars(k)), None)
            con = next((i for i, k in enumerate(mro) if "construct" in vars(k)), len(mro))
            if fwd is not None and fwd < con:
                out.append(f"{name.partition('.')[2]}.{obj.__qualname__}: defines forward() (in {mro[fwd].__qualname__}) "
                           f"but MindSpore calls construct() of {mro[con].__qualname__ if con < len(mro) else 'nn.Cell'}")
    return out


def load_converted_class(src: ModelSource):
    """Import `src` through the converter and return its class (MindSpore code)."""
    if src.path is None:
        spec = importlib.util.find_spec(src.module.split(".")[0])
        if spec is None or not spec.origin:
            raise BackendError(f"recipe key 'model.source': cannot find module '{src.module}'")
        origin = Path(spec.origin).parent
        root = origin.parent if spec.submodule_search_locations else origin
    else:
        root = src.search_root
    top_name = src.module.split(".")[0]
    tops = {top_name} | (sibling_modules(root) if src.path is not None else set())
    package = _namespace_package(root)
    finder = _ConvertingFinder(root, tops, package)
    # While converted code runs its imports, absolute imports of the user's own modules resolve to the
    # converted modules; the torch-side modules of those names are put back afterwards.
    def ours(k):
        return k.partition(".")[0] in tops

    saved = {k: v for k, v in sys.modules.items() if ours(k)}
    for k in saved:
        del sys.modules[k]
    sys.meta_path.insert(0, finder)
    try:
        module = importlib.import_module(f"{package}.{src.module}")
    except SyntaxError as e:
        raise ConversionError(f"{e.filename}:{e.lineno}: converted code does not parse: {e.msg}") from None
    finally:
        sys.meta_path.remove(finder)
        for k in [k for k in sys.modules if ours(k)]:
            del sys.modules[k]
        sys.modules.update(saved)
    if finder.problems:
        report = "; ".join(finder.problems[:5]) + (f"; ... {len(finder.problems) - 5} more" if len(finder.problems) > 5 else "")
        raise ConversionError(f"the converter cannot translate {len(finder.problems)} torch API use(s) in the model: "
                              f"{report} (see `python -m codemods.convert {src.path or src.module} --diff`)")
    leftovers = leftover_forwards(finder.loaded)
    if leftovers:
        raise ConversionError("converted model classes would ignore their forward(): " + "; ".join(leftovers[:5]))
    try:
        return getattr(module, src.attr)
    except AttributeError:
        raise BackendError(f"recipe key 'model.source': {src.display} has no class '{src.attr}'") from None
