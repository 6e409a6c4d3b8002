"""Load the YAML mapping tables in codemods/mappings/ into lookup dicts (once per process).

Each call-mapping entry becomes an `Entry`; see docs/converter.md for the file format. Run
`python -m codemods.tables` to print every mapping as `torch name -> target`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import yaml

MAPPINGS_DIR = Path(__file__).with_name("mappings")
# Dropped from every table-mapped call: devices and memory hints mean nothing in MindSpore.
ALWAYS_DROP = ("device", "pin_memory", "non_blocking", "memory_format")
_MISC_FILES = ("modules.yaml", "methods.yaml")


@dataclass(frozen=True)
class Entry:
    torch: str  # qualified torch name (or method name for methods.yaml)
    code: str
    to: str | None = None  # MindSpore target; None when unsupported
    sizes: str | None = None  # "varargs": f(2, 3) -> f((2, 3))
    rename: dict = field(default_factory=dict)  # keyword renames
    drop: tuple = ()  # keyword arguments removed
    unsupported: str | None = None  # reason, when there is no translation
    suggest: str = ""


@dataclass(frozen=True)
class Tables:
    calls: dict  # qualified torch name -> Entry
    modules: dict  # torch module -> MindSpore module (or None)
    methods: dict  # method name -> Entry (function form)
    varargs_methods: frozenset
    kept_methods: tuple
    families: dict  # code -> family description (for docs)


def _load(path: Path):
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=loader)


def _entry(name: str, raw, code: str, drop: tuple) -> Entry:
    if isinstance(raw, str):
        return Entry(name, code, to=raw, drop=drop)
    if not isinstance(raw, dict):
        raise ValueError(f"mapping {name}: expected a target string or a mapping, got {raw!r}")
    unknown = set(raw) - {"to", "sizes", "rename", "drop", "unsupported", "suggest", "code"}
    if unknown:
        raise ValueError(f"mapping {name}: unknown keys {sorted(unknown)}")
    return Entry(
        name,
        raw.get("code", code),
        to=raw.get("to"),
        sizes=raw.get("sizes"),
        rename=dict(raw.get("rename") or {}),
        drop=drop + tuple(raw.get("drop") or ()),
        unsupported=raw.get("unsupported"),
        suggest=raw.get("suggest", ""),
    )


@functools.lru_cache(maxsize=None)
def load_tables(directory: str | None = None) -> Tables:
    root = Path(directory) if directory else MAPPINGS_DIR
    calls, families = {}, {}
    for path in sorted(root.glob("*.yaml")):
        if path.name in _MISC_FILES:
            continue
        data = _load(path)
        code, drop = data["code"], ALWAYS_DROP + tuple(data.get("drop") or ())
        families[code] = data.get("family", path.stem)
        for name, raw in (data.get("map") or {}).items():
            if name in calls:
                raise ValueError(f"{path.name}: {name} is already mapped in another table")
            calls[name] = _entry(name, raw, code, drop)
    modules = _load(root / "modules.yaml")["modules"]
    meth = _load(root / "methods.yaml")
    families[meth["code"]] = meth["family"]
    methods = {n: _entry(n, raw, meth["code"], ()) for n, raw in meth["functions"].items()}
    return Tables(calls, modules, methods, frozenset(meth.get("varargs") or ()),
                  tuple(meth.get("kept") or ()), families)


if __name__ == "__main__":
    t = load_tables()
    for name, e in sorted(t.calls.items()):
        print(f"{e.code} {name} -> {e.to or 'UNSUPPORTED: ' + str(e.unsupported)}")
