"""`python -m codemods.convert --list-apis`: the tables' coverage by torch module, and the torch APIs a
tree uses, whatever the import alias, checked against what the converter itself reports.

    .venv/bin/pytest tests/codemods/test_coverage.py
"""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO
from codemods import convert_source
from codemods.coverage import TENSOR, Catalog, group_of, scan

SOURCE = '''\
import numpy as np
import torch as th
import torch.nn.functional as F
from torch import nn as N

class M(N.Module):
    def forward(self, x):
        y = F.silu(x).view(2, -1)
        z = th.not_a_torch_api_xyz(y)
        np.split(z, 2)
        return th.stft(z, 4) + N.Linear(2, 2)(y)
'''


def test_status_mirrors_the_tables_and_rules():
    cat = Catalog()
    assert cat.status("torch.nn.Linear").how == "table"
    assert cat.status("torch.nn.Module.__init__").translated  # under a mapped prefix
    assert cat.status("torch.no_grad").how == "rule"
    assert cat.status("torch.nn.functional").translated  # a module alias
    unsupported = [e for e in cat.t.calls.values() if e.unsupported]  # whichever the tables mark today
    assert unsupported
    from codemods.rules import CALL_RULES

    for e in unsupported:
        if e.torch in CALL_RULES:  # a rule converts some call forms and reports the rest (torch.LongTensor)
            assert cat.status(e.torch).how == "rule", e.torch
            continue
        st = cat.status(e.torch)
        assert not st.translated and st.how == "unsupported" and st.reason == e.unsupported, e.torch
    assert cat.status("torch.not_a_torch_api_xyz").how == "no mapping"
    assert cat.status(f"{TENSOR}.transpose").how == "methods.yaml"
    assert cat.status(f"{TENSOR}.view").how == "kept"
    assert cat.status(f"{TENSOR}.size").how == "rule"
    assert cat.status(f"{TENSOR}.not_a_method_xyz").how == "not listed"


def test_groups():
    assert group_of("torch.nn.functional.silu") == "torch.nn.functional"
    assert group_of("torch.nn.Linear") == "torch.nn"
    assert group_of("torch.nn") == "torch"
    assert group_of("torch.arange") == "torch"


def test_scan_resolves_aliases_and_skips_module_functions(tmp_path):
    (tmp_path / "m.py").write_text(SOURCE)
    (tmp_path / "plain.py").write_text("x = [1].index(1)\n")  # no torch: not scanned
    counts, n_files, bad = scan([tmp_path], {"view", "split", "index"})
    assert n_files == 1 and bad == []
    assert counts["torch.nn.functional.silu"] == 1
    assert counts["torch.nn.Linear"] == 1 and counts["torch.nn.Module"] == 1
    assert counts["torch.stft"] == 1 and counts["torch.not_a_torch_api_xyz"] == 1
    assert counts[f"{TENSOR}.view"] == 1
    assert f"{TENSOR}.split" not in counts  # np.split is numpy's
    assert "torch.nn" not in counts and "torch" not in counts  # module names are not API uses


def test_untranslated_apis_agree_with_the_converter(tmp_path):
    """Every torch API the converter reports as left untranslated is listed as not translated."""
    (tmp_path / "m.py").write_text(SOURCE)
    reported = {d.api for d in convert_source(SOURCE, "m.py").diagnostics if d.code in ("MB002", "MB003")}
    assert "torch.not_a_torch_api_xyz" in reported
    cat = Catalog()
    counts, _, _ = scan([tmp_path], {"view"})
    for api in reported:
        assert not cat.status(api).translated, api
    for api in counts:
        if not cat.status(api).translated and not api.startswith(TENSOR):
            assert api in reported, api


def test_cli_lists_tables_and_usage(tmp_path):
    (tmp_path / "m.py").write_text(SOURCE)
    out = subprocess.run([sys.executable, "-m", "codemods.convert", "--list-apis", str(tmp_path)], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "| torch.nn.functional |" in text and "| Tensor |" in text
    some = next(e for e in Catalog().t.calls.values() if e.unsupported)
    assert f"- `{some.torch}`: {some.unsupported}" in text  # an unsupported entry with its reason
    assert "| `torch.not_a_torch_api_xyz` | 1 | no mapping |" in text
    tables_only = subprocess.run([sys.executable, "-m", "codemods.convert", "--list-apis"], cwd=REPO,
                                 capture_output=True, text=True, timeout=120)
    assert tables_only.returncode == 0 and "torch APIs used" not in tables_only.stdout
