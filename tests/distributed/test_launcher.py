"""The launcher side of core.distributed, without starting workers: environment detection, the
torchrun/msrun command lines, flag checks, failure messages, and core.launch's one-line errors."""

import subprocess
import sys

import pytest

from core.distributed import (DistEnv, DistributedError, LaunchSpec, detect_env, msrun_command, msrun_env,
                              strip_launch_flags, timeout_s, torchrun_command)
from core.distributed.watch import explain_msrun_failure, explain_torchrun_failure
from dist_helpers import REPO, TINY

RECIPE = str(TINY)


def test_detect_env_single_torchrun_msrun():
    assert detect_env({}) == DistEnv() and not detect_env({}).active
    env = detect_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert env == DistEnv("torchrun", rank=3, world_size=4, local_rank=1)
    worker = {"MS_ROLE": "MS_WORKER", "MS_WORKER_NUM": "2", "RANK_ID": "1", "DEVICE_ID": "1"}
    assert detect_env(worker) == DistEnv("msrun", rank=1, world_size=2, local_rank=1)
    sched = detect_env({"MS_ROLE": "MS_SCHED", "MS_WORKER_NUM": "2", "RANK_ID": "0"})
    assert sched.scheduler and sched.launcher == "msrun"
    with pytest.raises(DistributedError, match="RANK='x' is not an integer"):
        detect_env({"RANK": "x", "WORLD_SIZE": "2"})


def test_timeout_from_environment():
    assert timeout_s({}) == 300
    assert timeout_s({"MINDBRIDGE_DIST_TIMEOUT": "30"}) == 30
    with pytest.raises(DistributedError, match="MINDBRIDGE_DIST_TIMEOUT"):
        timeout_s({"MINDBRIDGE_DIST_TIMEOUT": "0"})


def test_strip_launch_flags_keeps_everything_else():
    argv = [RECIPE, "--nproc", "2", "--set", "train.steps=5", "--nnodes=1", "--master-port", "2950",
            "--node-rank", "0", "--master-addr=10.0.0.1", "--device", "cpu"]
    assert strip_launch_flags(argv) == [RECIPE, "--set", "train.steps=5", "--device", "cpu"]


def test_torchrun_command_single_and_multi_node():
    one = torchrun_command(LaunchSpec(nproc=2), [RECIPE], python="/venv/bin/python")
    assert one == ["/venv/bin/python", "-m", "torch.distributed.run", "--nproc-per-node=2", "--standalone",
                   "-m", "core.launch", RECIPE]
    multi = torchrun_command(LaunchSpec(nproc=8, nnodes=2, node_rank=1, master_addr="10.0.0.1", master_port=29400),
                             [RECIPE], python="python")
    assert multi[3:8] == ["--nproc-per-node=8", "--nnodes=2", "--node-rank=1", "--master-addr=10.0.0.1",
                          "--master-port=29400"]


def test_msrun_command_and_env():
    cmd = msrun_command(LaunchSpec(nproc=8, nnodes=2, node_rank=1, master_addr="10.0.0.1", master_port=8118),
                        [RECIPE, "--backend", "mindspore"], "/runs/x/msrun_logs", timeout=120)
    assert cmd[:9] == ["msrun", "--worker_num=16", "--local_worker_num=8", "--master_addr=10.0.0.1",
                       "--master_port=8118", "--log_dir=/runs/x/msrun_logs", "--join=True", "--cluster_time_out=120",
                       "--tail_worker_log=0"]
    assert cmd[9] == "--node_rank=1"
    assert cmd[10:] == ["python", "-m", "core.launch", RECIPE, "--backend", "mindspore"]
    env = msrun_env(python="/venv/bin/python", environ={"PATH": "/usr/bin"})
    assert env["PATH"].split(":")[0] == "/venv/bin" and env["GLOG_v"] == "3"


@pytest.mark.parametrize("spec, message", [
    (LaunchSpec(nproc=0), "--nproc must be >= 1"),
    (LaunchSpec(nnodes=2, node_rank=2, master_port=29500), r"--node-rank must be in \[0, 1\]"),
    (LaunchSpec(nnodes=2), "--nnodes > 1 needs --master-port"),
    (LaunchSpec(nproc=2, master_port=80), "--master-port must be in 1024..65535"),
])
def test_bad_flags(spec, message):
    with pytest.raises(DistributedError, match=message):
        spec.check()


