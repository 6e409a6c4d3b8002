"""SFT rows -> conversations: read .jsonl/.json files and normalise every row to a list of messages.

A message is {"role": "system" | "user" | "assistant", "content": str}; a conversation is an optional
system message, then user/assistant turns alternating, ending with an assistant turn. Row formats
(detected per row, or named with --map-keys the way MindSpeed-LLM does):
- prompt/response (+ optional query, system, history=[[q, a], ...]);
- alpaca: instruction/input/output (+ optional system, history);
- sharegpt: conversations=[{"from": "human"|"gpt"|"system", "value": ...}];
- messages=[{"role": ..., "content": ...}] (OpenAI style).

`--map-keys` is MindSpeed's JSON: canonical name -> column, e.g. '{"prompt": "question", "response":
"answer"}' or '{"messages": "conversations", "tags": {"role_tag": "from", "content_tag": "value",
"user_tag": "human", "assistant_tag": "gpt", "system_tag": "system"}}'.

    rows = list(iter_rows(["data/a.jsonl", "data/b.json"], max_samples=1000))
    for chunk in chunks(paths, size=256): ...  # a Span (read by the encoding worker) or a list of rows
    messages = to_messages(rows[0].row, rows[0].where, parse_map_keys(None))
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from core.errors import DataError

SUFFIXES = (".jsonl", ".json")
CANONICAL = ("prompt", "query", "response", "system", "history", "messages", "tags")
TAG_KEYS = ("role_tag", "content_tag", "user_tag", "assistant_tag", "system_tag")
SHAREGPT_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                 "system_tag": "system"}
ROLE_ALIASES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "model": "assistant",
                "bot": "assistant", "system": "system"}


@dataclass(frozen=True)
class Raw:
    """One row still as text (a .jsonl line) or parsed (a .json list item), with where it came from."""

    where: str  # "FILE:LINE" (.jsonl) or "FILE:row N" (.json)
    line: bytes | None = None
    row: Any = None

    def parsed(self) -> Any:
        if self.line is None:
            return self.row
        try:
            return json.loads(self.line)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DataError(f"{self.where}: invalid JSON ({getattr(e, 'msg', e)})") from None


def split_sources(spec: str | list[str], base_dir: str | Path = ".") -> list[Path]:
    """'a.jsonl,b.json' (or a list) -> existing paths, relative ones resolved against base_dir first."""
    names = spec if isinstance(spec, (list, tuple)) else [s for s in str(spec).split(",")]
    out = []
    for name in names:
        name = name.strip()
        if not name:
            raise DataError(f"empty name in the dataset list '{spec}'")
        path = Path(name).expanduser()
        if not path.is_absolute() and (Path(base_dir) / path).exists():
            path = Path(base_dir) / path
        if path.suffix not in SUFFIXES:
            raise DataError(f"{path}: SFT data must be a .jsonl or .json file")
        if not path.is_file():
            raise DataError(f"data file not found: {path}")
        out.append(path)
    return out


@dataclass(frozen=True)
class Span:
    """Consecutive lines of a .jsonl file as a byte range: a chunk that its encoder reads itself, so the
    rows are not sent to a worker process."""

    path: str
    start: int  # byte offset of the first line
    end: int  # byte offset after the last line
    first_line: int  # 1-based number of the first line

    def raws(self) -> list[Raw]:
        with open(self.path, "rb") as fh:
            fh.seek(self.start)
            data = fh.read(self.end - self.start)
        return [Raw(f"{self.path}:{self.first_line + i}", line=line)
                for i, line in enumerate(data.split(b"\n")) if line.strip()]


def chunks(paths: list[Path], max_samples: int = 0, size: int = 256) -> Iterator[Span | list[Raw]]:
    """The rows of each file in order, `size` at a time: a Span per chunk of a .jsonl file, a list of parsed
    rows per chunk of a .json one. max_samples > 0 keeps the first that many rows of each file
    (LLaMA-Factory); blank .jsonl lines are not rows."""
    for path in paths:
        if path.suffix == ".jsonl":
            yield from _jsonl_spans(path, max_samples, size)
        else:
            rows = _json_rows(path)
            rows = rows[:max_samples] if max_samples else rows
            for i in range(0, len(rows), size):
                yield [Raw(f"{path}:row {j}", row=row) for j, row in enumerate(rows[i:i + size], i)]


def _jsonl_spans(path: Path, max_samples: int, size: int) -> Iterator[Span]:
    start = end = taken = in_chunk = 0
    first = 1
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                if max_samples and taken >= max_samples:
                    break
                taken += 1
                in_chunk += 1
            end += len(line)
            if in_chunk == size:
                yield Span(str(path), start, end, first)
                start, first, in_chunk = end, lineno + 1, 0
    if in_chunk:
        yield Span(str(path), start, end, first)
    if end == 0:
        raise DataError(f"{path}: the file is empty")


def _json_rows(path: Path) -> list:
    try:
        rows = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: invalid JSON ({getattr(e, 'msg', e)})") from None
    if not isinstance(rows, list):
        raise DataError(f"{path}: a .json data file must hold a list of rows, got {type(rows).__name__}")
    return rows


def iter_rows(paths: list[Path], max_samples: int = 0) -> Iterator[Raw]:
    """Every row of chunks(paths, max_samples), one at a time."""
    for chunk in chunks(paths, max_samples):
        yield from chunk.raws() if isinstance(chunk, Span) else chunk


def parse_map_keys(text: str | dict | None) -> dict | None:
    """MindSpeed's --map-keys JSON, checked; None keeps per-row format detection."""
    if text is None or text == "" or text == {}:
        return None
    if isinstance(text, str):
        try:
            keys = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"--map-keys is not valid JSON ({e.msg}): {text}") from None
    else:
        keys = dict(text)
    if not isinstance(keys, dict):
        raise DataError(f"--map-keys must be a JSON object, got {text}")
    unknown = sorted(set(keys) - set(CANONICAL))
    if unknown:
        raise DataError(f"--map-keys: unknown key(s) {', '.join(unknown)} (known: {', '.join(CANONICAL)})")
    tags = keys.get("tags", {})
    if not isinstance(tags, dict) or set(tags) - set(TAG_KEYS):
        raise DataError(f"--map-keys: 'tags' must be an object with keys from {', '.join(TAG_KEYS)}")
    if "messages" not in keys and "response" not in keys:
        raise DataError("--map-keys must name 'messages' or 'response' (and 'prompt')")
    return keys


