"""The README stays true: it opens with the set-up + run and set-up + test commands, CI runs exactly
the test one, and every other command it shows runs as written, in a short form (training runs cut
to 2 steps, parity to 2 steps), in order, in a scratch folder where `examples/` is the repo's."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, needs

RUN_FLAGS = ["--set", "train.steps=2", "--set", "train.eval_batches=1", "--set", "train.log_every=1",
             "--no-progress"]
EXIT_CODES = {"--check": 1}  # a command holding this flag is expected to exit with this status


def _bash_blocks(text):
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_readme_opens_with_run_and_test_commands_and_ci_runs_the_test_one():
    blocks = _bash_blocks((REPO / "README.md").read_text())
    run_cmd, test_cmd = blocks[0].strip(), blocks[1].strip()
    assert run_cmd.endswith("python -m core.launch examples/llama/tiny.yaml")
    assert test_cmd.endswith("&& pytest")
    ci = (REPO / ".ci/run").read_text()
    assert test_cmd in ci.splitlines()


def readme_commands() -> list[str]:
    """Every command of the README's bash blocks after the two set-up ones, comments stripped."""
    out = []
    for block in _bash_blocks((REPO / "README.md").read_text())[2:]:
        for line in block.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line:
                out.append(line)
    return out


def short_form(command: str) -> list[str]:
    """argv of `command` cut short: 2 training steps, 2 parity steps; `python`/`mindbridge` from this venv."""
    argv = shlex.split(command)
    if argv[0] == "python":
        argv[0] = sys.executable
    elif argv[0] == "mindbridge":
        argv[0] = str(Path(sys.executable).with_name("mindbridge"))
    trains = argv[1:3] == ["-m", "core.launch"] or argv[1] == "train"
    if trains and "--print-recipe" not in argv:
        argv += RUN_FLAGS
    if argv[1:3] == ["-m", "core.parity"]:
        argv[argv.index("--steps") + 1] = "2"
    return argv


def test_the_readme_commands_are_the_ones_this_test_runs():
    commands = readme_commands()
    assert len(commands) >= 15
    assert all(c.startswith(("python -m ", "mindbridge ")) for c in commands), commands


@pytest.mark.slow
def test_every_readme_command_runs_as_written(tmp_path):
    needs("torch")
    needs("mindspore")
    (tmp_path / "examples").symlink_to(REPO / "examples")
    env = dict(os.environ, MINDBRIDGE_CACHE=str(tmp_path / "cache"), PYTHONPATH=str(REPO))
    for command in readme_commands():
        argv = short_form(command)
        proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        expected = next((code for flag, code in EXIT_CODES.items() if flag in argv), 0)
        assert proc.returncode == expected, f"{command}\n{proc.stdout[-1500:]}\n{proc.stderr[-2500:]}"
    assert (tmp_path / "tiny-hf/config.json").is_file() and (tmp_path / "parity/report.md").is_file()
