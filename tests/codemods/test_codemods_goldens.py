"""Golden fixtures, found automatically: fixtures/<family>/<case>.in.py must convert to
<case>.out.py (and report <case>.diag), the output must compile, and converting it again must
change nothing. Regenerate with `.venv/bin/python -m tests.codemods.goldens`, then review the diff.
"""

import pytest

from tests.codemods.goldens import cases, display_name, expected_paths, render
from codemods import convert_source

CASES = cases()


def test_enough_cases_in_every_family():
    families = {c.parent.name for c in CASES}
    assert len(CASES) >= 60
    assert {"aliases", "modules", "tensors", "devices", "training", "tables", "safety"} <= families


@pytest.mark.parametrize("case", CASES, ids=[display_name(c) for c in CASES])
def test_golden(case):
    result, diag = render(case)
    out, diag_path = expected_paths(case)
    assert result.code == out.read_text(encoding="utf-8")
    assert diag == (diag_path.read_text(encoding="utf-8") if diag_path.exists() else "")
    compile(result.code, str(out), "exec")
    again = convert_source(result.code, display_name(case))
    assert again.code == result.code, "converting converted output must be a no-op"
