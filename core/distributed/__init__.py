"""Multi-process data parallel on the engines users already run: torchrun (torch) and msrun (MindSpore).

  launcher.py  `core.launch --nproc N`: build and run the torchrun/msrun command for the backend
  watch.py     follow the launcher's output; a dead rank becomes one clear message
  worker.py    inside a worker: where this process sits (`detect_env`) and joining the group (`worker`)

No framework is imported here: the backend's distributed hooks (backends/base.py) join the group.
Timeouts (docs/distributed.md): a rank that dies is noticed by torchrun at once and by msrun within
about a second, and the run stops within a few seconds; a rank that hangs is bounded by
MINDBRIDGE_DIST_TIMEOUT seconds (default 300): torch's process-group timeout, msrun's cluster timeout.

    python -m core.launch examples/llama/tiny.yaml --nproc 2                      # torchrun
    python -m core.launch examples/llama/tiny.yaml --backend mindspore --nproc 2  # msrun
    torchrun --nproc_per_node 2 -m core.launch examples/llama/tiny.yaml           # torchrun directly
"""

from core.distributed.launcher import (LAUNCH_FLAGS, LaunchSpec, free_port, msrun_command, msrun_env, spawn,
                                       strip_launch_flags, torchrun_command)
from core.distributed.worker import (DEFAULT_TIMEOUT_S, TIMEOUT_ENV, DistEnv, detect_env, spare_scheduler, timeout_s,
                                     worker)
from core.errors import DistributedError

__all__ = ["DEFAULT_TIMEOUT_S", "DistEnv", "DistributedError", "LAUNCH_FLAGS", "LaunchSpec", "TIMEOUT_ENV",
           "detect_env", "free_port", "msrun_command", "msrun_env", "spare_scheduler", "spawn", "strip_launch_flags",
           "timeout_s", "torchrun_command", "worker"]
