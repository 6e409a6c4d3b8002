"""Choosing the backend: one table of names and aliases, one precedence, one error for a bad name.

Precedence, highest first: `--backend`/`--device` flags > `--set` > MINDBRIDGE_BACKEND > the recipe
file > defaults. No framework is imported (the recipe is only resolved and printed).
"""

import os
import subprocess
import sys

import pytest
import yaml

from conftest import REPO
from core import registry
from core.errors import RecipeError
from core.launch import resolve_recipe

TINY = str(REPO / "examples/llama/tiny.yaml")


@pytest.fixture
def ms_recipe(tmp_path):
    path = tmp_path / "ms.yaml"
    path.write_text((REPO / "examples/llama/tiny.yaml").read_text() + "backend: mindspore\ndevice: cpu\n")
    (tmp_path / "model.py").write_text((REPO / "examples/llama/model.py").read_text())
    return str(path)


@pytest.mark.parametrize("flag, sets, env, expected", [
    (None, [], None, "mindspore"),                                   # the recipe file
    (None, [], "torch", "torch"),                                    # env over the recipe
    (None, ["backend=mindspore"], "torch", "mindspore"),             # --set over env
    ("torch", ["backend=mindspore"], "mindspore", "torch"),          # the flag over everything
    ("pytorch", [], None, "torch"),                                  # aliases canonicalised once
    (None, [], "ms", "mindspore"),
    (None, ["backend=torch_npu"], None, "torch"),
])
def test_backend_precedence_flag_set_env_recipe(ms_recipe, flag, sets, env, expected):
    environ = {"MINDBRIDGE_BACKEND": env} if env else {}
    assert resolve_recipe(ms_recipe, backend=flag, overrides=sets, environ=environ).backend == expected


def test_device_flag_beats_set_beats_recipe(ms_recipe):
    assert resolve_recipe(ms_recipe, environ={}).device == "cpu"
    assert resolve_recipe(ms_recipe, overrides=["device=npu"], environ={}).device == "npu"
    assert resolve_recipe(ms_recipe, device="cuda", overrides=["device=npu"], environ={}).device == "cuda"


def test_a_bad_name_gives_the_same_one_line_error_whichever_way_it_arrives(tmp_path):
    expected = "unknown backend 'jax' (valid: torch, mindspore; aliases: pytorch, torch_npu, ms)"
    bad_recipe = tmp_path / "bad.yaml"
    bad_recipe.write_text((REPO / "examples/llama/tiny.yaml").read_text() + "backend: jax\n")
    (tmp_path / "model.py").write_text((REPO / "examples/llama/model.py").read_text())
    routes = [dict(path=TINY, backend="jax"), dict(path=TINY, overrides=["backend=jax"]),
              dict(path=TINY, environ={"MINDBRIDGE_BACKEND": "jax"}), dict(path=str(bad_recipe))]
    for route in routes:
        with pytest.raises(RecipeError) as e:
            resolve_recipe(route.pop("path"), **{"environ": {}, **route})
        assert str(e.value) == expected
    with pytest.raises(RecipeError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        registry.canonical_backend("jax")


def test_cli_precedence_and_error_from_the_environment():
    env = {**os.environ, "MINDBRIDGE_BACKEND": "torch"}
    run = lambda *a, env=env: subprocess.run([sys.executable, "-m", "core.launch", TINY, *a], cwd=REPO, env=env,
                                             capture_output=True, text=True, timeout=60)
    proc = run("--set", "backend=mindspore", "--print-recipe")
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load(proc.stdout)["backend"] == "mindspore"  # --set wins over MINDBRIDGE_BACKEND
    proc = run("--print-recipe", env={**os.environ, "MINDBRIDGE_BACKEND": "jax"})
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: unknown backend 'jax' (valid: torch, mindspore; "
                                   "aliases: pytorch, torch_npu, ms)")


def test_capabilities_are_readable_without_importing_a_framework():
    code = ("import sys; from core import registry\n"
            "caps = {n: registry.capabilities(n) for n in registry.BACKENDS}\n"
            "print(caps['torch'].launcher, caps['mindspore'].launcher, registry.reference_backend())\n"
            "sys.exit(1 if {'torch', 'mindspore'} & set(sys.modules) else 0)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["torchrun", "msrun", "torch"]
