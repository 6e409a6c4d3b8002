"""core.data on real files: deterministic batches, shard equivalence, a disjoint val split, the prepare
tool on .txt and .jsonl input, memory-mapped loading, and one-line errors."""

import gzip
import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO
from core import data as D
from core.data import DataError, load_data


def _same(a, b):
    return np.array_equal(a["input_ids"], b["input_ids"]) and np.array_equal(a["labels"], b["labels"])


def test_embedded_corpus_is_english_bytes():
    tokens = D.embedded_tokens()
    assert 300_000 < len(tokens) < 1_000_000
    assert tokens.max() < 128
    assert gzip.decompress(D.CORPUS.read_bytes()).startswith(b"PRIDE AND PREJUDICE")


def test_batches_are_a_pure_function_of_seed_step_micro():
    d = load_data("embedded", seq_len=32, batch_size=4, val_fraction=0.05, seed=7)
    b = d.train_batch(3, 1)
    assert b["input_ids"].shape == b["labels"].shape == (4, 32)
    assert b["input_ids"].dtype == b["labels"].dtype == np.int64
    assert np.array_equal(b["input_ids"][:, 1:], b["labels"][:, :-1])  # labels are the next tokens
    again = load_data("embedded", seq_len=32, batch_size=4, val_fraction=0.05, seed=7)
    assert _same(again.train_batch(3, 1), b)
    assert _same(d.train_batch(3, 1), b)  # no hidden iterator state
    assert not _same(d.train_batch(4, 1), b)
    assert not _same(d.train_batch(3, 0), b)
    other_seed = load_data("embedded", seq_len=32, batch_size=4, val_fraction=0.05, seed=8)
    assert not _same(other_seed.train_batch(3, 1), b)


def test_batches_are_identical_in_another_process():
    code = ("import hashlib, sys; sys.path.insert(0, '.'); from core.data import load_data; "
            "d = load_data('embedded', 16, 3, 0.1, 5); b = d.train_batch(2, 3); v = d.val_batches(2)[1]; "
            "print(hashlib.sha256(b['input_ids'].tobytes() + b['labels'].tobytes() + v['labels'].tobytes()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    d = load_data("embedded", 16, 3, 0.1, 5)
    b, v = d.train_batch(2, 3), d.val_batches(2)[1]
    digest = hashlib.sha256(b["input_ids"].tobytes() + b["labels"].tobytes() + v["labels"].tobytes()).hexdigest()
    assert out.stdout.strip() == digest


def test_rank_shards_add_up_to_the_single_process_batch():
    d = load_data("embedded", seq_len=16, batch_size=2, val_fraction=0.05, seed=0)
    accum, world = 2, 3
    for step in (0, 5):
        single = [d.train_batch(step, m) for m in range(accum * world)]  # one process, grad_accum A*W
        sharded = [d.train_batch(step, m) for r in range(world) for m in range(r * accum, r * accum + accum)]
        assert all(_same(a, b) for a, b in zip(single, sharded, strict=True))
        ids = np.concatenate([b["input_ids"] for b in single])
        assert len({row.tobytes() for row in ids}) == len(ids)  # micro-batches are not copies of each other


def test_val_split_is_disjoint_from_train_windows():
    d = load_data("embedded", seq_len=64, batch_size=8, val_fraction=0.1, seed=3)
    n, T = d.num_tokens, d.seq_len
    assert d.split == n - round(n * 0.1)
    train_starts = np.concatenate([d.train_starts(s, m) for s in range(300) for m in range(4)])
    assert train_starts.min() >= 0 and train_starts.max() + T + 1 <= d.split  # whole window in train
    val_starts = d.val_starts(5)
    assert val_starts.min() >= d.split and val_starts.max() + T + 1 <= n
    vb = d.val_batches(5)
    assert len(vb) == 5 and vb[0]["input_ids"].shape == (8, 64)
    first = int(val_starts[0])
    assert np.array_equal(vb[0]["input_ids"][0], D.embedded_tokens()[first:first + T])
    reseeded = load_data("embedded", seq_len=64, batch_size=8, val_fraction=0.1, seed=99)
    assert all(_same(a, b) for a, b in zip(vb, reseeded.val_batches(5)))  # fixed held-out batches


def test_prepare_txt_writes_memory_mapped_tokens(tmp_path):
    text = "It is a truth universally acknowledged.\nCafé au lait.\n" * 40
    src = tmp_path / "notes.txt"
    src.write_text(text, encoding="utf-8")
    assert D.main(["prepare", str(src), str(tmp_path / "out" / "notes.v1")]) == 0
    meta = json.loads((tmp_path / "out/notes.v1.json").read_text())
    assert meta["format"] == D.FORMAT and meta["dtype"] == "uint16" and meta["vocab_size"] == 256
    raw = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    assert meta["num_tokens"] == len(raw)
    for name in ("out/notes.v1", "out/notes.v1.bin", "out/notes.v1.json", "out"):
        d = load_data(name, seq_len=8, batch_size=2, val_fraction=0.2, seed=0, base_dir=tmp_path)
        assert isinstance(d.tokens, np.memmap) and d.tokens.dtype == np.uint16
        assert np.array_equal(d.tokens, raw)
    assert not list((tmp_path / "out").glob(".*"))  # no temp files left behind
    direct = load_data(str(src), seq_len=8, batch_size=2, val_fraction=0.2, seed=0)  # .txt on the fly
    assert isinstance(direct.tokens, np.memmap) and np.array_equal(direct.tokens, raw)
    prepared = load_data(str(tmp_path / "out/notes.v1"), seq_len=8, batch_size=2, val_fraction=0.2, seed=0)
    assert _same(direct.train_batch(1, 0), prepared.train_batch(1, 0))


def test_prepare_jsonl_text_field_and_prompt_response(tmp_path, capsys):
    src = tmp_path / "rows.jsonl"
    rows = [{"text": "first doc"}, {"prompt": "Who?", "response": "Mr. Darcy."}, {"text": "third"}]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    meta_path = D.prepare(src, tmp_path / "rows", dtype="uint32")
    tokens, meta = D.open_token_file(meta_path)
    assert tokens.dtype == np.uint32
    assert bytes(tokens.astype(np.uint8)) == b"first doc\n\nWho?\nMr. Darcy.\n\nthird"
    custom = tmp_path / "custom.jsonl"
    custom.write_text('{"body": "a"}\n{"body": "b"}\n', encoding="utf-8")
    tokens, _ = D.open_token_file(D.prepare(custom, tmp_path / "custom", field="body"))
    assert bytes(tokens.astype(np.uint8)) == b"a\n\nb"
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"prompt": "Q", "response": "A"}\n', encoding="utf-8")
    tokens, _ = D.open_token_file(D.prepare(pairs, tmp_path / "pairs", separator=" => "))
    assert bytes(tokens.astype(np.uint8)) == b"Q => A"
    assert D.main(["info", str(tmp_path / "rows")]) == 0
    assert "num_tokens: 33" in capsys.readouterr().out


