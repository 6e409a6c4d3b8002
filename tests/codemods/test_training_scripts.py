"""Published-style training scripts, run as a user runs them on torch and converted on MindSpore: a
subset of benchmarks/train_scripts.py (the whole corpus: `python benchmarks/train_scripts.py`).

Each script is copied, its data generated, the folder converted with `python -m codemods.convert`,
and its runs executed with plain `python` in real processes on both frameworks; the replay hook
starts both from torch's weights and batches. Per-step logged losses must agree within the
corpus tolerance (1e-4 relative, fp32, CPU, PyNative), and the checkpoint script must also resume
on MindSpore from the checkpoint torch wrote.

    .venv/bin/pytest tests/codemods/test_training_scripts.py
"""

from __future__ import annotations

import sys

import pytest

from conftest import REPO, needs

sys.path.insert(0, str(REPO / "benchmarks"))

import train_scripts  # noqa: E402

CORPUS = train_scripts.load_corpus()
ENTRIES = {e["name"]: e for e in CORPUS["scripts"]}


@pytest.mark.parametrize("name", ["quickstart", "checkpoint_resume", "nanogpt"])
def test_script_trains_on_mindspore_with_torchs_losses(name, tmp_path):
    needs("mindspore")
    needs("torch")
    row = train_scripts.run_script(ENTRIES[name], tmp_path / name, CORPUS["tol"])
    assert row["stage"] != "prepare" and "error" not in row, f"{name}: {row['stage']}: {row.get('error')}"
    assert row["steps"] >= 10 and len(row["ms_losses"]) == row["steps"]
    assert row["max_rel_diff"] <= CORPUS["tol"], (row["torch_losses"], row["ms_losses"])
    if ENTRIES[name].get("resume_torch"):
        assert row["resume_torch_diff"] <= CORPUS["tol"]
    assert row["ok"]


def test_corpus_has_six_scripts_in_distinct_styles():
    assert len(ENTRIES) >= 6
    assert all(e["style"] and e["runs"] and e["loss"] for e in ENTRIES.values())
    assert all((train_scripts.CORPUS / e["dir"]).is_dir() for e in ENTRIES.values())
