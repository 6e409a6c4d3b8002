"""The README's two set-up commands stay true: CI runs exactly the README's test command."""

import re

from conftest import REPO


def _bash_blocks(text):
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_readme_opens_with_run_and_test_commands_and_ci_runs_the_test_one():
    blocks = _bash_blocks((REPO / "README.md").read_text())
    run_cmd, test_cmd = blocks[0].strip(), blocks[1].strip()
    assert run_cmd.endswith("python -m core.launch examples/llama/tiny.yaml")
    assert test_cmd.endswith("&& pytest")
    ci = (REPO / ".ci/run").read_text()
    assert test_cmd in ci.splitlines()