@pytest.mark.parametrize("content, expected", [
    ('{"text": "ok"}\n{"text": "x",}\n', "bad.jsonl:2: invalid JSON"),
    ('{"text": "ok"}\n\n{"txt": "x"}\n', "bad.jsonl:3: row has no 'text' field (keys: txt)"),
    ('{"prompt": "x"}\n', "bad.jsonl:1: row has no 'text' field"),
    ('{"text": 3}\n', "bad.jsonl:1: field 'text' must be a string"),
    ('[1, 2]\n', "bad.jsonl:1: expected a JSON object"),
    ('\n\n', "bad.jsonl: no text found"),
])
def test_bad_jsonl_gives_one_line_error_with_file_and_line(tmp_path, capsys, content, expected):
    src = tmp_path / "bad.jsonl"
    src.write_text(content, encoding="utf-8")
    assert D.main(["prepare", str(src), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and expected in err[-1]
    assert not list(tmp_path.glob("out*")) and not list(tmp_path.glob(".*"))  # nothing half-written


def test_load_errors_are_one_line(tmp_path):
    small = tmp_path / "small.txt"
    small.write_bytes(b"x" * 20)
    (tmp_path / "empty.txt").write_bytes(b"")
    cases = [
        ("missing.txt", "data file not found"),
        ("missing", "data source not found: missing"),
        ("small.txt", "20 tokens is too little for seq_len 16"),
        ("empty.txt", "the file is empty"),
    ]
    for source, expected in cases:
        with pytest.raises(DataError) as e:
            load_data(source, seq_len=16, batch_size=2, val_fraction=0.1, seed=0, base_dir=tmp_path)
        assert expected in str(e.value) and "\n" not in str(e.value)
    D.prepare(small, tmp_path / "tok")
    with open(tmp_path / "tok.bin", "ab") as fh:
        fh.write(b"\0")  # size no longer matches the meta
    with pytest.raises(DataError, match="truncated or from another prepare run"):
        load_data("tok", seq_len=2, batch_size=1, val_fraction=0.5, seed=0, base_dir=tmp_path)
    (tmp_path / "tok.json").write_text("{not json")
    with pytest.raises(DataError, match="tok.json: not valid JSON"):
        load_data("tok.bin", seq_len=2, batch_size=1, val_fraction=0.5, seed=0, base_dir=tmp_path)
    with pytest.raises(DataError, match="expected a .txt or .jsonl file"):
        D.prepare(tmp_path / "tok.json", tmp_path / "x")


def test_cli_module_runs_and_reports_errors_in_one_line(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text("hello there, general kenobi\n" * 5)
    run = lambda *a: subprocess.run([sys.executable, "-m", "core.data", *a], cwd=REPO, capture_output=True, text=True)
    ok = run("prepare", str(src), str(tmp_path / "a"))
    assert ok.returncode == 0 and "140 uint16 tokens" in ok.stdout
    bad = run("prepare", str(tmp_path / "nope.jsonl"), str(tmp_path / "b"))
    assert bad.returncode == 2
    assert bad.stderr.strip() == f"error: data file not found: {tmp_path / 'nope.jsonl'}"
