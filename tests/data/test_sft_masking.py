"""Response-only labels: -100 exactly on prompt tokens, every assistant turn vs mask_history,
train_on_prompt, and cutoff_len truncation that keeps the response."""

from __future__ import annotations

import numpy as np
import pytest
from sft_common import CONVERSATIONS, TINY_MODEL

from core.data.sft.encode import Settings, WorkerState
from core.data.sft.formats import Raw
from core.data.sft.packing import IGNORE_INDEX, padded_row


def enc(messages, **kw):
    pytest.importorskip("transformers")
    kw.setdefault("cutoff_len", 4096)
    state = WorkerState(Settings(tokenizer=str(TINY_MODEL), template="qwen", **kw))
    ids, mask, lengths, stats, _ = state.encode([Raw("t:1", row={"messages": messages})])
    return state.tok, ids, mask, stats


def answer_ranges(tok, ids):
    """Token ranges [start, end) of every answer: after '<|im_start|>assistant\\n', through '<|im_end|>\\n'."""
    start_ids = tok.encode("<|im_start|>assistant\n", add_special_tokens=False)
    end_id = tok.convert_tokens_to_ids("<|im_end|>")
    ids, out = ids.tolist(), []
    for i in range(len(ids) - len(start_ids) + 1):
        if ids[i:i + len(start_ids)] == start_ids:
            s = i + len(start_ids)
            e = ids.index(end_id, s) + 2  # <|im_end|> and the newline after it
            out.append((s, e))
    return out


def test_labels_are_minus_100_exactly_on_prompt_tokens():
    tok, ids, mask, _ = enc(CONVERSATIONS[2])
    ranges = answer_ranges(tok, ids)
    assert len(ranges) == 3
    want = np.zeros(len(ids), dtype=np.uint8)
    for s, e in ranges:
        want[s:e] = 1
    np.testing.assert_array_equal(mask, want)
    row = padded_row(ids, mask, 256, pad_id=tok.pad_token_id)
    for t in range(256):  # position t predicts token t + 1
        if t + 1 < len(ids):
            assert row["input_ids"][t] == ids[t]
            assert row["labels"][t] == (ids[t + 1] if want[t + 1] else IGNORE_INDEX), t
            assert row["attention_mask"][t] == 1
        else:
            assert (row["input_ids"][t], row["labels"][t], row["attention_mask"][t]) == (tok.pad_token_id, -100, 0)


def test_mask_history_trains_only_the_last_answer():
    tok, ids, mask, _ = enc(CONVERSATIONS[2], mask_history=True)
    (s, e) = answer_ranges(tok, ids)[-1]
    want = np.zeros(len(ids), dtype=np.uint8)
    want[s:e] = 1
    np.testing.assert_array_equal(mask, want)


def test_train_on_prompt_trains_every_token():
    _, ids, mask, _ = enc(CONVERSATIONS[2], train_on_prompt=True)
    assert mask.all() and len(mask) == len(ids)


def test_cutoff_len_keeps_the_response():
    long_q = " ".join(["word"] * 400)
    messages = [{"role": "user", "content": long_q}, {"role": "assistant", "content": "It is a truth."}]
    tok, full, full_mask, _ = enc(messages)
    tok, ids, mask, stats = enc(messages, cutoff_len=64)
    assert len(full) > 64 and len(ids) == 64 and stats["truncated"] == 1
    assert tok.decode(ids[mask == 1].tolist()) == "It is a truth.<|im_end|>\n"
    assert ids[-int(mask.sum()):].tolist() == full[full_mask == 1].tolist()  # the whole answer, at the end
    assert tok.decode(ids[:-int(mask.sum())].tolist()).endswith("word word<|im_end|>\n<|im_start|>assistant\n")


def test_cutoff_len_drops_the_oldest_turns_first():
    messages = [{"role": "system", "content": "Sys."}]
    for i in range(6):
        messages += [{"role": "user", "content": f"question {i} " + "x " * 20},
                     {"role": "assistant", "content": f"answer {i}"}]
    tok, ids, mask, _ = enc(messages, cutoff_len=90)
    text = tok.decode(ids.tolist())
    assert len(ids) <= 90 and text.startswith("<|im_start|>system\nSys.<|im_end|>")
    assert "answer 5" in text and "question 0" not in text
    assert tok.decode(ids[mask == 1].tolist()).endswith("answer 5<|im_end|>\n")


def test_an_answer_longer_than_cutoff_len_keeps_its_start_and_some_prompt():
    messages = [{"role": "user", "content": "Go"}, {"role": "assistant", "content": "la " * 200}]
    tok, ids, mask, _ = enc(messages, cutoff_len=40)
    assert len(ids) == 40 and mask[:10].sum() == 0 and mask[10:].all()  # 40 // 4 prompt tokens kept
    assert tok.decode(ids[10:].tolist()).startswith("la la")


def test_rows_without_an_answer_token_are_left_out_and_counted():
    pytest.importorskip("transformers")
    state = WorkerState(Settings(tokenizer=str(TINY_MODEL), template="empty"))
    ids, mask, lengths, stats, _ = state.encode([Raw("t:1", row={"prompt": "q", "response": ""}),
                                              Raw("t:2", row={"prompt": "q", "response": "ok"})])
    assert stats == {"rows": 2, "truncated": 0, "no_label": 1, "too_long": 0} and len(lengths) == 1
