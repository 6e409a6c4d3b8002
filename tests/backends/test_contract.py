"""The backend contract (backends/base.py) is enforced and both backends keep to it: a backend that
leaves out any method, its name or its capabilities fails when it is constructed; the two backend
packages have the same module names for the same jobs; core reaches no backend internals."""

import ast
import inspect
import re
from pathlib import Path

import pytest

from backends.base import Backend, Capabilities
from conftest import REPO, needs
from core import registry

CAPS = Capabilities(framework="x", install_extra="x", launcher="torchrun", parallel=("ddp",), precisions=("fp32",),
                    reference_init=False)
METHODS = sorted(Backend.__abstractmethods__)


def _complete_backend(omit: str | None = None):
    """A subclass implementing every abstract method except `omit` (each returns None)."""
    body = {name: (lambda self, *a, **k: None) for name in METHODS if name != omit}
    return type(f"Without_{omit}", (Backend,), {"name": "x", "capabilities": CAPS, **body})


def test_the_contract_lists_what_core_needs():
    assert {"build", "train_step", "eval_loss", "state_dict", "load_state_dict", "optimizer_state",
            "load_optimizer_state", "rng_state", "set_rng_state", "num_parameters", "describe_device",
            "init_process_group", "destroy_process_group", "all_reduce_mean", "probe",
            "set_module_attributes"} == set(METHODS)


@pytest.mark.parametrize("method", METHODS)
def test_a_backend_missing_a_method_fails_at_construction(method):
    cls = _complete_backend(omit=method)
    with pytest.raises(TypeError, match=method):
        cls()
    _complete_backend()()  # the complete one constructs


@pytest.mark.parametrize("attr", ["name", "capabilities"])
def test_a_backend_missing_its_name_or_capabilities_fails_at_construction(attr):
    cls = _complete_backend()
    attrs = {"name": "x", "capabilities": CAPS}
    attrs.pop(attr)
    bare = type("Bare", (Backend,), {**{m: getattr(cls, m) for m in METHODS}, **attrs})
    with pytest.raises(TypeError, match=attr):
        bare()


@pytest.mark.parametrize("name", list(registry.BACKENDS))
def test_each_backend_implements_the_whole_contract(name):
    needs(registry.capabilities(name).framework)
    runtime = registry.backend_module(name, "runtime")
    classes = [c for c in vars(runtime).values() if inspect.isclass(c) and issubclass(c, Backend) and c is not Backend]
    assert len(classes) == 1
    cls = classes[0]
    assert not cls.__abstractmethods__ and cls.name == name
    assert cls.capabilities is registry.capabilities(name)


def test_backend_packages_mirror_each_other():
    jobs = {"__init__", "device", "importer", "runtime", "state", "distributed", "probes"}
    for package in registry.BACKENDS.values():
        modules = {p.stem for p in (REPO / package.replace(".", "/")).glob("*.py")}
        assert jobs <= modules, f"{package} lacks {sorted(jobs - modules)}"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_core_imports_backends_only_through_the_registry_and_the_contract():
    allowed = {"backends", "backends.base"}
    for path in sorted((REPO / "core").rglob("*.py")):
        reached = {m for m in _imports(path) if m.startswith("backends")} - allowed
        assert not reached, f"{path.relative_to(REPO)} imports {sorted(reached)}"
        # a backend object is used through the contract only: no private fields, no framework model
        reaches = re.findall(r"\b(?:backend|self\.backend|tb|mb|b)\.(_\w+|model|index|optimizer|train_model)\b",
                             path.read_text())
        assert not reaches, f"{path.relative_to(REPO)} reaches into a backend: {reaches}"
