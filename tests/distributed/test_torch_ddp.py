"""torch data parallel on CPU (gloo), 2 processes, through the commands users type.

- `core.launch --nproc 2` (torchrun) with DDP and with FSDP2 matches one process with grad_accum=2 on
  the same global batch: per-step loss within rel 1e-5 (measured: ~5e-8);
- checkpoints move both ways: DP=2 -> one process, and one process -> `torchrun -m core.launch`;
- a SIGKILLed rank stops the whole run within seconds, with a message naming the rank.
"""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from conftest import needs
from core.distributed import free_port
from core.launch import train
from dist_helpers import (TINY, kill_rank_when_training, launch_cmd, max_rel, metrics, output, overrides, run,
                          start_tagged, tagged_pids)

REL = 1e-5  # per-step loss, DP=2 vs one process with grad_accum=2 (measured ~5e-8)


def _single(out: Path, **extra) -> dict:
    ov = overrides(train__grad_accum=2, train__out_dir=str(out), **extra)
    return train(str(TINY), backend="torch", device="cpu", overrides=ov, log=lambda *a: None)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One DDP run, one FSDP2 run (2 processes each) and the single-process reference, saving at step 3."""
    needs("torch")
    root = tmp_path_factory.mktemp("torch_dp")
    for name, parallel in (("ddp", "ddp"), ("fsdp", "fsdp")):
        proc = run(launch_cmd("--nproc", "2", ov=overrides(train__save_every=3, train__parallel=parallel,
                                                             train__out_dir=str(root / name))))
        assert "torch.distributed.run --nproc-per-node=2 --standalone -m core.launch" in proc.stdout
    _single(root / "single", train__save_every=3)
    return root


@pytest.mark.parametrize("parallel", ["ddp", "fsdp"])
def test_dp2_matches_one_process_with_grad_accum_2(runs, parallel):
    dp_losses, dp_eval = metrics(runs / parallel)
    ref_losses, ref_eval = metrics(runs / "single")
    assert len(dp_losses) == 6
    assert max_rel(dp_losses, ref_losses) < REL
    assert abs(dp_eval - ref_eval) / ref_eval < REL
    dp_w = load_file(str(runs / parallel / "checkpoints/step_00000006/model.safetensors"))
    ref_w = load_file(str(runs / "single/checkpoints/step_00000006/model.safetensors"))
    assert dp_w.keys() == ref_w.keys()  # torch state_dict names: no "module." prefix, no shards
    for k in ref_w:
        np.testing.assert_allclose(dp_w[k], ref_w[k], rtol=1e-4, atol=1e-6, err_msg=k)


def test_only_rank_0_writes(runs):
    assert sorted(p.name for p in (runs / "ddp/checkpoints").iterdir()) == ["step_00000003", "step_00000006"]
    lines = (runs / "ddp/metrics.jsonl").read_text().splitlines()
    assert len(lines) == 6  # each of the 6 steps once (the final eval on the last line)
    assert "eval_loss" in json.loads(lines[-1])


@pytest.mark.parametrize("parallel", ["ddp", "fsdp"])
def test_dp2_checkpoint_resumes_in_one_process(runs, tmp_path, parallel):
    dp_losses, _ = metrics(runs / parallel)
    shutil.copytree(runs / parallel / "checkpoints/step_00000003", tmp_path / "ckpts/step_00000003")
    s = _single(tmp_path, checkpoint__dir=str(tmp_path / "ckpts"), checkpoint__resume="auto")
    assert s["resumed_from"].endswith("step_00000003")
    assert max_rel(s["losses"], dp_losses[3:]) < REL


def test_one_process_checkpoint_resumes_under_torchrun_directly(runs, tmp_path):
    """`torchrun --nproc_per_node 2 -m core.launch RECIPE` (no --nproc) is a DP=2 run too."""
    ref_losses, _ = metrics(runs / "single")
    ckpt = runs / "single/checkpoints/step_00000003"
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun), "--nproc_per_node", "2", f"--master_port={free_port()}", "-m", "core.launch", str(TINY),
           "--device", "cpu", "--no-progress"]
    ov = overrides(train__out_dir=str(tmp_path / "resumed"), checkpoint__resume=str(ckpt))
    for k, v in ov.items():
        cmd += ["--set", f"{k}={v}"]
    proc = run(cmd)
    assert "rank 0/2 (gloo)" in proc.stdout and f"resumed from {ckpt} at step 3" in proc.stdout
    losses, _ = metrics(tmp_path / "resumed")
    assert max_rel(losses, ref_losses[3:]) < REL


def test_killed_rank_stops_the_run_with_a_clear_message(tmp_path):
    needs("torch")
    out, logs = tmp_path / "killed", tmp_path / "logs"
    cmd = launch_cmd("--nproc", "2", ov=overrides(train__steps=100000, train__out_dir=str(out)))
    proc, tag = start_tagged(cmd, logs)
    killed_at, pid = kill_rank_when_training(proc, tag, out, {"RANK": "1"}, logs)
    proc.wait(timeout=60)
    err = output(logs)[1]
    took = time.monotonic() - killed_at
    assert proc.returncode != 0
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: distributed run failed: rank 1 (local rank 1) killed by SIGKILL"), err[-2000:]
    assert took < 20, f"the run took {took:.1f}s to stop after rank 1 died"
    assert tagged_pids(tag) == []  # no rank left behind


def test_worker_side_error_names_the_failing_rank(tmp_path):
    """An error only a worker can see (the model rejects its config) ends the run with a one-line reason."""
    needs("torch")
    cmd = launch_cmd("--nproc", "2", ov=overrides(model__config__bogus=1, train__out_dir=str(tmp_path / "bad")))
    proc = subprocess.run(cmd, cwd=str(TINY.parents[2]), capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "error: rank 0: recipe key 'model.config' does not fit Llama" in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: distributed run failed: rank ") and "exit code 2: recipe key 'model.config'" in last
    assert "Traceback" not in proc.stderr.split("error: distributed run failed")[1]
