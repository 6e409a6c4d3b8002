"""`python -m core.data prepare` for SFT data: --workers N gives the same files as 1, the cache, atomic outputs
that leave the inputs alone, one-line errors, the tokenizer-mismatch refusal, and the recipe path
(data.sft prepares on first use) training the shipped example."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
from sft_common import TINY_MODEL, family_tokenizer

from conftest import REPO, needs
from core.data import check_data_tokenizer, load_data
from core.data.cli import main as data_main
from core.data.sft import Settings, prepare_sft
from core.data.sft.dataset import SFTData
from core.errors import DataError

EXAMPLE = REPO / "examples" / "sft"


def files(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_workers_2_writes_the_same_files_as_workers_1(tmp_path, capsys):
    pytest.importorskip("transformers")
    src = tmp_path / "big.jsonl"  # several chunks of CHUNK_ROWS rows, two formats in one file
    lines = (EXAMPLE / "tiny_sft.jsonl").read_text().splitlines()
    alpaca = json.loads((EXAMPLE / "tiny_alpaca.json").read_text())
    src.write_text("\n".join(lines * 2 + [json.dumps(r) for r in alpaca]) + "\n")
    args = [str(src), "--tokenizer", str(TINY_MODEL), "--template", "qwen", "--neat-pack", "--cutoff-len", "128"]
    assert data_main(["prepare", args[0], str(tmp_path / "w1"), *args[1:], "--workers", "1"]) == 0
    assert data_main(["prepare", args[0], str(tmp_path / "w2"), *args[1:], "--workers", "2"]) == 0
    assert files(tmp_path / "w1") == files(tmp_path / "w2")
    mindspeed = [args[0], "--tokenizer-name-or-path", str(TINY_MODEL), "--prompt-type", "qwen", "--neat-pack",
                 "--cutoff-len", "128", "--seq-length", "128"]  # MindSpeed-LLM's flag names, same files
    assert data_main(["prepare", mindspeed[0], str(tmp_path / "ms"), *mindspeed[1:], "--workers", "2"]) == 0
    same = (lambda d: sorted(v for k, v in files(d).items() if k != "sft.json"))  # the key differs: seq_len is set
    assert same(tmp_path / "ms") == same(tmp_path / "w1")
    meta = json.loads((tmp_path / "w1" / "sft.json").read_text())
    assert meta["num_samples"] == 2 * len(lines) + len(alpaca) and meta["pack"]["neat"]
    assert "wrote" in capsys.readouterr().out


def test_a_bad_row_in_a_worker_leaves_no_shard_files(tmp_path, capsys):
    """The error of a row encoded in a worker process is the same one line; the shards are removed."""
    pytest.importorskip("transformers")
    src = tmp_path / "d.jsonl"
    good = (EXAMPLE / "tiny_sft.jsonl").read_text().splitlines()
    src.write_text("\n".join(good * 30 + ['{"question": "q"}'] + good) + "\n")
    bad_line = len(good) * 30 + 1
    out = tmp_path / "out"
    argv = ["prepare", str(src), str(out), "--tokenizer", str(TINY_MODEL), "--template", "qwen", "--workers", "2"]
    assert data_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {src}:{bad_line}: row has none of") and err.count("\n") == 1, err
    assert [p.name for p in out.iterdir()] == []


def test_a_left_over_shard_of_a_killed_run_is_written_over(tmp_path):
    from core.data.sft.shards import Shard, join_pieces

    prefix = tmp_path / ".k.shard-1-main"
    (tmp_path / ".k.shard-1-main.ids").write_bytes(b"\xff" * 64)  # what a killed run left behind
    shard = Shard(prefix)
    pieces = [shard.append(np.array([5, 7, 300]), np.array([0, 1, 1])), shard.append(np.array([2]), np.array([1]))]
    assert [(p.start, p.count, p.max_id, p.label_tokens) for p in pieces] == [(0, 3, 300, 2), (3, 1, 2, 1)]
    with open(tmp_path / "t", "wb") as ft, open(tmp_path / "m", "wb") as fm:
        join_pieces(pieces[::-1], ft, fm, np.uint16)
    assert np.fromfile(tmp_path / "t", "<u2").tolist() == [2, 5, 7, 300]
    assert np.fromfile(tmp_path / "m", np.uint8).tolist() == [1, 0, 1, 1]


def test_cache_hit_miss_and_atomic_generations(tmp_path, capsys):
    pytest.importorskip("transformers")
    src = tmp_path / "d.jsonl"
    shutil.copy(EXAMPLE / "tiny_sft.jsonl", src)
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    s = Settings(tokenizer=str(TINY_MODEL), template="qwen", cutoff_len=200)
    out = tmp_path / "out"
    out.mkdir()
    (out / "tokens.bin").write_bytes(b"not ours")  # a file prepare did not write is never removed
    meta1, hit = prepare_sft(str(src), out, s, progress=False)
    assert not hit
    first = files(out)
    meta2, hit = prepare_sft(str(src), out, s, progress=False)
    assert hit and files(out) == first and "cache hit" in capsys.readouterr().out
    old = SFTData(out, 128, 2, 0.1, 0)  # a "running job" has the first generation memory-mapped
    batch = old.train_batch(0, 0)
    meta3, hit = prepare_sft(str(src), out, Settings(tokenizer=str(TINY_MODEL), template="qwen", cutoff_len=100),
                             progress=False)
    assert not hit and files(out) != first
    assert (out / "tokens.bin").read_bytes() == b"not ours"
    assert len({p.name.split(".")[0] for p in out.glob("*.*.bin")}) == 1  # the older generation is gone
    for k, v in old.train_batch(0, 0).items():  # its mapped files still read the same
        np.testing.assert_array_equal(v, batch[k])
    with open(src, "a") as fh:  # new contents: a miss
        fh.write(json.dumps({"prompt": "new", "response": "row"}) + "\n")
    _, hit = prepare_sft(str(src), out, Settings(tokenizer=str(TINY_MODEL), template="qwen", cutoff_len=100),
                         progress=False)
    assert not hit
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")]  # no temporaries left
    assert hashlib.sha256(src.read_bytes()).hexdigest() != before  # (we changed it, prepare did not)
    assert json.loads(src.read_text().splitlines()[-1]) == {"prompt": "new", "response": "row"}


def test_cli_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "p", "response": "r"}\n{"question": "q"}\n')
    cases = [
        ([str(bad), str(tmp_path / "o"), "--sft"], f"error: {bad}:2: row has none of"),
        ([str(bad), str(tmp_path / "o"), "--template", "nope"], "error: unknown template 'nope' (known: auto, empty"),
        ([str(bad), str(tmp_path / "o"), "--map-keys", '{"prompt": "question", "response": "r"}'],
         f"error: {bad}:1: row has no 'question' key (mapped from 'prompt' by --map-keys)"),
        ([str(bad), str(tmp_path / "o"), "--tokenizer", str(tmp_path)], "error: --tokenizer"),
        ([str(tmp_path / "none.jsonl"), str(tmp_path / "o"), "--sft"], "error: data file not found"),
    ]
    for argv, want in cases:
        assert data_main(["prepare", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith(want) and err.count("\n") == 1, err


def test_data_tokenised_with_another_vocabulary_is_refused(tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    monkeypatch.setenv("MINDBRIDGE_CACHE", str(tmp_path / "cache"))
    src = str(EXAMPLE / "tiny_sft.jsonl")
    ours = load_data(src, 64, 2, 0.1, 0, sft={"template": "qwen", "max_samples": 40}, model_tokenizer=TINY_MODEL)
    assert check_data_tokenizer(ours, TINY_MODEL) is None
    assert check_data_tokenizer(ours, REPO / "examples" / "hf" / "tiny-qwen3") is None  # folder without tokenizer
    other = family_tokenizer("llama3", tmp_path / "llama3")  # 4 more special tokens: another vocabulary
    with pytest.raises(DataError, match="a different vocabulary than the model folder") as e:
        check_data_tokenizer(ours, other)
    assert "\n" not in str(e.value)
    bytes_sft = load_data(src, 64, 2, 0.1, 0, sft={"template": "qwen", "max_samples": 40})
    with pytest.raises(DataError, match="is byte-level .vocab 256., but the model folder"):
        check_data_tokenizer(bytes_sft, TINY_MODEL)
    with pytest.raises(DataError, match="is byte-level"):
        check_data_tokenizer(load_data("embedded", 64, 2, 0.1, 0), TINY_MODEL)
    assert check_data_tokenizer(load_data("embedded", 64, 2, 0.1, 0), REPO / "examples" / "hf" / "tiny-qwen3") is None
    assert check_data_tokenizer(load_data("shapes", 64, 2, 0.1, 0), TINY_MODEL) is None


def test_recipe_data_sft_block_prepares_into_the_cache_once(tmp_path, monkeypatch, capsys):
    pytest.importorskip("transformers")
    monkeypatch.setenv("MINDBRIDGE_CACHE", str(tmp_path / "cache"))
    kw = dict(sft={"template": "qwen", "neat_pack": True}, base_dir=EXAMPLE, model_tokenizer=TINY_MODEL)
    a = load_data("tiny_sft.jsonl,tiny_alpaca.json", 128, 2, 0.1, 0, **kw)
    assert "wrote" in capsys.readouterr().out
    b = load_data("tiny_sft.jsonl,tiny_alpaca.json", 128, 2, 0.1, 0, **kw)
    assert "cache hit" in capsys.readouterr().out and a.folder == b.folder
    assert a.meta["num_samples"] == 320 + 64 and a.pack["row_len"] == 128 and a.vocab_size == 512
    assert load_data(str(a.folder), 128, 2, 0.1, 0).meta == a.meta  # a prepared folder as data.source
    with pytest.raises(DataError, match="unknown recipe key 'data.sft.packing'"):
        load_data("tiny_sft.jsonl", 128, 2, 0.1, 0, sft={"packing": True}, base_dir=EXAMPLE)
    with pytest.raises(DataError, match="applies to .jsonl/.json sources"):
        load_data(str(a.folder), 128, 2, 0.1, 0, sft={"pack": True})


def _train(backend, tmp_path, steps):
    from core.launch import train

    return train(str(EXAMPLE / "tiny_sft.yaml"), backend=backend, device="cpu", log=lambda *a: None,
                 overrides={"train.steps": steps, "train.out_dir": str(tmp_path / backend)})["losses"]


def test_shipped_tiny_sft_recipe_trains_on_torch(tmp_path, monkeypatch):
    needs("torch")
    monkeypatch.setenv("MINDBRIDGE_CACHE", str(tmp_path / "cache"))
    losses = _train("torch", tmp_path, 4)
    assert len(losses) == 4 and all(np.isfinite(losses)) and 4.0 < losses[0] < 7.0  # ln 512 = 6.24


def test_shipped_tiny_sft_recipe_gives_the_same_losses_on_mindspore(tmp_path, monkeypatch):
    """4 steps per backend, fp32; the SFT batches carry attention_mask with right padding."""
    needs("torch")
    needs("mindspore")
    monkeypatch.setenv("MINDBRIDGE_CACHE", str(tmp_path / "cache"))
    t, m = _train("torch", tmp_path, 4), _train("mindspore", tmp_path, 4)
    diff = max(abs(a - b) for a, b in zip(t, m))
    print(f"tiny_sft torch vs MindSpore, 4 steps: max |loss difference| {diff:.1e}")
    assert diff <= 1e-4, (t, m)
