"""MindSpeed's multi-node variables under msrun (`--backend mindspore`): two simulated nodes on this
machine, NNODES=2 NODE_RANK=0|1 MASTER_ADDR=127.0.0.1 NPUS_PER_NODE=1, each `core.launch` starting msrun
with one local worker (graph mode, mccl over loopback), train together exactly like one MindSpore
process with grad_accum=2 (per-step loss within rel 1e-5, fp32, as tests/distributed/test_mindspore_dp.py).

msrun starts a scheduler on every node whose --master_addr is its own address, so node 1 here starts a
second one; it steps aside (core.distributed.spare_scheduler) instead of failing node 1's msrun on a
taken port, and each node writes its msrun logs to <out_dir>/msrun_logs/node_N.
"""

import os
import subprocess

from conftest import needs
from core.distributed import LaunchSpec, free_port, msrun_env, spare_scheduler
from core.distributed.launcher import msrun_log_dir
from core.distributed.worker import NODE_RANK_ENV
from core.launch import train
from dist_helpers import REPO, TINY, launch_cmd, max_rel, metrics, overrides

REL = 1e-5  # the msrun DP=2 test's tolerance (measured there: 4.6e-8)


def test_each_node_has_its_log_folder_and_only_node_0_a_scheduler():
    one, node1 = LaunchSpec(nproc=2), LaunchSpec(nproc=1, nnodes=2, node_rank=1, master_port=6000)
    assert msrun_log_dir("/runs/x", one).as_posix() == "/runs/x/msrun_logs"
    assert msrun_log_dir("/runs/x", node1).as_posix() == "/runs/x/msrun_logs/node_1"
    assert msrun_env(environ={"PATH": "/usr/bin"}, node_rank=1)[NODE_RANK_ENV] == "1"
    assert spare_scheduler({"MS_ROLE": "MS_SCHED", NODE_RANK_ENV: "1"})
    assert not spare_scheduler({"MS_ROLE": "MS_SCHED", NODE_RANK_ENV: "0"})
    assert not spare_scheduler({"MS_ROLE": "MS_SCHED"})  # msrun run by hand: its scheduler is the one
    assert not spare_scheduler({"MS_ROLE": "MS_WORKER", NODE_RANK_ENV: "1"})


def test_two_simulated_msrun_nodes_over_loopback_train_like_one_process(tmp_path):
    """NNODES=2 on one machine: node 0 and node 1 each start msrun with one worker (mccl over 127.0.0.1)."""
    needs("mindspore")
    port = free_port()
    out = tmp_path / "two_nodes"
    nodes = []
    try:
        for rank in (1, 0):
            env = {**os.environ, "NNODES": "2", "NODE_RANK": str(rank), "MASTER_ADDR": "127.0.0.1",
                   "MASTER_PORT": str(port), "NPUS_PER_NODE": "1"}
            cmd = launch_cmd("--backend", "mindspore", ov=overrides(train__out_dir=str(out)))
            nodes.append(subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
        results = [p.communicate(timeout=240) for p in nodes]
    finally:
        for p in nodes:  # msrun dies with its launcher, the workers and scheduler with msrun
            if p.poll() is None:
                p.kill()
                p.wait()
    for rank, p, (stdout, stderr) in zip((1, 0), nodes, results):
        assert p.returncode == 0, f"node {rank}:\n{stdout[-3000:]}\n{stderr[-3000:]}"
    (node1_out, _), (node0_out, _) = results
    for rank, text in ((0, node0_out), (1, node1_out)):
        assert (f"from the environment: NNODES=2, NODE_RANK={rank}, MASTER_ADDR=127.0.0.1, MASTER_PORT={port}, "
                "NPUS_PER_NODE=1") in text
        assert (f"msrun --worker_num=2 --local_worker_num=1 --master_addr=127.0.0.1 --master_port={port} "
                f"--log_dir={out / f'msrun_logs/node_{rank}'} ") in text
        assert f" --node_rank={rank} python -m core.launch " in text
    logs = out / "msrun_logs"
    assert "rank 0/2 (msrun)" in (logs / "node_0/worker_0.log").read_text()
    assert "mindbridge: msrun worker rank 1 of 2" in (logs / "node_1/worker_1.log").read_text()
    assert "Failed" not in (logs / "node_1/scheduler.log").read_text()  # node 1's spare scheduler stepped aside

    losses, eval_loss = metrics(out)
    # PyNative, as test_mindspore_dp.py's reference: the same numbers as graph mode, without its compile time
    ref = train(str(TINY), backend="mindspore", device="cpu", log=lambda *a: None,
                overrides=overrides(train__grad_accum=2, train__out_dir=str(tmp_path / "single"),
                                    train__mode="pynative"))
    assert len(losses) == 6
    print(f"max rel loss diff, 2 msrun nodes vs 1 process x grad_accum=2: {max_rel(losses, ref['losses']):.2e}")
    assert max_rel(losses, ref["losses"]) < REL
    assert abs(eval_loss - ref["eval_loss"]) / ref["eval_loss"] < REL
