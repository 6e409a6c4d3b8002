"""The command line on real file trees: outputs, safety (inputs untouched, byte-for-byte copies,
unparsable files), --diff/--check/--in-place/--strict/--report/--select/-j, and bad arguments."""

import json

import pytest

from codemods.convert import main

TORCH = "import torch\n\nx = torch.zeros(2, 3)\n"
PLAIN = "import numpy as np\n\ny = np.zeros(3)  # torch-free\n"


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "model.py").write_text(TORCH)
    (src / "plain.py").write_text(PLAIN)
    (src / "broken.py").write_text("import torch\ndef f(:\n")
    (src / "unsupported.py").write_text("import torch\ns = torch.stft(x, 4)\n")
    (src / "data.bin").write_bytes(b"\x00\x01torch\xff")
    return src


def snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_tree_to_output(tree, tmp_path, capsys):
    before = snapshot(tree)
    out = tmp_path / "out"
    assert main([str(tree), "-o", str(out), "-q"]) == 0
    assert snapshot(tree) == before  # input untouched
    assert (out / "pkg/model.py").read_text() == "from mindspore import mint\n\nx = mint.zeros((2, 3))\n"
    assert (out / "plain.py").read_bytes() == before[tree.relative_to(tree) / "plain.py"]
    assert (out / "data.bin").read_bytes() == b"\x00\x01torch\xff"
    assert (out / "broken.py").read_text() == "import torch\ndef f(:\n"
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary == "5 files: 1 converted, 3 unchanged, 2 with issues (2 diagnostics)"
    assert not list(out.rglob("*.tmp"))
    assert main([str(out), "--check", "-q"]) == 0  # converting converted output changes nothing


def test_diagnostics_strict_and_report(tree, tmp_path, capsys):
    report = tmp_path / "report.md"
    assert main([str(tree), "-o", str(tmp_path / "o"), "--report", str(report)]) == 0
    text = capsys.readouterr().out
    assert "unsupported.py:2:5 MB003 torch.stft:" in text and "broken.py:2:1 MB001 syntax: cannot parse" in text
    data = json.loads(report.with_suffix(".json").read_text())
    assert data["summary"]["diagnostics"] == 2 and {d["code"] for d in data["diagnostics"]} == {"MB001", "MB003"}
    assert "| location | code |" in report.read_text()
    assert main([str(tree), "-o", str(tmp_path / "o2"), "--strict", "-q"]) == 1


def test_check_diff_in_place(tree, capsys):
    model = tree / "pkg" / "model.py"
    assert main([str(model), "--check", "-q"]) == 1
    assert main([str(model), "--diff", "-q"]) == 0
    assert "+x = mint.zeros((2, 3))" in capsys.readouterr().out
    assert model.read_text() == TORCH
    assert main([str(model), "--in-place", "-q"]) == 0
    assert "mint.zeros((2, 3))" in model.read_text()
    assert main([str(model), "--check", "-q"]) == 0


def test_parallel_equals_serial(tree, tmp_path):
    assert main([str(tree), "-o", str(tmp_path / "a"), "-q"]) == 0
    assert main([str(tree), "-o", str(tmp_path / "b"), "-j", "2", "-q"]) == 0
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")


def test_select(tree, tmp_path):
    assert main([str(tree / "pkg" / "model.py"), "-o", str(tmp_path / "m.py"), "--select", "MB1", "-q"]) == 0
    assert "torch.zeros(2, 3)" in (tmp_path / "m.py").read_text()


@pytest.mark.parametrize("argv, message", [
    (["{tree}"], "needs -o OUTPUT"),
    (["{tree}", "-o", "{tree}"], "is the input itself"),
    (["{tree}", "-o", "x", "--in-place"], "either -o OUTPUT or --in-place"),
    (["{tree}", "--diff", "--check"], "do not combine"),
    (["{tree}", "--check", "--select", "XX9"], "matches no rule code"),
    (["{tree}/missing"], "no such file"),
])
def test_bad_arguments(tree, argv, message, capsys):
    assert main([a.format(tree=tree) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
