"""The patch manager: register replacements/wrappers for dotted targets, apply, revert exactly.

A patch names a target by its dotted path ("mindspore.mint.arange", "torch.nn.functional.
scaled_dot_product_attention", "mindspore.Tensor.clone") and gives either a plain replacement or a
wrapper (a function that takes the original and returns the new callable). Nothing changes until
apply(). Per target, the installed object is always recomputed from the original:

    original -> the one plain replacement (if any) -> wrappers in registration order

so patches stack, and revert() of any subset restores exactly what the rest imply (the original
object itself once none is left). On apply, every module global in sys.modules that holds the
object being replaced (`from x import f` copies) is switched too, and switched back on revert.

    from patches.manager import MANAGER, Condition
    MANAGER.register("mindspore.mint.arange", "patches.mindspore.creation:arange",
                     condition=Condition.device_target("CPU", "GPU"), group="mindspore")
    MANAGER.apply(group="mindspore"); MANAGER.revert(group="mindspore")

Replacements and conditions may be given lazily ("module:attr" strings, callables), so that
registering and listing patches never imports a framework. `python -m patches list` shows them.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from patches.conditions import Condition

ONLY_ENV = "MINDBRIDGE_PATCHES_ONLY"  # comma-separated names: apply no other patch (bisect uses it)
SKIP_ENV = "MINDBRIDGE_PATCHES_SKIP"  # comma-separated names: never apply these


class PatchError(Exception):
    """A one-line problem with registering or applying a patch."""


_MISSING = object()


@dataclass
class Patch:
    name: str
    target: str
    new: Any  # the replacement, the wrapper, or a "module:attr" string for either
    is_wrapper: bool = False
    condition: Condition = field(default_factory=Condition.always)
    group: str = "default"
    create_dummy: bool = False
    aliases: bool = True  # also switch `from x import f` copies found in sys.modules
    note: str = ""  # shown by `python -m patches list` (e.g. "PyNative only")

    def resolve_new(self) -> Any:
        if isinstance(self.new, str) and ":" in self.new:
            mod, _, attr = self.new.partition(":")
            try:
                return getattr(importlib.import_module(mod), attr)
            except (ImportError, AttributeError) as e:
                raise PatchError(f"patch {self.name}: cannot load {self.new}: {e}") from None
        return self.new


@dataclass
class _TargetState:
    owner: Any
    attr: str
    original: Any  # the raw object (class __dict__ entry for class attributes) or _MISSING
    own: bool  # the attribute lived in owner's own __dict__ (else: inherited or missing)
    installed: Any  # what the owner holds now


def _name_list(env: str) -> set[str] | None:
    raw = os.environ.get(env, "").strip()
    return {n.strip() for n in raw.split(",") if n.strip()} if raw else None


def resolve_target(target: str, create_dummy: bool = False) -> tuple[Any, str]:
    """Return (owner, attribute name) for a dotted target; the longest importable module prefix
    is imported, the rest are attributes. Missing parts raise PatchError, or with create_dummy
    become empty modules/classes (only the last part may be missing for the attribute itself)."""
    parts = target.split(".")
    if len(parts) < 2:
        raise PatchError(f"patch target '{target}' must be a dotted path like 'package.module.name'")
    module, i = None, len(parts) - 1
    while i > 0:
        try:
            module = importlib.import_module(".".join(parts[:i]))
            break
        except ModuleNotFoundError as e:
            if e.name is None or not ".".join(parts[:i]).startswith(e.name):
                raise PatchError(f"patch target '{target}': importing {'.'.join(parts[:i])} failed: {e}") from None
            i -= 1
        except Exception as e:  # a broken package: say so in one line
            raise PatchError(f"patch target '{target}': importing {'.'.join(parts[:i])} failed: {type(e).__name__}: {e}") from None
    if module is None:
        if not create_dummy:
            raise PatchError(f"patch target '{target}': module '{parts[0]}' is not importable")
        module = _dummy_module(parts[0])
        i = 1
    owner = module
    for j in range(i, len(parts) - 1):
        nxt = getattr(owner, parts[j], _MISSING)
        if nxt is _MISSING:
            if not create_dummy:
                raise PatchError(f"patch target '{target}': '{'.'.join(parts[: j + 1])}' does not exist")
            nxt = _dummy_module(".".join(parts[: j + 1]))
            setattr(owner, parts[j], nxt)
        owner = nxt
    return owner, parts[-1]


def _dummy_module(name: str):
    import types

    mod = types.ModuleType(name, "created by patches.manager (create_dummy=True)")
    sys.modules[name] = mod
    return mod


def _raw_get(owner: Any, attr: str) -> tuple[Any, bool]:
    """The attribute as stored (staticmethod/classmethod kept as descriptors) and whether it is
    the owner's own entry."""
    if isinstance(owner, type):
        if attr in owner.__dict__:
            return owner.__dict__[attr], True
        return getattr(owner, attr, _MISSING), False
    d = getattr(owner, "__dict__", None)
    if d is not None and attr in d:
        return d[attr], True
    return getattr(owner, attr, _MISSING), False


