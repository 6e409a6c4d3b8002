"""Cross-backend parity of the Llama recipe through `python -m core.parity`: the report files, the exit
status, and `--layers` naming the first module of a deliberately broken conversion.

    .venv/bin/pytest tests/parity -m parity
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO, needs

pytestmark = [pytest.mark.parity, pytest.mark.mindspore]

TINY = REPO / "examples/llama/tiny.yaml"
# the llama recipe at the small size of tests/backends: about 1 s per backend for 10 steps after compiling
SMALL = ["model.config.dim=32", "model.config.n_layers=2", "model.config.hidden_dim=96",
         "model.config.tie_embeddings=true", "data.seq_len=32", "data.batch_size=8", "train.eval_batches=1",
         "schedule.warmup_steps=3"]
SETS = [a for s in SMALL for a in ("--set", s)]
BROKEN = "layers.1.ffn_norm"  # the module given a wrong epsilon on the MindSpore side only


def _parity(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "core.parity", str(TINY), *SETS, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def test_llama_recipe_matches_and_writes_the_report(tmp_path):
    needs("torch")
    needs("mindspore")
    out = tmp_path / "parity"
    proc = _parity("--steps", "10", "--out", str(out))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "PASS" in proc.stdout
    rep = json.loads((out / "report.json").read_text())
    assert rep["ok"] and rep["failed"] == [] and rep["steps"] == 10 and rep["precision"] == "fp32"
    c = rep["checks"]
    assert c["forward"]["rel_l2"] <= 1e-5 and c["loss0"]["rel"] <= 1e-4
    assert len(c["grads"]["per_name"]) == 20 and c["grads"]["missing"] == [] == c["grads"]["unexpected"]
    assert all(v["rel_l2"] <= 1e-4 for v in c["grads"]["per_name"].values())
    assert len(c["losses"]["torch"]) == len(c["losses"]["mindspore"]) == 10 and c["losses"]["max_rel"] <= 1e-4
    assert c["params"]["ok"] and "layers" not in c
    assert rep["tolerances"] == {"logits": 1e-5, "grads": 1e-4, "loss": 1e-4, "params": 1e-3}
    md = (out / "report.md").read_text()
    assert md.startswith("# Parity report") and "**PASS**" in md and "![loss curves](loss.png)" in md
    png = (out / "loss.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    assert (out / "init.safetensors").is_file()  # the one initial checkpoint both backends started from


def test_layers_names_the_module_with_a_wrong_epsilon(tmp_path):
    needs("torch")
    needs("mindspore")
    from core.parity import run_parity

    rep = run_parity(str(TINY), steps=0, layers=True, out=tmp_path, overrides=SMALL,
                     ms_attrs=[f"{BROKEN}.eps=1e-2"], log=lambda *a: None)
    lay = rep["checks"]["layers"]
    assert not rep["ok"] and "layers" in rep["failed"] and "forward" in rep["failed"]
    assert lay["first_divergent"] == BROKEN and lay["missing"] == []
    names = [m["name"] for m in lay["modules"]]
    first = names.index(BROKEN)
    assert all(m["ok"] for m in lay["modules"][:first])  # everything before it agrees
    assert lay["modules"][first]["rel_l2"] > 1e-2
    assert f"First module whose output diverges: `{BROKEN}`" in (tmp_path / "report.md").read_text()
    assert not (tmp_path / "loss.png").exists()  # --steps 0: the step-0 probe only


def test_cli_catches_a_patched_model_file_and_exits_1(tmp_path):
    """A converted model that differs from the torch one in a single module (its RMSNorm epsilon)."""
    needs("torch")
    needs("mindspore")
    source = (REPO / "examples/llama/model.py").read_text()
    anchor = "        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layers)])\n"
    assert anchor in source
    patched = tmp_path / "llama_wrong_eps.py"  # its own module name: no clash with the real model
    patched.write_text(source.replace(anchor, anchor + "        self.layers[1].ffn_norm.eps = 1e-2  # the bug\n"))
    out = tmp_path / "parity"
    proc = _parity("--steps", "3", "--layers", "--out", str(out), "--ms-set", f"model.source={patched}:Llama",
                   "--set", "train.mode=pynative")  # no graph compile for a 3-step run
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert f"first diverging module: {BROKEN}" in proc.stdout and "FAIL" in proc.stdout
    rep = json.loads((out / "report.json").read_text())
    assert rep["checks"]["layers"]["first_divergent"] == BROKEN
    assert {"forward", "grads", "layers", "losses"} <= set(rep["failed"])
    assert (out / "loss.png").is_file()


def test_bad_override_is_a_one_line_error(tmp_path, capsys):
    needs("torch")
    needs("mindspore")
    from core import cli

    assert "parity" in cli.COMMANDS  # `mindbridge parity` routes to core.parity.main
    from core.parity import main

    assert main([str(TINY), *SETS, "--steps", "0", "--out", str(tmp_path), "--ms-override", "layers.7.ffn_norm.eps=1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --ms-override: the model has no module 'layers.7.ffn_norm'"]
    assert main([str(TINY), "--steps", "0", "--ms-override", "eps"]) == 2
    assert "must look like module.path.attribute=value" in capsys.readouterr().err
