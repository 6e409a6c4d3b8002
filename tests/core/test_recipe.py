"""Recipe schema, overrides and one-line errors (no framework needed)."""

import random
import subprocess
import sys

import pytest
import yaml

from conftest import REPO
from core.recipe import RecipeError, load_recipe, recipe_from_dict

TINY = REPO / "examples/llama/tiny.yaml"


def test_tiny_recipe_loads_with_defaults_filled():
    r = load_recipe(TINY)
    assert r.name == "tiny" and r.backend == "torch" and r.device == "auto"
    assert r.model.source == "model.py:Llama" and r.model.config["dim"] > 0
    assert r.checkpoint.resume == "none" and r.train.precision == "fp32"


def test_overrides_take_precedence_and_are_typed():
    r = load_recipe(TINY, ["train.steps=50", "optim.lr=3e-4", "optim.betas=[0.8, 0.9]", "model.config.dim=32",
                           "train.fused_kernels=true", "backend=pytorch"])
    assert r.train.steps == 50 and r.optim.lr == pytest.approx(3e-4) and r.optim.betas == [0.8, 0.9]
    assert r.model.config["dim"] == 32 and r.train.fused_kernels is True
    assert r.backend == "torch"  # alias resolved


@pytest.mark.parametrize("override, message", [
    ("train.stepz=3", "unknown recipe key 'train.stepz'"),
    ("train.steps=abc", "'train.steps' must be an integer"),
    ("train.steps=1.5", "'train.steps' must be an integer"),
    ("train.steps=true", "'train.steps' must be an integer"),
    ("train.steps=0", "'train.steps' must be > 0"),
    ("optim.lr=fast", "'optim.lr' must be a number"),
    ("optim.lr=.nan", "'optim.lr' must be a finite number"),
    ("optim.betas=0.9", "'optim.betas' must be a list"),
    ("optim.betas=[0.9]", "'optim.betas' must be two numbers"),
    ("train.precision=fp8", "'train.precision' must be one of fp32, bf16, fp16"),
    ("backend=jax", "unknown backend 'jax' (valid: torch, mindspore; aliases: pytorch, torch_npu, ms)"),
    ("device=tpu", "'device' must be one of"),
    ("train=3", "'train' must be a mapping"),
    ("no_equals_sign", "must look like key.path=value"),
    ("train..steps=3", "malformed key path"),
    ("=3", "malformed key path"),
    ("data.val_fraction=1.5", "'data.val_fraction' must be between 0 and 1"),
    ("model.source=model.py", "'model.source' must look like"),
    ("schedule.min_lr=1.0", "'schedule.min_lr'"),
])
def test_bad_overrides_give_one_line_errors(override, message):
    with pytest.raises(RecipeError) as e:
        load_recipe(TINY, [override])
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(RecipeError, match="recipe file not found"):
        load_recipe(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  source: [unclosed\n")
    with pytest.raises(RecipeError, match=r"bad.yaml:\d+:\d+: invalid YAML"):
        load_recipe(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(RecipeError, match="'model.source' is required"):
        load_recipe(empty)


def _mutations(base: dict, rng: random.Random):
    """Yield randomly broken copies of a recipe dict: wrong types, unknown keys, odd values."""
    junk = [None, -1, 0, 1.5, "x", "", [], {}, [1, "a"], {"k": 1}, True, "1e-3", 10**12, float("inf"), "../../etc"]
    sections = [k for k, v in base.items() if isinstance(v, dict)]
    for _ in range(400):
        data = yaml.safe_load(yaml.safe_dump(base))
        for _ in range(rng.randint(1, 3)):
            sec = rng.choice(sections)
            op = rng.random()
            if op < 0.7 and isinstance(data[sec], dict):
                keys = list(data[sec]) + ["bogus_key"]
                data[sec][rng.choice(keys)] = rng.choice(junk)
            elif op < 0.85:
                data[sec] = rng.choice(junk)
            else:
                data[rng.choice(["extra", "backend", "device", "name"])] = rng.choice(junk)
        yield data


def test_fuzzed_recipes_never_raise_anything_but_a_one_line_recipe_error():
    base = yaml.safe_load(TINY.read_text())
    rng = random.Random(0)
    errors = 0
    for data in _mutations(base, rng):
        try:
            recipe_from_dict(data, base_dir=str(TINY.parent))
        except RecipeError as e:
            errors += 1
            assert "\n" not in str(e), str(e)
    assert errors > 200  # most mutations are invalid and must be caught


def test_cli_prints_one_line_error_without_traceback():
    proc = subprocess.run([sys.executable, "-m", "core.launch", str(TINY), "--set", "train.steps=abc"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: recipe key 'train.steps' must be an integer, got 'abc' (str)"
    assert "Traceback" not in proc.stderr


def test_print_recipe_shows_resolved_values():
    proc = subprocess.run([sys.executable, "-m", "core.launch", str(TINY), "--ai-framework", "mindspore",
                           "--set", "train.steps=7", "--print-recipe"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    printed = yaml.safe_load(proc.stdout)
    assert printed["backend"] == "mindspore" and printed["train"]["steps"] == 7


def test_core_imports_no_framework():
    code = ("import sys, importlib, pkgutil, core\n"
            "mods = [m.name for m in pkgutil.walk_packages(core.__path__, 'core.') if not m.name.endswith('__main__')]\n"
            "assert len(mods) >= 30, mods\n"
            "for m in mods: importlib.import_module(m)\n"
            "bad = [m for m in ('torch', 'mindspore') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_console_script_routes_train_and_rejects_unknown_commands():
    proc = subprocess.run([sys.executable, "-m", "core.cli", "train", str(TINY), "--set", "train.steps=3",
                           "--print-recipe"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and yaml.safe_load(proc.stdout)["train"]["steps"] == 3
    proc = subprocess.run([sys.executable, "-m", "core.cli", "trian"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "unknown command 'trian'" in proc.stderr
