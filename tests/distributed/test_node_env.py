"""MindSpeed's multi-node variables (NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT, NPUS_PER_NODE,
ASCEND_RT_VISIBLE_DEVICES) in `core.launch`: the defaults of the launcher flags, a flag that disagrees
is one line, and two simulated nodes on this machine (loopback, one torch process each) train together
exactly like one process with grad_accum=2 (per-step loss within rel 1e-5, fp32).
"""

import os
import subprocess
import sys

import pytest

from conftest import needs
from core.distributed import DistributedError, LaunchSpec, free_port, msrun_command, torchrun_command
from core.distributed.node_env import launch_values
from core.launch import train
from dist_helpers import REPO, TINY, launch_cmd, max_rel, metrics, overrides

NONE = {"nproc": None, "nnodes": None, "node_rank": None, "master_addr": None, "master_port": None}
NODE0 = {"NNODES": "2", "NODE_RANK": "0", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "6000", "NPUS_PER_NODE": "8"}


def test_variables_are_the_flags_defaults():
    values, used = launch_values(NONE, NODE0)
    assert values == {"nproc": 8, "nnodes": 2, "node_rank": 0, "master_addr": "10.0.0.1", "master_port": 6000}
    assert used == ["NNODES", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT", "NPUS_PER_NODE"]
    spec = LaunchSpec(**values)
    spec.check()
    assert torchrun_command(spec, ["r.yaml"], python="py")[3:8] == [
        "--nproc-per-node=8", "--nnodes=2", "--node-rank=0", "--master-addr=10.0.0.1", "--master-port=6000"]
    assert "--worker_num=16" in msrun_command(spec, ["r.yaml"], "logs", 60)
    assert launch_values(NONE, {}) == ({"nproc": 1, "nnodes": 1, "node_rank": 0, "master_addr": "127.0.0.1",
                                        "master_port": None}, [])
    agree = dict(NONE, nnodes=2, nproc=8)  # a flag that says the same is fine
    assert launch_values(agree, NODE0)[0]["nnodes"] == 2


@pytest.mark.parametrize("flags, env, message", [
    (dict(NONE, nnodes=3), NODE0, r"^--nnodes 3 conflicts with \$NNODES=2; drop the flag or unset NNODES$"),
    (dict(NONE, master_addr="10.0.0.9"), NODE0, r"^--master-addr 10.0.0.9 conflicts with \$MASTER_ADDR=10.0.0.1"),
    (NONE, {"NODE_RANK": "one"}, r"^\$NODE_RANK='one' is not an integer$"),
    (NONE, {**NODE0, "ASCEND_RT_VISIBLE_DEVICES": "0,1,2,3"},
     r"^\$NPUS_PER_NODE asks for 8 processes on this node, but \$ASCEND_RT_VISIBLE_DEVICES=0,1,2,3 lists 4 device"),
    (dict(NONE, nproc=2), {"ASCEND_RT_VISIBLE_DEVICES": "0"}, r"^--nproc asks for 2 processes"),
    (NONE, {"ASCEND_RT_VISIBLE_DEVICES": "0,x"}, r"^\$ASCEND_RT_VISIBLE_DEVICES='x' is not an integer$"),
])
def test_conflicts_are_one_line_errors(flags, env, message):
    with pytest.raises(DistributedError, match=message):
        launch_values(flags, env)


def test_launch_refuses_a_flag_that_fights_a_variable():
    proc = subprocess.run(launch_cmd("--nnodes", "3"), cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **NODE0})
    assert proc.returncode == 2
    assert proc.stderr == "error: --nnodes 3 conflicts with $NNODES=2; drop the flag or unset NNODES\n"


def test_two_simulated_nodes_over_loopback_train_like_one_process(tmp_path):
    """NNODES=2 on one machine: node 0 and node 1 each start torchrun with one worker (gloo over 127.0.0.1)."""
    needs("torch")
    port = free_port()
    out = tmp_path / "two_nodes"
    nodes = []
    for rank in (1, 0):
        env = {**os.environ, "NNODES": "2", "NODE_RANK": str(rank), "MASTER_ADDR": "127.0.0.1",
               "MASTER_PORT": str(port), "NPUS_PER_NODE": "1"}
        cmd = launch_cmd(ov=overrides(train__out_dir=str(out)))
        nodes.append(subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    results = [p.communicate(timeout=240) for p in nodes]
    for p, (stdout, stderr) in zip(nodes, results):
        assert p.returncode == 0, stderr[-3000:]
    node0_out = results[1][0]
    assert "from the environment: NNODES=2, NODE_RANK=0, MASTER_ADDR=127.0.0.1" in node0_out
    assert f"--nnodes=2 --node-rank=0 --master-addr=127.0.0.1 --master-port={port}" in node0_out
    losses, _ = metrics(out)
    ref = train(str(TINY), backend="torch", device="cpu", log=lambda *a: None,
                overrides=overrides(train__grad_accum=2, train__out_dir=str(tmp_path / "single")))
    assert max_rel(losses, ref["losses"]) < 1e-5