TORCHRUN_SUMMARY = """
Root Cause (first observed failure):
[0]:
  time      : 2026-11-24_20:42:08
  host      : localhost
  rank      : 1 (local_rank: 1)
  exitcode  : 2 (pid: 22479)
  error_file: /tmp/torchelastic/error.json
  traceback : ValueError: bad shape
"""


def test_torchrun_failure_message():
    msg = explain_torchrun_failure(TORCHRUN_SUMMARY, 1)
    assert msg == "distributed run failed: rank 1 (local rank 1) exit code 2: ValueError: bad shape; torchrun " \
                  "stopped the other ranks"
    assert "torchrun exit code 1" in explain_torchrun_failure("no summary", 1)
    # No error file (the usual case): the rank's own last error line, e.g. a gloo timeout
    summary = TORCHRUN_SUMMARY.replace("ValueError: bad shape", "To enable traceback see: https://pytorch.org")
    printed = ("[rank0]: RuntimeError: not this rank\n[rank1]: Traceback (most recent call last):\n"
               "[rank1]: RuntimeError: [gloo/unbound_buffer.cc:129] Timed out waiting 15000ms for send operation\n")
    msg = explain_torchrun_failure(printed + summary, 1)
    assert "exit code 2: RuntimeError: [gloo/unbound_buffer.cc:129] Timed out waiting 15000ms" in msg


def test_msrun_failure_message_names_the_rank_and_shows_its_log(tmp_path):
    (tmp_path / "worker_0.log").write_text("mindbridge: msrun worker rank 0 of 2, pid 100\nstep 1\n")
    (tmp_path / "worker_1.log").write_text("mindbridge: msrun worker rank 1 of 2, pid 101\n[INFO] noise\n"
                                           "error: rank 1: out of memory\n")
    msg = explain_msrun_failure(tmp_path, pid=101, code=2, msrun_code=1)
    lines = msg.splitlines()
    assert lines[0] == (f"distributed run failed: rank 1 (pid 101) exit code 2: out of memory; msrun stopped the "
                        f"other workers. Logs: {tmp_path}")
    assert "error: rank 1: out of memory" in msg and "[INFO]" not in msg and "step 1" not in msg
    unknown = explain_msrun_failure(tmp_path, pid=None, code=None, msrun_code=1)
    assert unknown.startswith("distributed run failed: msrun exit code 1") and "step 1" in unknown


def _launch(*args, env=None):
    import os

    return subprocess.run([sys.executable, "-m", "core.launch", RECIPE, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("args, env, message", [
    (["--nproc", "0"], None, "error: --nproc must be >= 1, got 0"),
    (["--nproc", "2", "--backend", "mindspore", "--set", "train.parallel=fsdp"], None,
     "error: train.parallel=fsdp is not supported by the mindspore backend (it runs: ddp)"),
    (["--set", "train.parallel=tp"], None, "error: recipe key 'train.parallel' must be one of ddp, fsdp; got 'tp'"),
    (["--nproc", "2"], {"RANK": "0", "WORLD_SIZE": "2"}, "error: rank 0: already running under torchrun"),
    (["--nproc", "2"], {"MINDBRIDGE_DIST_TIMEOUT": "soon"}, "error: environment variable MINDBRIDGE_DIST_TIMEOUT"),
])
def test_cli_errors_are_one_line(args, env, message):
    proc = _launch(*args, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and proc.stderr.startswith(message), proc.stderr


def test_print_recipe_does_not_launch():
    proc = _launch("--nproc", "2", "--print-recipe")
    assert proc.returncode == 0 and "parallel: ddp" in proc.stdout and "launching" not in proc.stdout


def test_msrun_failure_message_quotes_a_mindspore_kernel_error(tmp_path):
    (tmp_path / "worker_0.log").write_text(
        "mindbridge: msrun worker rank 0 of 2, pid 7\nTraceback (most recent call last):\n  File \"x.py\"\n"
        "RuntimeError: \n----------------------------------------------------\n- Kernel error:\n"
        "----------------------------------------------------\nLaunch kernel failed: Default/AllReduce-op12\n\n"
        "- C++ Call Stack: (For framework developers)\n")
    first = explain_msrun_failure(tmp_path, pid=7, code=1, msrun_code=1).splitlines()[0]
    assert first.startswith("distributed run failed: rank 0 (pid 7) exit code 1: RuntimeError: Kernel error: "
                            "Launch kernel failed: Default/AllReduce-op12; msrun stopped")