def _text(value: Any, where: str, key: str) -> str:
    if not isinstance(value, str):
        raise DataError(f"{where}: '{key}' must be a string, got {type(value).__name__}")
    return value


def _get(row: dict, key: str, where: str, canonical: str | None = None) -> Any:
    if key not in row:
        keys = ", ".join(map(str, row)) or "none"
        via = f" (mapped from '{canonical}' by --map-keys)" if canonical and canonical != key else ""
        raise DataError(f"{where}: row has no '{key}' key{via} (keys: {keys})")
    return row[key]


def _history(value: Any, where: str, key: str) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(h, (list, tuple)) and len(h) == 2 for h in value):
        raise DataError(f"{where}: '{key}' must be a list of [prompt, response] pairs")
    out = []
    for q, a in value:
        out += [{"role": "user", "content": _text(q, where, key)},
                {"role": "assistant", "content": _text(a, where, key)}]
    return out


def _pairs(row: dict, where: str, cols: dict, opt: bool) -> list[dict]:
    """prompt/response or alpaca rows; cols maps canonical names to the row's columns."""
    prompt = _text(_get(row, cols["prompt"], where, "prompt"), where, cols["prompt"])
    query = row.get(cols["query"]) if opt or cols["query"] in row else _get(row, cols["query"], where, "query")
    if query:
        prompt = f"{prompt}\n{_text(query, where, cols['query'])}"
    response = _text(_get(row, cols["response"], where, "response"), where, cols["response"])
    messages = []
    system = row.get(cols["system"])
    if system:
        messages.append({"role": "system", "content": _text(system, where, cols["system"])})
    messages += _history(row.get(cols["history"]), where, cols["history"])
    return messages + [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]