def _unwrap_descriptor(obj: Any) -> Any:
    return obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj


def _rewrap_descriptor(like: Any, fn: Any) -> Any:
    if isinstance(like, staticmethod):
        return staticmethod(fn)
    if isinstance(like, classmethod):
        return classmethod(fn)
    return fn


class PatchManager:
    """Holds registered patches and the live state of every patched target."""

    def __init__(self) -> None:
        self.patches: dict[str, Patch] = {}
        self.applied: list[str] = []  # names in the order they were applied
        self.skipped: dict[str, str] = {}  # name -> why its condition did not hold at the last apply
        self._targets: dict[str, _TargetState] = {}

    # ------------------------------------------------------------ registration

    def register(
        self,
        target: str,
        replacement: Any = None,
        *,
        wrapper: Any = None,
        name: str | None = None,
        condition: Condition | Callable[[], Any] | None = None,
        group: str = "default",
        force: bool = False,
        create_dummy: bool = False,
        aliases: bool = True,
        note: str = "",
    ) -> Patch:
        """Register a plain `replacement` or a `wrapper(original) -> new` for `target`.

        A second plain replacement of a target is an error unless force=True (it then takes the
        place of the earlier one); wrappers always stack. Nothing is changed until apply()."""
        if (replacement is None) == (wrapper is None):
            raise PatchError(f"patch for '{target}': give exactly one of replacement= or wrapper=")
        name = name or f"{group}:{target}"
        if name in self.patches:
            raise PatchError(f"a patch named '{name}' is already registered")
        if replacement is not None and not force:
            for p in self.patches.values():
                if p.target == target and not p.is_wrapper:
                    raise PatchError(
                        f"'{target}' already has a replacement ({p.name}); pass force=True to replace it"
                    )
        if condition is None:
            condition = Condition.always()
        elif not isinstance(condition, Condition):
            condition = Condition(getattr(condition, "__name__", "custom condition"), condition)
        patch = Patch(name, target, replacement if wrapper is None else wrapper, wrapper is not None,
                      condition, group, create_dummy, aliases, note)
        self.patches[name] = patch
        return patch

    def unregister(self, name: str) -> None:
        if name in self.applied:
            self.revert(names=[name])
        del self.patches[name]

    # ------------------------------------------------------------ apply / revert

    def select(self, names=None, group: str | None = None) -> list[Patch]:
        if names is not None:
            unknown = [n for n in names if n not in self.patches]
            if unknown:
                raise PatchError(f"unknown patch name(s): {', '.join(unknown)}")
            return [self.patches[n] for n in names]
        return [p for p in self.patches.values() if group is None or p.group == group]

    def apply(self, names=None, group: str | None = None) -> list[str]:
        """Apply the selected patches whose condition holds; idempotent. Returns the names that
        are applied now (already-applied ones included). MINDBRIDGE_PATCHES_ONLY / _SKIP filter."""
        only, skip = _name_list(ONLY_ENV), _name_list(SKIP_ENV) or set()
        todo = []
        for p in self.select(names, group):
            if p.name in self.applied:
                continue
            if (only is not None and p.name not in only) or p.name in skip:
                self.skipped[p.name] = f"excluded by {ONLY_ENV if only is not None and p.name not in only else SKIP_ENV}"
                continue
            ok, why = p.condition.evaluate()
            if not ok:
                self.skipped[p.name] = why
                continue
            self.skipped.pop(p.name, None)
            todo.append(p)
        for p in todo:  # fail before anything changes
            p.resolve_new()
            if self._state(p).original is _MISSING and p.is_wrapper:
                raise PatchError(f"patch {p.name}: '{p.target}' does not exist, so there is nothing to wrap")
        changed = {}
        for p in todo:
            self.applied.append(p.name)
            if p.target not in changed:
                changed[p.target] = p
        self._refresh(list(changed.values()))
        return [p.name for p in self.select(names, group) if p.name in self.applied]

    def revert(self, names=None, group: str | None = None) -> list[str]:
        """Revert the selected applied patches; each touched target gets exactly what the
        remaining applied patches imply (the original when none remain). Returns names reverted."""
        sel = [p for p in self.select(names, group) if p.name in self.applied]
        for p in sel:
            self.applied.remove(p.name)
        firsts = {}
        for p in sel:
            firsts.setdefault(p.target, p)
        self._refresh(list(firsts.values()))
        return [p.name for p in sel]

    def revert_all(self) -> list[str]:
        return self.revert(names=list(self.applied))

    def is_applied(self, name: str) -> bool:
        return name in self.applied

    def original(self, target: str) -> Any:
        """The pre-patch object of a patched target (unwrapped from staticmethod/classmethod)."""
        state = self._targets.get(target)
        if state is None:
            owner, attr = resolve_target(target)
            return _unwrap_descriptor(_raw_get(owner, attr)[0])
        return _unwrap_descriptor(state.original)

    # ------------------------------------------------------------ internals

    def _compose(self, target: str, state: _TargetState) -> Any:
        active = [self.patches[n] for n in self.applied if self.patches[n].target == target]
        if not active:
            return state.original
        base = _unwrap_descriptor(state.original)
        plains = [p for p in active if not p.is_wrapper]
        obj = plains[-1].resolve_new() if plains else base
        for p in active:
            if p.is_wrapper:
                if obj is _MISSING:
                    raise PatchError(f"patch {p.name}: '{target}' does not exist, so there is nothing to wrap")
                obj = p.resolve_new()(obj)
        return _rewrap_descriptor(state.original, obj)

    def _state(self, p: Patch) -> _TargetState:
        state = self._targets.get(p.target)
        if state is None:
            owner, attr = resolve_target(p.target, p.create_dummy)
            raw, own = _raw_get(owner, attr)
            if raw is _MISSING and not p.create_dummy:
                raise PatchError(f"patch {p.name}: target '{p.target}' does not exist (create_dummy=True makes it)")
            state = self._targets[p.target] = _TargetState(owner, attr, raw, own, raw)
        return state

    def _refresh(self, firsts: list[Patch]) -> None:
        """Recompute and install the object of each target; switch aliases in one sys.modules scan."""
        swaps: dict[int, tuple[Any, Any, dict, str]] = {}
        for p in firsts:
            state = self._state(p)
            new = self._compose(p.target, state)
            old = state.installed
            if new is old:
                continue
            if new is _MISSING or (new is state.original and not state.own):
                delattr(state.owner, state.attr)  # missing before, or inherited: drop our entry
            else:
                setattr(state.owner, state.attr, new)
            state.installed = new
            old_fn, new_fn = _unwrap_descriptor(old), _unwrap_descriptor(new)
            follow = any(q.aliases for q in self.patches.values() if q.target == p.target)
            if follow and old_fn is not _MISSING and new_fn is not _MISSING:
                swaps[id(old_fn)] = (old_fn, new_fn, getattr(state.owner, "__dict__", None), state.attr)
            if new is state.original:
                del self._targets[p.target]
        if swaps:
            _switch_aliases(swaps)


def _switch_aliases(swaps: dict[int, tuple[Any, Any, Any, str]]) -> None:
    """Every module global that holds an old object gets the new one (`from x import f` copies).
    Our own modules are left alone: fallbacks capture originals on purpose."""
    for mod_name, mod in list(sys.modules.items()):
        if mod is None or mod_name == "patches" or mod_name.startswith("patches."):
            continue
        d = getattr(mod, "__dict__", None)
        if not isinstance(d, dict):
            continue
        for key, val in list(d.items()):
            hit = swaps.get(id(val))
            if hit is None or hit[0] is not val or (d is hit[2] and key == hit[3]):
                continue
            d[key] = hit[1]


MANAGER = PatchManager()
