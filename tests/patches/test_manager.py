"""The patch manager on real modules: apply/revert round trips, `from x import f` aliases,
wrapper stacking, conflicts, missing targets, dummies, conditions, class attributes, env filters,
and the bisect search.

    .venv/bin/pytest tests/patches/test_manager.py -q
"""

import importlib
import subprocess
import sys
import textwrap

import pytest

from patches.bisect import bisect_prefix
from patches.conditions import Condition
from patches.manager import ONLY_ENV, SKIP_ENV, PatchError, PatchManager


@pytest.fixture
def mods(tmp_path, monkeypatch):
    """Two real modules on disk: lib defines f and a class; user did `from lib import f`."""
    (tmp_path / "pm_lib.py").write_text(textwrap.dedent("""
        def f(x):
            return x + 1

        class Base:
            def method(self):
                return "base"

            @staticmethod
            def static(x):
                return x * 2

        class Child(Base):
            pass
    """))
    (tmp_path / "pm_user.py").write_text("from pm_lib import f\nfrom pm_lib import f as g\n\ndef use(x):\n    return f(x)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for m in ("pm_lib", "pm_user"):
        sys.modules.pop(m, None)
    lib, user = importlib.import_module("pm_lib"), importlib.import_module("pm_user")
    yield lib, user
    for m in ("pm_lib", "pm_user"):
        sys.modules.pop(m, None)


def test_apply_revert_round_trip_switches_aliases(mods):
    lib, user = mods
    orig = lib.f
    m = PatchManager()
    m.register("pm_lib.f", lambda x: x * 10, name="times10")
    assert m.apply() == ["times10"]
    assert lib.f(2) == 20 and user.f(2) == 20 and user.g(2) == 20 and user.use(2) == 20
    assert m.apply() == ["times10"]  # idempotent
    assert m.revert() == ["times10"]
    assert lib.f is orig and user.f is orig and user.g is orig
    assert m.revert() == []


def test_wrappers_stack_in_order_and_revert_in_any_order(mods):
    lib, user = mods
    orig = lib.f
    m = PatchManager()
    m.register("pm_lib.f", wrapper=lambda fn: (lambda x: fn(x) * 2), name="double")
    m.register("pm_lib.f", wrapper=lambda fn: (lambda x: fn(x) - 3), name="minus3")
    m.apply()
    assert lib.f(1) == (1 + 1) * 2 - 3 == user.f(1)
    m.register("pm_lib.f", lambda x: 100, name="replace")
    m.apply(names=["replace"])
    assert lib.f(1) == 100 * 2 - 3  # the replacement sits under the wrappers
    m.revert(names=["double"])
    assert lib.f(1) == 97 and user.f(1) == 97
    m.revert(names=["replace"])
    assert lib.f(1) == -1 and user.g(1) == -1
    m.revert()
    assert lib.f is orig and user.f is orig


def test_second_replacement_is_an_error_unless_forced(mods):
    m = PatchManager()
    m.register("pm_lib.f", lambda x: 0, name="a")
    with pytest.raises(PatchError, match="already has a replacement.*force=True"):
        m.register("pm_lib.f", lambda x: 1, name="b")
    m.register("pm_lib.f", lambda x: 1, name="b", force=True)
    m.apply()
    assert mods[0].f(5) == 1  # the later forced one wins
    with pytest.raises(PatchError, match="already registered"):
        m.register("pm_lib.f", wrapper=lambda fn: fn, name="a")


def test_missing_target_is_a_clear_error_or_a_dummy_when_asked(mods):
    m = PatchManager()
    m.register("pm_lib.nope", lambda: 1, name="nope")
    with pytest.raises(PatchError, match="'pm_lib.nope' does not exist"):
        m.apply()
    assert m.applied == []
    m2 = PatchManager()
    m2.register("pm_nonexistent_pkg.sub.fn", lambda: 1, name="x")
    with pytest.raises(PatchError, match="not importable"):
        m2.apply()
    m3 = PatchManager()
    m3.register("pm_lib.Base.nope", lambda self: "dummy", name="d", create_dummy=True)
    m3.register("pm_lib.newmod.fn", lambda: 7, name="e", create_dummy=True)
    m3.apply()
    assert mods[0].Child().nope() == "dummy" and mods[0].newmod.fn() == 7
    m3.revert(names=["d"])
    assert not hasattr(mods[0].Base, "nope")
    m4 = PatchManager()
    m4.register("pm_lib.absent", wrapper=lambda fn: fn, name="w", create_dummy=True)
    with pytest.raises(PatchError, match="nothing to wrap"):
        m4.apply()


def test_class_attributes_staticmethods_and_inherited_restore_exactly(mods):
    lib, _ = mods
    raw_static = lib.Base.__dict__["static"]
    m = PatchManager()
    m.register("pm_lib.Base.static", wrapper=lambda fn: (lambda x: fn(x) + 1), name="s")
    m.register("pm_lib.Child.method", lambda self: "child", name="c")
    m.apply()
    assert lib.Base.static(3) == 7 and lib.Base().static(3) == 7
    assert lib.Child().method() == "child" and lib.Base().method() == "base"
    m.revert()
    assert lib.Base.__dict__["static"] is raw_static
    assert "method" not in lib.Child.__dict__  # inherited before: no own entry left behind


def test_conditions_are_honoured_and_reasons_kept(mods, monkeypatch):
    lib, _ = mods
    m = PatchManager()
    m.register("pm_lib.f", lambda x: 0, name="never", condition=Condition("never", lambda: (False, "not today")))
    m.register("pm_lib.Base.method", lambda s: "x", name="flag", condition=Condition.env_flag("PM_TEST_FLAG"))
    m.register("pm_lib.Base.static", lambda x: 0, name="boom", condition=lambda: 1 / 0)
    monkeypatch.delenv("PM_TEST_FLAG", raising=False)
    assert m.apply() == []
    assert m.skipped["never"] == "not today"
    assert "ZeroDivisionError" in m.skipped["boom"]
    monkeypatch.setenv("PM_TEST_FLAG", "1")
    assert m.apply() == ["flag"] and lib.Base().method() == "x"
    both = Condition.always() & Condition("no", lambda: False)
    assert both.evaluate() == (False, "not (no)")


def test_env_filters_only_and_skip(mods, monkeypatch):
    m = PatchManager()
    m.register("pm_lib.f", lambda x: 0, name="a")
    m.register("pm_lib.Base.method", lambda s: 0, name="b")
    monkeypatch.setenv(ONLY_ENV, "b")
    assert m.apply() == ["b"]
    monkeypatch.delenv(ONLY_ENV)
    monkeypatch.setenv(SKIP_ENV, "a")
    assert m.apply() == ["b"]
    monkeypatch.delenv(SKIP_ENV)
    assert m.apply() == ["a", "b"]


def test_lazy_replacement_string_and_bad_input(mods):
    m = PatchManager()
    m.register("pm_lib.f", "textwrap:dedent", name="lazy")
    m.apply()
    assert mods[0].f("  x") == "x"
    with pytest.raises(PatchError, match="exactly one of"):
        m.register("pm_lib.f", name="none")
    undotted = PatchManager()
    undotted.register("f", lambda: 0, name="z")
    with pytest.raises(PatchError, match="dotted path"):
        undotted.apply()
    bad = PatchManager()
    bad.register("pm_lib.Base.method", "no_such_module_xyz:fn", name="bad")
    with pytest.raises(PatchError, match="cannot load no_such_module_xyz:fn"):
        bad.apply()


def test_bisect_finds_first_breaking_patch():
    names = [f"p{k}" for k in range(11)]
    calls = []

    def passes(subset):
        calls.append(len(subset))
        return "p6" not in subset

    res = bisect_prefix(names, passes)
    assert res.culprit == "p6" and len(calls) <= 2 + 4
    assert bisect_prefix(names, lambda s: True).culprit is None
    assert "even with none" in bisect_prefix(names, lambda s: False).message


def test_cli_list_and_bisect_with_a_check_command(tmp_path):
    out = subprocess.run([sys.executable, "-m", "patches", "list", "--set", "torch_npu"], capture_output=True, text=True)
    assert out.returncode == 0 and "npu:attention:torch.nn.functional.scaled_dot_product_attention" in out.stdout
    check = tmp_path / "check.py"
    check.write_text("import os, sys\nsys.exit(1 if 'npu:attention' in os.environ['MINDBRIDGE_PATCHES_ONLY'] else 0)\n")
    out = subprocess.run([sys.executable, "-m", "patches", "bisect", "unused.yaml", "--set", "torch_npu",
                          "--check", f"{sys.executable} {check}"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "first failing patch: npu:attention:torch.nn.functional.scaled_dot_product_attention" in out.stdout