def _turns(value: Any, where: str, key: str, tags: dict) -> list[dict]:
    if not isinstance(value, list) or not value:
        raise DataError(f"{where}: '{key}' must be a non-empty list of messages")
    role_tag, content_tag = tags["role_tag"], tags["content_tag"]
    names = {tags.get("user_tag"): "user", tags.get("assistant_tag"): "assistant", tags.get("system_tag"): "system"}
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict) or role_tag not in m or content_tag not in m:
            raise DataError(f"{where}: {key}[{i}] must be an object with '{role_tag}' and '{content_tag}'")
        role = names.get(m[role_tag]) or ROLE_ALIASES.get(m[role_tag])
        if role is None:
            raise DataError(f"{where}: {key}[{i}] has unknown role '{m[role_tag]}' (expected user/assistant/system "
                            f"or human/gpt)")
        out.append({"role": role, "content": _text(m[content_tag], where, f"{key}[{i}].{content_tag}")})
    return out


def check_conversation(messages: list[dict], where: str) -> list[dict]:
    """Optional system first, then user/assistant alternating, ending with the assistant."""
    body = messages[1:] if messages and messages[0]["role"] == "system" else messages
    for i, m in enumerate(body):
        want = "user" if i % 2 == 0 else "assistant"
        if m["role"] != want:
            raise DataError(f"{where}: message {i + len(messages) - len(body)} is '{m['role']}', expected '{want}' "
                            f"(turns must alternate user/assistant after an optional system message)")
    if not body or body[-1]["role"] != "assistant":
        raise DataError(f"{where}: the conversation must end with an assistant message")
    return messages


def to_messages(row: Any, where: str, map_keys: dict | None = None) -> list[dict]:
    """One row in any supported format -> a checked conversation (see the module docstring)."""
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
    if map_keys is not None:
        if "messages" in map_keys:
            key = map_keys["messages"]
            tags = {**({"role_tag": "role", "content_tag": "content"} if key == "messages" else SHAREGPT_TAGS),
                    **map_keys.get("tags", {})}
            messages = _turns(_get(row, key, where, "messages"), where, key, tags)
            system_col = map_keys.get("system")
            if system_col and row.get(system_col) and messages[0]["role"] != "system":
                messages.insert(0, {"role": "system", "content": _text(row[system_col], where, system_col)})
        else:
            cols = {k: map_keys.get(k, k) for k in ("prompt", "query", "response", "system", "history")}
            messages = _pairs(row, where, cols, opt="query" not in map_keys)
    elif "messages" in row:
        messages = _turns(row["messages"], where, "messages", {"role_tag": "role", "content_tag": "content"})
    elif "conversations" in row:
        messages = _turns(row["conversations"], where, "conversations", SHAREGPT_TAGS)
        if row.get("system") and messages[0]["role"] != "system":
            messages.insert(0, {"role": "system", "content": _text(row["system"], where, "system")})
    elif "instruction" in row or "output" in row:
        cols = {"prompt": "instruction", "query": "input", "response": "output", "system": "system",
                "history": "history"}
        messages = _pairs(row, where, cols, opt=True)
    elif "prompt" in row or "response" in row:
        cols = {k: k for k in ("prompt", "query", "response", "system", "history")}
        messages = _pairs(row, where, cols, opt=True)
    else:
        keys = ", ".join(map(str, row)) or "none"
        raise DataError(f"{where}: row has none of 'messages', 'conversations', 'instruction'/'output', "
                        f"'prompt'/'response' (keys: {keys}); name its columns with --map-keys")
    return check_conversation(messages, where)
