"""The converted-source cache (backends/mindspore/importer.py) never serves stale or damaged code: it
is keyed on the converter's own content, so editing a mapping table converts again even when nobody
bumps a version, and each entry is verified against its recorded SHA-256, so a truncated `.py` or
a corrupt `.json` is a miss (converted again), never an import error or old code."""

import json
import os
import shutil
import subprocess
import sys

from conftest import REPO, needs

PROBE = """
import json, sys
from backends.mindspore import importer
from core.modelsource import resolve_model_source
cls = importer.load_converted_class(resolve_model_source(sys.argv[1], sys.argv[2]))
import codemods
print(json.dumps({"converted": importer.STATS.converted, "cached": importer.STATS.cached, "cls": cls.__name__,
                  "codemods": codemods.__file__}))
"""


def _launch(src, cache, converter_root=None):
    env = dict(os.environ, MINDBRIDGE_CACHE=str(cache))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(converter_root or ""), str(REPO)) if p)
    proc = subprocess.run([sys.executable, "-c", PROBE, "model.py:Llama", str(src)], cwd=src, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _model(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(REPO / "examples/llama/model.py", src / "model.py")
    return src


def _entry(cache):
    (code,) = list(cache.glob("model-*.py"))
    return code, code.with_suffix(".json")


def test_an_edited_mapping_table_converts_again(tmp_path):
    needs("mindspore")
    src, cache = _model(tmp_path), tmp_path / "cache"
    assert _launch(src, cache)["converted"] == [str(src / "model.py")]
    assert _launch(src, cache)["cached"] == [str(src / "model.py")]
    edited = tmp_path / "edited"
    shutil.copytree(REPO / "codemods", edited / "codemods", ignore=shutil.ignore_patterns("__pycache__"))
    table = edited / "codemods/mappings/math.yaml"
    table.write_text(table.read_text().replace("torch.rsqrt: mindspore.mint.rsqrt", "torch.rsqrt: mindspore.ops.rsqrt"))
    got = _launch(src, cache, converter_root=edited)
    assert got["codemods"].startswith(str(edited)) and got["converted"] == [str(src / "model.py")]
    new = [p for p in cache.glob("model-*.py") if "ops.rsqrt" in p.read_text()]
    assert len(new) == 1  # the edited table's output, next to the first converter's entry


def test_a_truncated_or_corrupt_entry_is_a_miss(tmp_path):
    needs("mindspore")
    src, cache = _model(tmp_path), tmp_path / "cache"
    _launch(src, cache)
    code, meta = _entry(cache)
    good = code.read_text()
    code.write_text(good[: len(good) // 2])  # truncated
    assert _launch(src, cache)["converted"] == [str(src / "model.py")]
    assert code.read_text() == good
    meta.write_text("{not json")  # corrupt record
    assert _launch(src, cache)["converted"] == [str(src / "model.py")]
    assert json.loads(meta.read_text())["code_sha256"]
    assert _launch(src, cache)["cached"] == [str(src / "model.py")]
