"""Row formats (prompt/response, alpaca, sharegpt, messages, --map-keys), dataset lists, max_samples and
one-line errors naming file:line and the key."""

from __future__ import annotations

import json

import pytest

from core.data.sft.formats import Span, chunks, iter_rows, parse_map_keys, split_sources, to_messages
from core.errors import DataError

SYSTEM, Q1, A1, Q2, A2 = "Be brief.", "What is 1 + 1?", "2.", "Repeat: hi\nthere", "hi\nthere"
WANT = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": Q1}, {"role": "assistant", "content": A1},
        {"role": "user", "content": Q2}, {"role": "assistant", "content": A2}]

ROWS = {
    "prompt/response": {"system": SYSTEM, "history": [[Q1, A1]], "prompt": "Repeat: hi", "query": "there",
                        "response": A2},
    "alpaca": {"system": SYSTEM, "history": [[Q1, A1]], "instruction": "Repeat: hi", "input": "there", "output": A2},
    "sharegpt": {"system": SYSTEM, "conversations": [{"from": "human", "value": Q1}, {"from": "gpt", "value": A1},
                                                     {"from": "human", "value": Q2}, {"from": "gpt", "value": A2}]},
    "sharegpt with system turn": {"conversations": [{"from": "system", "value": SYSTEM}, {"from": "human", "value": Q1},
                                                    {"from": "gpt", "value": A1}, {"from": "human", "value": Q2},
                                                    {"from": "gpt", "value": A2}]},
    "messages": {"messages": WANT},
}


@pytest.mark.parametrize("kind", list(ROWS))
def test_every_format_gives_the_same_conversation(kind):
    assert to_messages(ROWS[kind], "x.jsonl:1") == WANT


def test_map_keys_like_mindspeed():
    keys = parse_map_keys('{"prompt": "q", "query": "ctx", "response": "a", "system": "sys", "history": "h"}')
    row = {"sys": SYSTEM, "h": [[Q1, A1]], "q": "Repeat: hi", "ctx": "there", "a": A2}
    assert to_messages(row, "x.jsonl:1", keys) == WANT
    share = parse_map_keys('{"messages": "dialog", "tags": {"role_tag": "speaker", "content_tag": "text", '
                           '"user_tag": "Q", "assistant_tag": "A"}}')
    row = {"dialog": [{"speaker": "Q", "text": Q1}, {"speaker": "A", "text": A1}]}
    assert to_messages(row, "x.jsonl:1", share) == WANT[1:3]


def test_missing_key_names_file_line_and_key(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"prompt": "p", "response": "r"}\n\n{"prompt": "p", "answer": "r"}\n', encoding="utf-8")
    raws = list(iter_rows([path]))
    assert [r.where for r in raws] == [f"{path}:1", f"{path}:3"]
    with pytest.raises(DataError) as e:
        to_messages(raws[1].parsed(), raws[1].where)
    assert str(e.value) == f"{path}:3: row has no 'response' key (keys: prompt, answer)"
    keys = parse_map_keys('{"prompt": "question", "response": "answer"}')
    with pytest.raises(DataError) as e:
        to_messages({"prompt": "p", "answer": "a"}, f"{path}:7", keys)
    assert str(e.value) == (f"{path}:7: row has no 'question' key (mapped from 'prompt' by --map-keys) "
                            f"(keys: prompt, answer)")


@pytest.mark.parametrize("row, match", [
    ({"text": "x"}, "row has none of 'messages', 'conversations'"),
    ({"messages": [{"role": "user", "content": "q"}]}, "must end with an assistant message"),
    ({"messages": [{"role": "assistant", "content": "a"}]}, "message 0 is 'assistant', expected 'user'"),
    ({"conversations": [{"from": "robot", "value": "q"}]}, "unknown role 'robot'"),
    ({"prompt": 3, "response": "r"}, "'prompt' must be a string"),
    ({"prompt": "p", "response": "r", "history": ["x"]}, "'history' must be a list of"),
    (["not", "an", "object"], "expected a JSON object, got list"),
])
def test_bad_rows_are_one_line_errors(row, match):
    with pytest.raises(DataError, match=match) as e:
        to_messages(row, "f.jsonl:4")
    assert str(e.value).startswith("f.jsonl:4: ") and "\n" not in str(e.value)


def test_invalid_json_line_and_bad_map_keys(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"prompt": "p", "response": "r"}\n{"prompt": \n', encoding="utf-8")
    raws = list(iter_rows([path]))
    with pytest.raises(DataError, match=rf"^{path}:2: invalid JSON"):
        raws[1].parsed()
    with pytest.raises(DataError, match="unknown key.*answer.*known: prompt"):
        parse_map_keys('{"answer": "a"}')
    with pytest.raises(DataError, match="not valid JSON"):
        parse_map_keys("{prompt: a}")


def test_json_lists_comma_separated_sources_and_max_samples(tmp_path):
    a = tmp_path / "a.jsonl"
    a.write_text("".join(json.dumps({"prompt": f"p{i}", "response": f"r{i}"}) + "\n" for i in range(5)))
    b = tmp_path / "b.json"
    b.write_text(json.dumps([{"instruction": f"i{i}", "output": f"o{i}"} for i in range(4)]))
    paths = split_sources("a.jsonl, b.json", base_dir=tmp_path)
    assert paths == [a, b]
    rows = list(iter_rows(paths, max_samples=3))
    assert [r.where for r in rows] == [f"{a}:1", f"{a}:2", f"{a}:3", f"{b}:row 0", f"{b}:row 1", f"{b}:row 2"]
    assert to_messages(rows[4].parsed(), rows[4].where)[0]["content"] == "i1"
    with pytest.raises(DataError, match="data file not found"):
        split_sources("a.jsonl,missing.jsonl", base_dir=tmp_path)
    with pytest.raises(DataError, match="must be a .jsonl or .json file"):
        split_sources(str(tmp_path / "a.txt"))


@pytest.mark.parametrize("size", [1, 2, 3, 7])
@pytest.mark.parametrize("max_samples", [0, 2, 5])
def test_chunks_hold_the_rows_a_line_by_line_read_gives(tmp_path, size, max_samples):
    """Spans (byte ranges that a worker reads itself) give the same rows, in order, with the same FILE:LINE,
    across blank lines, CRLF endings and a last line without a newline."""
    path = tmp_path / "d.jsonl"
    lines = [b'{"prompt": "a", "response": "1"}\n', b"\n", b'{"prompt": "b", "response": "2"}\r\n', b"   \n",
             b'{"prompt": "c\\u00e9", "response": "3"}\n', b'{"prompt": "d", "response": "4"}\n', b"\n\n",
             b'{"prompt": "e", "response": "5"}']
    path.write_bytes(b"".join(lines))
    with open(path, "rb") as fh:
        want = [(f"{path}:{n}", json.loads(line)) for n, line in enumerate(fh, 1) if line.strip()]
    want = want[:max_samples] if max_samples else want
    pieces = list(chunks([path], max_samples, size))
    assert all(isinstance(p, Span) for p in pieces) and len(pieces) == -(-len(want) // size)
    got = [(r.where, r.parsed()) for p in pieces for r in p.raws()]
    assert got == want
    assert [(r.where, r.parsed()) for r in iter_rows([path], max_samples)] == want
